public import HanaroCore

/// One native item before mapping: its id and stamp as the format reads them, how to get its raw
/// bytes, and the mapping to run.
///
/// The raw payload is produced only for an item that goes to quarantine (or a referral event,
/// which the store may still refuse): re-serializing every item cost more than mapping it.
struct NativeItem<Record: Sendable> {
    var id: String?
    var stamp: ListRead.Stamp
    var raw: () -> [UInt8]
    var map: () throws(ValidationError) -> Record
}

/// One answer of an offset-paged API: its items, the total the agency reported (nil when the
/// answer has none, as `NODATA`), and the agency's clock (its `Date`).
struct NativePage<Record: Sendable> {
    var items: [NativeItem<Record>]
    var total: Int?
    var date: AgencyTimestamp?
    /// The request and body hash of a snapshot page (see ``SnapshotPageMemo``), and whether it
    /// is the remembered page itself: its items are then only listed.
    var memo: (request: String, digest: [UInt8])? = nil
    var remembered = false
}

/// The read loop every offset-paged adapter shares: let ``ListRead`` decide what to fetch and what
/// to take, map what it takes, quarantine what it refuses (under the item's own id, or "no id" and
/// where it was served), and hand each page to `deliver`; the last page of a complete read carries
/// the new cursor.
enum PagedReader {
    /// - Parameters:
    ///   - kind: incremental (from a stored cursor, up to a signpost) or a whole snapshot.
    ///   - keepingRaw: keep every taken item's raw payload (referral events: a well-formed event
    ///     can still be refused by the store — a status for a referral not here yet — and is then
    ///     quarantined with it, to be retried); otherwise only refused items keep theirs.
    ///   - storeDecides: the store recognises what it holds by content (program lists): items
    ///     without a readable stamp, or stamped after the signpost, are taken (``ListRead``).
    static func read<Record: Sendable>(
        agency: AgencyID, kind: ListRead.Kind, start: AdapterCursor, signpost: AgencyTimestamp, pageSize: Int, keepingRaw: Bool = false,
        storeDecides: Bool = false,
        cursorReset: String? = nil,
        memo: SnapshotPageMemo? = nil,
        fetch: (ListRead.Request) async throws(AdapterError) -> NativePage<Record>,
        deliver: (AdapterPage<Record>) async throws(AdapterError) -> Void
    ) async throws(AdapterError) -> AdapterReadSummary {
        var state = ListRead(kind, pageSize: pageSize, storeDecides: storeDecides)
        var items = 0
        var ahead: Set<String> = []
        var aheadExample: String?
        var unchangedPages = 0, unchangedItems = 0
        var taken: AgencyTimestamp?
        while let request = state.nextRequest {
            let page = try await fetch(request)
            taken = taken ?? page.date
            // An item without an id is known by its payload, so that a later pass over a moving list
            // does not quarantine it again (it goes to quarantine anyway: its bytes are needed).
            let served = page.items.map { ListRead.Served(id: $0.id, stamp: $0.stamp, content: $0.id == nil ? $0.raw() : nil) }
            let decisions = state.receive(served, total: page.total)
            let allTaken = decisions.allSatisfy { if case .take = $0 { true } else { false } }
            // A complete snapshot stores when it was taken (nothing reads it back as a position).
            let cursor = state.isFinished ? (state.finalCursor ?? (kind == .snapshot && state.isComplete ? AdapterCursor(updatedAt: taken ?? signpost, id: "") : nil)) : nil
            if page.remembered, let (key, digest) = page.memo {
                // The same body as when every item of it was stored: listed, nothing to map.
                if allTaken { memo?.note(SnapshotPageMemo.Page(digest: digest, served: served, total: page.total), for: key) }
                let listed = decisions.filter { if case .take = $0 { true } else { false } }.count
                unchangedPages += 1
                unchangedItems += listed
                items += listed
                if let cursor { try await deliver(AdapterPage(items: [], cursor: cursor)) }
                continue
            }
            var out: [AdapterItem<Record>] = []
            // Later than this is stamped in the agency's future (as its clock read when it answered).
            let horizon = page.date.map { AgencyTimestamp(secondsSince1970: $0.secondsSince1970 + Self.aheadTolerance) }
            for (index, (item, decision)) in zip(page.items, decisions).enumerated() {
                let location = "page \(state.pages), item \(index + 1)"
                switch decision {
                case .skip:
                    continue
                case .quarantine(let reason):
                    out.append(AdapterItem(nativeID: item.id, location: location, raw: item.raw(),
                                           mapped: .failure(ValidationError(.malformed, field: item.id == nil ? "id" : "updated_at", reason))))
                case .take:
                    if let horizon, case .at(let stamp) = item.stamp, stamp > horizon, let id = item.id, ahead.insert(id).inserted, let now = page.date {
                        aheadExample = aheadExample ?? "\(id) stamped \(stamp.dashed), the agency's clock \(now.dashed)"
                    }
                    let result = Result<Record, ValidationError>(mapping: item.map)
                    let raw: [UInt8] = if keepingRaw { item.raw() } else if case .failure = result { item.raw() } else { [] }
                    out.append(AdapterItem(nativeID: item.id, location: location, raw: raw, mapped: result))
                }
            }
            // Noted when every item was taken from this body and mapped (one skipped — read
            // before in this read, or moved — was not stored from it; the caller forgets the page
            // if the store refuses an item; the memo takes effect only when the read completes).
            var noted: String?
            if let (key, digest) = page.memo, let memo, allTaken, out.allSatisfy({ if case .success = $0.mapped { true } else { false } }) {
                memo.note(SnapshotPageMemo.Page(digest: digest, served: served, total: page.total), for: key)
                noted = key
            }
            if !out.isEmpty || cursor != nil {
                try await deliver(AdapterPage(items: out, cursor: cursor, memoRequest: noted))
            }
            items += out.count
        }
        let snapshot = kind == .snapshot
        var summary = AdapterReadSummary(
            cursor: state.finalCursor ?? start, signpost: signpost, isSnapshot: snapshot, isComplete: state.isComplete,
            served: state.served, items: items, quarantined: state.quarantined, pages: state.pages, restarts: state.restarts,
            listed: snapshot && state.isComplete ? state.listed : [], cursorReset: cursorReset)
        summary.unchangedPages = unchangedPages
        summary.unchangedItems = unchangedItems
        summary.alreadyRead = state.alreadyRead
        summary.alreadyReadIDs = state.alreadyReadIDs
        summary.incompleteReason = state.incompleteReason
        summary.unstamped = state.unstamped.count
        summary.unstampedExample = state.unstamped.min()
        summary.aheadOfClock = ahead.count
        summary.aheadOfClockExample = aheadExample
        return summary
    }

    /// How far an item's stamp may run ahead of the agency's clock (its `Date`) before it is
    /// counted as stamped in the future: the agency's database and its web server may keep
    /// slightly different time.
    static let aheadTolerance: Int64 = 300

    /// Where an incremental read starts: the stored cursor, or the beginning when the cursor lies
    /// after the agency's clock (its data or clock went back), said in the summary.
    static func start(after cursor: AdapterCursor, signpost: AgencyTimestamp) -> (AdapterCursor, String?) {
        guard cursor.updatedAt > signpost, cursor != .beginning else { return (cursor, nil) }
        return (.beginning, "the stored cursor \(cursor) is after the agency's clock \(signpost.dashed); reading everything again")
    }
}
