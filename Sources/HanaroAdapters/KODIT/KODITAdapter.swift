import Foundation
public import HanaroCore
import NIOHTTP1

/// 신용보증기금's services in the odcloud JSON shape: `GET /api/15049544/v1/programs?page=&perPage=`
/// (`adapter.programs_path`), answered `{"page","perPage","totalCount","currentCount","matchCount","data"}`
/// — paged over `matchCount` (the rows that match the conditions; `totalCount` counts the whole
/// dataset). Incremental by `수정일시` with the odcloud conditions `cond[수정일시::GTE]`/`::LT`.
/// Credential `Authorization: Infuser KEY`. A referral feed (`adapter.referral_events_path`, ours:
/// `/api/15049544/v1/referral-events`) and the intake (`.../referral-intake`) use the same shape.
public struct KODITAdapter: PagedAgencyAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    static let defaultProgramsPath = "/api/15049544/v1/programs"
    static let defaultReferralEventsPath = "/api/15049544/v1/referral-events"
    static let programsHaveStamps = true

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programID(_ item: [String: Any]) -> String? { KODITMapping.id(item) }
    func programStamp(_ item: [String: Any]) -> ListRead.Stamp { KODITMapping.stamp(item) }
    func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord { try KODITMapping.program(item) }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + (settings.intakePath ?? "/api/15049544/v1/referral-intake"),
                                         headers: headers + [("Content-Type", "application/json")], body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard JSONItems.int(object, "code") == 0 else {
            throw AdapterError(.envelope, agency: agency, "the intake answered code \(JSONItems.text(object, "code") ?? "?") \(AgencyHTTP.agencyMessage(JSONItems.text(object, "msg") ?? ""))")
        }
    }

    var headers: [(String, String)] { [("Authorization", "Infuser \(settings.serviceKey)"), ("Accept", "application/json")] }

    func pageRequest(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> PageRequest {
        var url = settings.baseURL + path + (path.contains("?") ? "&" : "?") + "page=\(offset / limit + 1)&perPage=\(limit)&returnType=JSON"
        if let since, since != .distantPast { url += "&" + Self.condition("GTE", since) }
        if let until { url += "&" + Self.condition("LT", until) }
        return PageRequest(method: .GET, url: url, headers: headers)
    }

    func parsePage(_ body: [UInt8]) throws(AdapterError) -> (items: [[String: Any]], total: Int?) { try Self.parseList(body) }

    /// The items and total of a list answer: `matchCount` (what the conditions match), else
    /// `totalCount`, else none.
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int?) {
        let object = try JSONItems.object(body, agency: .kodit)
        guard let data = object["data"] as? [[String: Any]] else {
            if let code = JSONItems.text(object, "code") {
                let text = JSONItems.text(object, "msg") ?? ""
                let message = AgencyHTTP.agencyMessage(text)
                if code == "-401" || code == "401" || text.contains("인증") {
                    throw AdapterError(.unauthorized, agency: .kodit, "odcloud refused the key (\(code) \(message)); check adapter.service_key")
                }
                throw AdapterError(.envelope, agency: .kodit, "odcloud answered code \(code) \(message)")
            }
            throw AdapterError(.schema, agency: .kodit, "the answer lacks data; is adapter.base_url the odcloud API?")
        }
        let total = JSONItems.int(object, "matchCount") ?? JSONItems.int(object, "totalCount")
        return (data, total.map(Int.init))
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
