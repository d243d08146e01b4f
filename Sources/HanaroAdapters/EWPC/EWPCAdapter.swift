import Foundation
public import HanaroCore
import NIOHTTP1

/// 고용복지플러스센터's 고용24-style JSON API: `GET /cm/openApi/call/hr/callOpenApiSvcInfo310L01.do
/// ?authKey=&returnType=JSON&pageNum=&pageSize=`, incremental by `srchUpdtBgng`/`srchUpdtEnd`.
/// Errors come as HTTP 200 with `{"error": ..., "errorCode": ...}`.
public struct EWPCAdapter: AgencyAdapter {
    public let agency = AgencyID.ewpc
    let settings: AdapterSettings
    let http: AgencyHTTP

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    static let base = "/cm/openApi/call/hr/"

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await list("callOpenApiSvcInfo310L01.do", since: nil, until: nil, pageNum: 1, pageSize: 1).date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await list("callOpenApiSvcInfo310L01.do", since: request.since, until: request.until, pageNum: request.pageNumber, pageSize: request.limit)
            return NativePage(items: page.items.map { item in
                NativeItem(position: EWPCMapping.position(item), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try EWPCMapping.program(item) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let agency = self.agency
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await list("callOpenApiRfrlEvent.do", since: request.since, until: request.until, pageNum: request.pageNumber, pageSize: request.limit)
            return NativePage(items: page.items.map { item in
                let fields = item.compactMapValues { $0 as? String }
                return NativeItem(position: ReferralCodec.position(fields), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try ReferralCodec.event(fields, agency: agency) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let url = settings.baseURL + Self.base + "callOpenApiRfrlIntake.do?authKey=" + DataGoKrAdapter.encoded(settings.serviceKey)
        let answer = try await http.send(.POST, url, headers: [("Content-Type", "application/json")], body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        if let error = Self.envelopeError(object, agency: agency) { throw error }
    }

    struct ListPage {
        var items: [[String: Any]]
        var total: Int
        var date: AgencyTimestamp
    }

    func list(_ service: String, since: AgencyTimestamp?, until: AgencyTimestamp?, pageNum: Int, pageSize: Int) async throws(AdapterError) -> ListPage {
        var url = settings.baseURL + Self.base + service + "?authKey=" + DataGoKrAdapter.encoded(settings.serviceKey) + "&returnType=JSON&outType=1&pageNum=\(pageNum)&pageSize=\(pageSize)"
        if let since, since != .distantPast { url += "&srchUpdtBgng=\(since.digits)" }
        if let until { url += "&srchUpdtEnd=\(until.digits)" }
        let answer = try await http.send(.GET, url, headers: [("Accept", "application/json")])
        let (list, total) = try Self.parseList(answer.body)
        return ListPage(items: list, total: total, date: answer.date ?? AgencyTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970)))
    }

    /// The items and total of a list answer.
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int) {
        let object = try JSONItems.object(body, agency: .ewpc)
        if let error = Self.envelopeError(object, agency: .ewpc) { throw error }
        guard let list = object["srchList"] as? [[String: Any]], let total = JSONItems.int(object, "scn_cnt") else {
            throw AdapterError(.schema, agency: .ewpc, "the answer lacks srchList or scn_cnt")
        }
        return (list, Int(total))
    }

    /// The error a 200 answer carries, if any.
    static func envelopeError(_ object: [String: Any], agency: AgencyID) -> AdapterError? {
        guard let message = JSONItems.text(object, "error") else { return nil }
        let code = JSONItems.text(object, "errorCode") ?? "?"
        return code == "E0001"
            ? AdapterError(.unauthorized, agency: agency, "고용24 refused the key (\(code) \(message)); check adapter.service_key")
            : AdapterError(.envelope, agency: agency, "고용24 answered error \(code) \(message)")
    }
}
