import Foundation
public import HanaroCore
import NIOHTTP1

/// 신용보증기금's odcloud-style JSON API: `GET /api/15049544/v1/programs?page=&perPage=` with
/// odcloud conditions `cond[수정일시::GTE]`/`cond[수정일시::LT]`, credential
/// `Authorization: Infuser KEY`; referral feed `.../referral-events`, intake `.../referral-intake`.
public struct KODITAdapter: AgencyAdapter {
    public let agency = AgencyID.kodit
    let settings: AdapterSettings
    let http: AgencyHTTP

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    static let programs = "/api/15049544/v1/programs"
    static let referrals = "/api/15049544/v1/referral-events"
    static let intake = "/api/15049544/v1/referral-intake"

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await list(Self.programs, since: nil, until: nil, page: 1, perPage: 1).date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await list(Self.programs, since: request.since, until: request.until, page: request.pageNumber, perPage: request.limit)
            return NativePage(items: page.items.map { item in
                NativeItem(position: KODITMapping.position(item), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try KODITMapping.program(item) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let agency = self.agency
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await list(Self.referrals, since: request.since, until: request.until, page: request.pageNumber, perPage: request.limit)
            return NativePage(items: page.items.map { item in
                let fields = item.compactMapValues { $0 as? String }
                return NativeItem(position: ReferralCodec.position(fields), raw: { JSONItems.raw(item) }, map: { () throws(ValidationError) in try ReferralCodec.event(fields, agency: agency) })
            }, total: page.total)
        }, deliver: deliver)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + Self.intake, headers: headers + [("Content-Type", "application/json")], body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard JSONItems.int(object, "code") == 0 else {
            throw AdapterError(.envelope, agency: agency, "the intake answered code \(JSONItems.text(object, "code") ?? "?") \(JSONItems.text(object, "msg") ?? "")")
        }
    }

    var headers: [(String, String)] { [("Authorization", "Infuser \(settings.serviceKey)"), ("Accept", "application/json")] }

    struct ListPage {
        var items: [[String: Any]]
        var total: Int
        var date: AgencyTimestamp
    }

    func list(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, page: Int, perPage: Int) async throws(AdapterError) -> ListPage {
        var url = settings.baseURL + path + "?page=\(page)&perPage=\(perPage)"
        if let since, since != .distantPast { url += "&" + Self.condition("GTE", since) }
        if let until { url += "&" + Self.condition("LT", until) }
        let answer = try await http.send(.GET, url, headers: headers)
        let (data, total) = try Self.parseList(answer.body)
        return ListPage(items: data, total: total, date: answer.date ?? AgencyTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970)))
    }

    /// The items and total of a list answer.
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int) {
        let object = try JSONItems.object(body, agency: .kodit)
        guard let data = object["data"] as? [[String: Any]], let total = JSONItems.int(object, "matchCount") ?? JSONItems.int(object, "totalCount") else {
            if let code = JSONItems.text(object, "code") {
                throw AdapterError(.envelope, agency: .kodit, "odcloud answered code \(code) \(JSONItems.text(object, "msg") ?? "")")
            }
            throw AdapterError(.schema, agency: .kodit, "the answer lacks data or matchCount")
        }
        return (data, Int(total))
    }

    /// `cond[수정일시::GTE]=...`, percent-encoded.
    static func condition(_ op: String, _ stamp: AgencyTimestamp) -> String {
        let name = "cond[수정일시::\(op)]".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "\(name)=\(stamp.digits)"
    }
}
