import Foundation
public import HanaroCore
import NIOHTTP1

/// 고용복지플러스센터's 고용24 JSON API: `GET /cm/openApi/call/hr/callOpenApiSvcInfo310L01.do
/// ?authKey=&returnType=JSON&outType=1&pageNum=&pageSize=` (`adapter.programs_path`), answered
/// `{"scn_cnt":N,"pageNum":"1","pageSize":"100","srchList":[…]}`. The list has no per-item update
/// stamp: it is read as snapshots. Errors come as HTTP 200 with `{"error": …, "errorCode": …}`. A
/// referral feed (`adapter.referral_events_path`, ours: `callOpenApiRfrlEvent.do`) and the intake
/// (`callOpenApiRfrlIntake.do`) use the same envelope.
public struct EWPCAdapter: PagedAgencyAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    static let base = "/cm/openApi/call/hr/"
    static let defaultProgramsPath = base + "callOpenApiSvcInfo310L01.do"
    static let defaultReferralEventsPath = base + "callOpenApiRfrlEvent.do"
    static let programsHaveStamps = false

    public let snapshotMemo: SnapshotPageMemo? = SnapshotPageMemo()

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programID(_ item: [String: Any]) -> String? { EWPCMapping.id(item) }
    func programStamp(_ item: [String: Any]) -> ListRead.Stamp { .none }
    func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord { try EWPCMapping.program(item) }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let url = settings.baseURL + (settings.intakePath ?? Self.base + "callOpenApiRfrlIntake.do") + "?authKey=" + DataGoKr.encoded(settings.serviceKey)
        let answer = try await http.send(.POST, url, headers: [("Content-Type", "application/json")], body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        if let error = Self.envelopeError(object, agency: agency) { throw error }
    }

    func pageRequest(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> PageRequest {
        var url = settings.baseURL + path + (path.contains("?") ? "&" : "?") + "authKey=" + DataGoKr.encoded(settings.serviceKey)
            + "&returnType=JSON&outType=1&pageNum=\(offset / limit + 1)&pageSize=\(limit)"
        if let since, since != .distantPast { url += "&srchUpdtBgng=\(since.digits)" }
        if let until { url += "&srchUpdtEnd=\(until.digits)" }
        return PageRequest(method: .GET, url: url, headers: [("Accept", "application/json")])
    }

    func parsePage(_ body: [UInt8]) throws(AdapterError) -> (items: [[String: Any]], total: Int?) { try Self.parseList(body) }

    /// The items and total of a list answer (a page past the end may carry no `srchList`).
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int?) {
        let object = try JSONItems.object(body, agency: .ewpc)
        if let error = Self.envelopeError(object, agency: .ewpc) { throw error }
        let total = JSONItems.int(object, "scn_cnt").map(Int.init)
        guard let list = object["srchList"] as? [[String: Any]] else {
            guard total != nil else { throw AdapterError(.schema, agency: .ewpc, "the answer lacks srchList and scn_cnt; is adapter.base_url 고용24's API?") }
            return ([], total)
        }
        return (list, total)
    }

    /// The error a 200 answer carries, if any.
    static func envelopeError(_ object: [String: Any], agency: AgencyID) -> AdapterError? {
        guard let text = JSONItems.text(object, "error") else { return nil }
        let message = AgencyHTTP.agencyMessage(text)
        let code = JSONItems.text(object, "errorCode") ?? "?"
        return code == "E0001"
            ? AdapterError(.unauthorized, agency: agency, "고용24 refused the key (\(code) \(message)); check adapter.service_key")
            : AdapterError(.envelope, agency: agency, "고용24 answered error \(code) \(message)")
    }
}

extension EWPCAdapter: AgencyFormat {
    public static let agency = AgencyID.ewpc

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        EWPCAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try parseList(body).0.map { item in Result { () throws(ValidationError) in try EWPCMapping.program(item) } }
    }
}
