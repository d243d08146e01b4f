public import HanaroCore

/// One native item before mapping: where it sits in the stream (nil when its id or stamp is
/// unreadable), how to get its raw bytes, and the mapping to run.
///
/// The raw payload is produced only for an item that cannot be mapped (it goes to quarantine):
/// re-serializing every item cost more than mapping it.
struct NativeItem<Record: Sendable> {
    var position: AdapterCursor?
    var raw: () -> [UInt8]
    var map: () throws(ValidationError) -> Record
}

/// One answer of an offset-paged API: its items and the window's total count.
struct NativePage<Record: Sendable> {
    var items: [NativeItem<Record>]
    var total: Int
}

/// The read loop every offset-paged adapter shares: fix the signpost, let ``SignpostedRead``
/// decide what to fetch and take, map what it takes, and hand each page to `deliver`.
enum PagedReader {
    /// Re-reads from the last position at most this often per read before giving up.
    static let maxRestarts = 20

    /// - Parameter keepingRaw: keep every item's raw payload (referral events: a well-formed event
    ///   can still be refused by the store — a status for a referral not here yet — and is then
    ///   quarantined with it, to be retried); otherwise only unmappable items keep theirs.
    static func read<Record: Sendable>(
        agency: AgencyID, after cursor: AdapterCursor, pageSize: Int, signpost: AgencyTimestamp, keepingRaw: Bool = false,
        fetch: (SignpostedRead.Request) async throws(AdapterError) -> NativePage<Record>,
        deliver: (AdapterPage<Record>) async throws(AdapterError) -> Void
    ) async throws(AdapterError) -> AdapterReadSummary {
        var start = cursor
        var reset: String?
        if cursor.updatedAt >= signpost, cursor != .beginning {
            reset = "the stored cursor \(cursor) is not before the agency's clock \(signpost.dashed); reading everything again"
            start = .beginning
        }
        var state = SignpostedRead(cursor: start, signpost: signpost, pageSize: pageSize)
        var items = 0
        while let request = state.nextRequest {
            let page = try await fetch(request)
            // Items whose id or stamp cannot be read have no place in the order: they stay out of
            // the paging logic and go to quarantine with the page they came in.
            let positioned = page.items.filter { $0.position != nil }
            let unplaced = page.items.filter { $0.position == nil }
            let before = state.cursor
            guard let taken = state.receive(positions: positioned.map { $0.position! }, total: page.total) else {
                if state.restarts > maxRestarts {
                    throw AdapterError(.envelope, agency: agency, "the agency's pages kept shifting or repeating (\(state.restarts) re-reads in one read); trying again later")
                }
                continue
            }
            var mapped: [AdapterItem<Record>] = unplaced.map { item in
                AdapterItem(position: before, raw: item.raw(),
                            mapped: .failure(ValidationError(.malformed, field: "id", "the item has no readable id or updated-at stamp")))
            }
            mapped += taken.map { index in
                let item = positioned[index]
                let result: Result<Record, ValidationError>
                do throws(ValidationError) { result = .success(try item.map()) } catch { result = .failure(error) }
                let raw: [UInt8] = if keepingRaw { item.raw() } else if case .failure = result { item.raw() } else { [] }
                return AdapterItem(position: item.position!, raw: raw, mapped: result)
            }
            items += mapped.count
            if !mapped.isEmpty {
                try await deliver(AdapterPage(items: mapped, cursor: state.cursor))
            }
        }
        return AdapterReadSummary(cursor: state.cursor, signpost: signpost, items: items, pages: state.pages, restarts: state.restarts, cursorReset: reset)
    }
}
