import Foundation
public import HanaroCore

/// An agency API paged by position over an updated-at window — the shape of five of the six
/// (all but kamco's daily files). A conforming adapter says how to fetch one page of a stream and
/// how to read its items; `check`, and the signposted, tie-safe reads of programs and referral
/// events, are shared here.
protocol PagedAgencyAPI: AgencyAdapter {
    associatedtype Item
    /// The paths of the program list and of the referral-event feed.
    var programStream: String { get }
    var referralStream: String { get }

    /// One page of a stream: items with `since <= updated-at < until`, sorted by (updated-at, id),
    /// `limit` of them from `offset`, with the window's total and the agency's clock.
    /// - Throws: ``AdapterError`` for an envelope-level failure.
    func page(_ stream: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage<Item>

    func programPosition(_ item: Item) -> AdapterCursor?
    func program(_ item: Item) throws(ValidationError) -> ProgramRecord
    /// A referral-event item's fields as text.
    func eventFields(_ item: Item) -> [String: String]
    /// The item as native bytes, for quarantine.
    func raw(_ item: Item) -> [UInt8]
    /// A quarantined item's raw bytes read back.
    func item(fromQuarantined raw: [UInt8]) throws(ValidationError) -> Item
}

/// One page of a list answer.
struct ListPage<Item> {
    var items: [Item]
    var total: Int
    var date: AgencyTimestamp

    /// - Throws: `.schema` without a `Date` header: the signpost must be the agency's own clock
    ///   (ours could be ahead of it, and a record changed mid-read would then be skipped).
    init(items: [Item], total: Int, date: AgencyTimestamp?, agency: AgencyID) throws(AdapterError) {
        guard let date else {
            throw AdapterError(.schema, agency: agency, "the agency's answer carries no Date header, so no signpost can be fixed on its clock; HTTP servers must send one (RFC 9110 §6.6.1)")
        }
        self.items = items
        self.total = total
        self.date = date
    }
}

extension PagedAgencyAPI {
    public func remapProgram(_ raw: [UInt8]) throws(ValidationError) -> ProgramRecord {
        try program(try item(fromQuarantined: raw))
    }

    public func remapReferralEvent(_ raw: [UInt8]) throws(ValidationError) -> ReferralEvent {
        try ReferralCodec.event(eventFields(try item(fromQuarantined: raw)), agency: agency)
    }

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await page(programStream, since: nil, until: nil, offset: 0, limit: 1).date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await page(programStream, since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map { item in
                NativeItem(position: programPosition(item), raw: { raw(item) }, map: { () throws(ValidationError) in try program(item) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let agency = self.agency
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, keepingRaw: true, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await page(referralStream, since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map { item in
                let fields = eventFields(item)
                return NativeItem(position: ReferralCodec.position(fields), raw: { raw(item) }, map: { () throws(ValidationError) in try ReferralCodec.event(fields, agency: agency) })
            }, total: page.total)
        }, deliver: deliver)
    }
}

/// JSON agencies: items are dictionaries; a quarantined item is kept as its JSON object.
extension PagedAgencyAPI where Item == [String: Any] {
    func eventFields(_ item: Item) -> [String: String] { item.compactMapValues { $0 is NSNull ? nil : "\($0)" } }
    func raw(_ item: Item) -> [UInt8] { JSONItems.raw(item) }

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

    func item(fromQuarantined raw: [UInt8]) throws(ValidationError) -> [String: String] {
        try DataGoKrEnvelope.quarantinedItem(raw, agency: agency)
    }
}
