import Foundation
public import HanaroCore
import NIOHTTP1

/// 소상공인시장진흥공단's 소상공인24-style JSON API: `POST /api/pbanc/list` paged by
/// `startRow`/`endRow`, incremental by `search.updtDtBgng`/`updtDtEnd`; referral feed
/// `POST /api/rfrl/list`, intake `POST /api/rfrl/receive`. Errors come as HTTP 200 with
/// `"result": false`.
public struct SEMASAdapter: AgencyAdapter {
    public let agency = AgencyID.semas
    let settings: AdapterSettings
    let http: AgencyHTTP

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        let answer = try await list("/api/pbanc/list", since: nil, until: nil, offset: 0, limit: 1)
        return answer.date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await list("/api/pbanc/list", since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map { item in
                NativeItem(position: SEMASMapping.position(item), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try SEMASMapping.program(item) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let agency = self.agency
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await list("/api/rfrl/list", since: request.since, until: request.until, offset: request.offset, limit: request.limit)
            return NativePage(items: page.items.map { item in
                let fields = item.compactMapValues { $0 as? String }
                return NativeItem(position: ReferralCodec.position(fields), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try ReferralCodec.event(fields, agency: agency) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + "/api/rfrl/receive", headers: headers, body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard object["result"] as? Bool == true else { throw Self.envelopeError(object) }
    }

    var headers: [(String, String)] { [("X-Api-Key", settings.serviceKey), ("Content-Type", "application/json"), ("Accept", "application/json")] }

    struct ListPage {
        var items: [[String: Any]]
        var total: Int
        var date: AgencyTimestamp
    }

    func list(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage {
        var search: [String: Any] = [:]
        if let since, since != .distantPast { search["updtDtBgng"] = since.dashed }
        if let until { search["updtDtEnd"] = until.dashed }
        let body: [String: Any] = ["search": search, "paging": true, "startRow": offset, "endRow": offset + limit]
        let bytes = Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data())
        let answer = try await http.send(.POST, settings.baseURL + path, headers: headers, body: bytes)
        let (list, total) = try Self.parseList(answer.body)
        return ListPage(items: list, total: total, date: answer.date ?? AgencyTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970)))
    }

    /// The items and total of a list answer.
    /// - Throws: ``AdapterError`` for an error envelope or a body that is not one.
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int) {
        let object = try JSONItems.object(body, agency: .semas)
        guard object["result"] as? Bool == true else { throw envelopeError(object) }
        guard let data = object["data"] as? [String: Any], let page = data["default"] as? [String: Any],
              let list = page["list"] as? [[String: Any]], let total = JSONItems.int(page, "total") else {
            throw AdapterError(.schema, agency: .semas, "the answer lacks data.default.list or data.default.total")
        }
        return (list, Int(total))
    }

    static func envelopeError(_ object: [String: Any]) -> AdapterError {
        let agency = AgencyID.semas
        let code = JSONItems.text(object, "code") ?? "?"
        let message = JSONItems.text(object, "message") ?? ""
        return code == "E401"
            ? AdapterError(.unauthorized, agency: agency, "소상공인24 refused the key (\(code) \(message)); check adapter.service_key")
            : AdapterError(.envelope, agency: agency, "소상공인24 answered result=false (\(code) \(message))")
    }
}
