import Crypto
import Foundation
public import HanaroCore
import NIOHTTP1

/// An agency API paged by position — the shape of five of the six (all but kamco's daily files).
/// A conforming adapter says how to fetch one page of a list and how to read its items; the reads
/// of programs (incremental where the format has a per-item stamp, snapshots where it has none)
/// and of referral events are shared here.
protocol PagedAgencyAPI: AgencyAdapter {
    associatedtype Item
    var settings: AdapterSettings { get }
    /// The format's default paths of the program list and of a referral-event feed.
    static var defaultProgramsPath: String { get }
    static var defaultReferralEventsPath: String { get }
    /// Whether the program list carries a per-item update stamp (read incrementally) or not (read
    /// as snapshots).
    static var programsHaveStamps: Bool { get }

    var http: AgencyHTTP { get }
    /// The request of one page of a list: `limit` items from `offset`, filtered to
    /// `since <= stamp < until` where the API can filter (an API may ignore the filter; the
    /// reader copes).
    func pageRequest(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> PageRequest
    /// The items of a page's body and the total the agency reported (nil: none, as `NODATA`).
    /// - Throws: ``AdapterError`` for an envelope-level failure.
    func parsePage(_ body: [UInt8]) throws(AdapterError) -> (items: [Item], total: Int?)

    func programID(_ item: Item) -> String?
    func programStamp(_ item: Item) -> ListRead.Stamp
    func program(_ item: Item) throws(ValidationError) -> ProgramRecord
    /// A referral-event item's fields as text.
    func eventFields(_ item: Item) -> [String: String]
    /// The item as native bytes in a canonical form, for quarantine.
    func raw(_ item: Item) -> [UInt8]
    /// Why the item cannot be mapped as the agency sent it (its text was not readable), or nil.
    func unreadable(_ item: Item) -> String?
    /// A quarantined item's raw bytes read back.
    func item(fromQuarantined raw: [UInt8]) throws(ValidationError) -> Item
}

/// The HTTP request of one page.
struct PageRequest {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]? = nil
}

/// One page of a list answer: items, the total the agency reported (nil: none, as `NODATA`), and
/// the agency's clock (its `Date`).
struct ListPage<Item> {
    var items: [Item]
    var total: Int?
    var date: AgencyTimestamp?
}

extension PagedAgencyAPI {
    var programsPath: String { settings.programsPath ?? Self.defaultProgramsPath }

    /// One page of a list, fetched and parsed.
    func page(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage<Item> {
        let answer = try await fetchPage(pageRequest(path, since: since, until: until, offset: offset, limit: limit))
        let (items, total) = try parsePage(answer.body)
        return ListPage(items: items, total: total, date: answer.date)
    }

    func fetchPage(_ request: PageRequest) async throws(AdapterError) -> AgencyHTTP.Answer {
        try await http.send(request.method, request.url, headers: request.headers, body: request.body)
    }

    public func remapProgram(_ raw: [UInt8]) throws(ValidationError) -> ProgramRecord {
        try checkedProgram(try item(fromQuarantined: raw))
    }

    /// The item's record, refused when its text was not readable as sent.
    func checkedProgram(_ item: Item) throws(ValidationError) -> ProgramRecord {
        if let reason = unreadable(item) { throw ValidationError(.malformed, reason) }
        return try program(item)
    }

    /// The item's id, unless it is itself unreadable text (then the item has none to be filed under).
    func readableID(_ id: String?, of item: Item) -> String? {
        guard let id, unreadable(item) != nil else { return id }
        return id.contains("\u{FFFD}") ? nil : id
    }

    public func remapReferralEvent(_ raw: [UInt8]) throws(ValidationError) -> ReferralEvent {
        let item = try item(fromQuarantined: raw)
        if let reason = unreadable(item) { throw ValidationError(.malformed, reason) }
        return try ReferralCodec.event(eventFields(item), agency: agency)
    }

    /// One cheap request; returns the agency's clock.
    /// - Throws: `.schema` without a `Date` header: a signpost must be the agency's own clock
    ///   (ours could be ahead of it, and a record changed mid-read would then be skipped).
    public func check() async throws(AdapterError) -> AgencyTimestamp {
        let page = try await page(programsPath, since: nil, until: nil, offset: 0, limit: 1)
        guard let date = page.date else {
            throw AdapterError(.schema, agency: agency, "the agency's answer carries no Date header, so no signpost can be fixed on its clock; HTTP servers must send one (RFC 9110 §6.6.1)")
        }
        return date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let path = programsPath
        let map: (Item) -> NativeItem<ProgramRecord> = { item in
            NativeItem(id: readableID(programID(item), of: item), stamp: Self.programsHaveStamps ? programStamp(item) : .none,
                       raw: { raw(item) }, map: { () throws(ValidationError) in try checkedProgram(item) })
        }
        guard Self.programsHaveStamps else {
            // A snapshot: no signpost to fix first; the first page's Date says when it was taken.
            var taken: AgencyTimestamp?
            let memo = snapshotMemo
            var summary = try await PagedReader.read(agency: agency, kind: .snapshot, start: cursor, signpost: .distantPast, pageSize: pageSize, memo: memo,
                                                     fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
                let http = pageRequest(path, since: nil, until: nil, offset: request.offset, limit: request.limit)
                let answer = try await fetchPage(http)
                taken = taken ?? answer.date
                // The same request answered with the same bytes as in the last complete snapshot:
                // its items are listed again without being parsed (SnapshotPageMemo).
                let entry = memo.map { _ in (request: http.memoKey, digest: Array(SHA256.hash(data: answer.body))) }
                if let entry, let remembered = memo?.page(for: entry.request, digest: entry.digest) {
                    return NativePage(items: remembered.served.map { NativeItem(id: $0.id, stamp: $0.stamp, raw: { [] }, map: { () throws(ValidationError) in
                        throw ValidationError(.malformed, "a remembered page is not mapped")
                    }) }, total: remembered.total, date: answer.date, memo: entry, remembered: true)
                }
                let (items, total) = try parsePage(answer.body)
                return NativePage(items: items.map(map), total: total, date: answer.date, memo: entry)
            }, deliver: deliver)
            summary.signpost = taken ?? .distantPast
            return summary
        }
        let signpost = try await check()
        let (start, reset) = PagedReader.start(after: cursor, signpost: signpost)
        // The store decides programs by content: an item without a readable stamp is read as in
        // a snapshot (and keeps the cursor at the beginning), one stamped ahead is taken now.
        return try await PagedReader.read(agency: agency, kind: .incremental(after: start, signpost: signpost), start: cursor, signpost: signpost,
                                          pageSize: pageSize, storeDecides: true, cursorReset: reset, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await page(path, since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map(map), total: page.total, date: page.date)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        guard settings.readsReferralEvents else {
            throw AdapterError(.envelope, agency: agency, "no referral-event feed is configured for \(agency.rawValue) (adapter.referral_events)")
        }
        let path = settings.referralEventsPath ?? Self.defaultReferralEventsPath
        let agency = self.agency
        let signpost = try await check()
        let (start, reset) = PagedReader.start(after: cursor, signpost: signpost)
        return try await PagedReader.read(agency: agency, kind: .incremental(after: start, signpost: signpost), start: cursor, signpost: signpost,
                                          pageSize: pageSize, keepingRaw: true, cursorReset: reset, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await page(path, since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map { item in
                let fields = eventFields(item), unreadable = unreadable(item)
                return NativeItem(id: readableID(NativeCleaning.present(fields["evntId"]), of: item), stamp: ReferralCodec.stamp(fields), raw: { raw(item) },
                                  map: { () throws(ValidationError) in
                    if let unreadable { throw ValidationError(.malformed, unreadable) }
                    return try ReferralCodec.event(fields, agency: agency)
                })
            }, total: page.total, date: page.date)
        }, deliver: deliver)
    }
}

/// JSON agencies: items are dictionaries; a quarantined item is kept as its JSON object with its
/// keys sorted (``JSONItems/canonical(_:)``).
extension PagedAgencyAPI where Item == [String: Any] {
    func eventFields(_ item: Item) -> [String: String] { item.compactMapValues { $0 is NSNull ? nil : "\($0)" } }
    func raw(_ item: Item) -> [UInt8] { JSONItems.canonical(item) }
    func unreadable(_ item: Item) -> String? { item[JSONItems.unreadableKey] as? String }

    func item(fromQuarantined raw: [UInt8]) throws(ValidationError) -> [String: Any] {
        guard let item = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
            throw ValidationError(.malformed, "the quarantined payload is not a JSON object")
        }
        return item
    }
}

/// XML agencies: items are flat element maps; a quarantined item is kept as its `<item>` element.
extension PagedAgencyAPI where Item == [String: String] {
    func eventFields(_ item: Item) -> [String: String] { item }
    func raw(_ item: Item) -> [UInt8] { DataGoKrEnvelope.raw(item) }
    /// An XML answer is valid UTF-8 as a whole or refused (``DataGoKrEnvelope/parse(_:agency:expectingItems:)``).
    func unreadable(_ item: Item) -> String? { nil }

    func item(fromQuarantined raw: [UInt8]) throws(ValidationError) -> [String: String] {
        try DataGoKrEnvelope.quarantinedItem(raw, agency: agency)
    }
}

extension PageRequest {
    /// The request as a memo key: method, URL and body (credentials in the URL stay in memory).
    var memoKey: String { "\(method.rawValue) \(url)\n" + String(decoding: body ?? [], as: UTF8.self) }
}
