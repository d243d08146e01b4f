import Foundation
public import HanaroCore
import NIOHTTP1

/// 소상공인시장진흥공단's 소상공인24 JSON API: `POST /api/pbanc/list` (`adapter.programs_path`) with
/// `{"search":{…},"paging":true,"startRow":0,"endRow":100}`, answered
/// `{"result":true,"data":{"default":{"total":N,"list":[…]}}}`. The list has no per-item update
/// stamp: it is read as snapshots. Errors come as HTTP 200 with `"result": false`. A referral
/// feed (`adapter.referral_events_path`, ours: `/api/rfrl/list`) and the intake
/// (`/api/rfrl/receive`) speak the same envelope.
public struct SEMASAdapter: PagedAgencyAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    static let defaultProgramsPath = "/api/pbanc/list"
    static let defaultReferralEventsPath = "/api/rfrl/list"
    static let programsHaveStamps = false

    public let snapshotMemo: SnapshotPageMemo? = SnapshotPageMemo()

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programID(_ item: [String: Any]) -> String? { SEMASMapping.id(item) }
    func programStamp(_ item: [String: Any]) -> ListRead.Stamp { .none }
    func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord { try SEMASMapping.program(item) }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + (settings.intakePath ?? "/api/rfrl/receive"), headers: headers, body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard object["result"] as? Bool == true else { throw Self.envelopeError(object) }
    }

    /// 소상공인24's list endpoint is called by its own web front end with `Origin-Method: GET`.
    var headers: [(String, String)] { [("X-Api-Key", settings.serviceKey), ("Content-Type", "application/json"), ("Accept", "application/json"), ("Origin-Method", "GET")] }

    func pageRequest(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> PageRequest {
        var search: [String: Any] = [:]
        if let since, since != .distantPast { search["updtDtBgng"] = since.dashed }
        if let until { search["updtDtEnd"] = until.dashed }
        let body: [String: Any] = ["search": search, "sortModel": [Any](), "paging": true, "startRow": offset, "endRow": offset + limit]
        let bytes = Array((try? JSONSerialization.data(withJSONObject: body, options: .sortedKeys)) ?? Data())
        return PageRequest(method: .POST, url: settings.baseURL + path, headers: headers, body: bytes)
    }

    func parsePage(_ body: [UInt8]) throws(AdapterError) -> (items: [[String: Any]], total: Int?) { try Self.parseList(body) }

    /// The items and total of a list answer.
    /// - Throws: ``AdapterError`` for an error envelope or a body that is not one.
    static func parseList(_ body: [UInt8]) throws(AdapterError) -> ([[String: Any]], Int?) {
        let object = try JSONItems.object(body, agency: .semas)
        guard object["result"] as? Bool == true else { throw envelopeError(object) }
        guard let data = object["data"] as? [String: Any], let page = data["default"] as? [String: Any] else {
            throw AdapterError(.schema, agency: .semas, "the answer lacks data.default; is adapter.base_url 소상공인24's API?")
        }
        // A page past the end may come with a null list.
        let list = page["list"] as? [[String: Any]] ?? []
        return (list, JSONItems.int(page, "total").map(Int.init))
    }

    static func envelopeError(_ object: [String: Any]) -> AdapterError {
        let code = JSONItems.text(object, "code") ?? "?"
        let message = AgencyHTTP.agencyMessage(JSONItems.text(object, "message") ?? JSONItems.text(object, "errorMessage") ?? "")
        return code == "E401"
            ? AdapterError(.unauthorized, agency: .semas, "소상공인24 refused the key (\(code) \(message)); check adapter.service_key")
            : AdapterError(.envelope, agency: .semas, "소상공인24 answered result=false (\(code) \(message))")
    }
}

extension SEMASAdapter: AgencyFormat {
    public static let agency = AgencyID.semas

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        SEMASAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try parseList(body).0.map { item in Result { () throws(ValidationError) in try SEMASMapping.program(item) } }
    }
}
