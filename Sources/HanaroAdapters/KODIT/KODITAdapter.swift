import Foundation
public import HanaroCore
import NIOHTTP1

/// 신용보증기금's odcloud-style JSON API: `GET /api/15049544/v1/programs?page=&perPage=` with
/// odcloud conditions `cond[수정일시::GTE]`/`cond[수정일시::LT]`, credential
/// `Authorization: Infuser KEY`; referral feed `.../referral-events`, intake `.../referral-intake`.
public struct KODITAdapter: PagedAgencyAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    let programStream = "/api/15049544/v1/programs"
    let referralStream = "/api/15049544/v1/referral-events"

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programPosition(_ item: [String: Any]) -> AdapterCursor? { KODITMapping.position(item) }
    func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord { try KODITMapping.program(item) }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + "/api/15049544/v1/referral-intake", headers: headers + [("Content-Type", "application/json")],
                                         body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard JSONItems.int(object, "code") == 0 else {
            throw AdapterError(.envelope, agency: agency, "the intake answered code \(JSONItems.text(object, "code") ?? "?") \(JSONItems.text(object, "msg") ?? "")")
        }
    }

    var headers: [(String, String)] { [("Authorization", "Infuser \(settings.serviceKey)"), ("Accept", "application/json")] }

    func page(_ stream: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage<[String: Any]> {
        var url = settings.baseURL + stream + "?page=\(offset / limit + 1)&perPage=\(limit)"
        if let since, since != .distantPast { url += "&" + Self.condition("GTE", since) }
        if let until { url += "&" + Self.condition("LT", until) }
        let answer = try await http.send(.GET, url, headers: headers)
        let (data, total) = try Self.parseList(answer.body)
        return try ListPage(items: data, total: total, date: answer.date, agency: agency)
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

extension KODITAdapter: AgencyFormat {
    public static let agency = AgencyID.kodit

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        KODITAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try parseList(body).0.map { item in Result { () throws(ValidationError) in try KODITMapping.program(item) } }
    }
}
