import Foundation
public import HanaroCore
import NIOHTTP1

/// 소상공인시장진흥공단's 소상공인24-style JSON API: `POST /api/pbanc/list` paged by
/// `startRow`/`endRow`, incremental by `search.updtDtBgng`/`updtDtEnd`; referral feed
/// `POST /api/rfrl/list`, intake `POST /api/rfrl/receive`. Errors come as HTTP 200 with
/// `"result": false`.
public struct SEMASAdapter: PagedAgencyAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    let programStream = "/api/pbanc/list"
    let referralStream = "/api/rfrl/list"

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programPosition(_ item: [String: Any]) -> AdapterCursor? { SEMASMapping.position(item) }
    func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord { try SEMASMapping.program(item) }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let answer = try await http.send(.POST, settings.baseURL + "/api/rfrl/receive", headers: headers, body: ReferralCodec.json(referral))
        let object = try JSONItems.object(answer.body, agency: agency)
        guard object["result"] as? Bool == true else { throw Self.envelopeError(object) }
    }

    var headers: [(String, String)] { [("X-Api-Key", settings.serviceKey), ("Content-Type", "application/json"), ("Accept", "application/json")] }

    func page(_ stream: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage<[String: Any]> {
        var search: [String: Any] = [:]
        if let since, since != .distantPast { search["updtDtBgng"] = since.dashed }
        if let until { search["updtDtEnd"] = until.dashed }
        let body: [String: Any] = ["search": search, "paging": true, "startRow": offset, "endRow": offset + limit]
        let bytes = Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data())
        let answer = try await http.send(.POST, settings.baseURL + stream, headers: headers, body: bytes)
        let (list, total) = try Self.parseList(answer.body)
        return try ListPage(items: list, total: total, date: answer.date, agency: agency)
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
        let code = JSONItems.text(object, "code") ?? "?"
        let message = JSONItems.text(object, "message") ?? ""
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
