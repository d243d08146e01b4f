import Foundation
public import HanaroCore
import NIOHTTP1

/// The shape shared by the agencies that publish through data.go.kr (신용보증재단중앙회,
/// 서민금융진흥원): the XML envelope paged by `pageNo`/`numOfRows`, incremental by
/// `updtPnttmBgng`/`updtPnttmEnd`, credential `serviceKey`. Each agency's own adapter (in its
/// folder) names its paths and its mapping.
protocol DataGoKrAPI: PagedAgencyAPI where Item == [String: String] {
    var http: AgencyHTTP { get }
    /// The format's default path of the referral intake (an XML `<rfrl>` document).
    static var defaultIntakePath: String { get }
}

extension DataGoKrAPI {
    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let url = settings.baseURL + (settings.intakePath ?? Self.defaultIntakePath) + "?serviceKey=" + DataGoKr.encoded(settings.serviceKey)
        let answer = try await http.send(.POST, url, headers: [("Content-Type", "application/xml; charset=UTF-8")], body: ReferralCodec.xml(referral))
        _ = try DataGoKrEnvelope.parse(answer.body, agency: agency, expectingItems: false)
    }

    func pageRequest(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> PageRequest {
        var url = settings.baseURL + path + (path.contains("?") ? "&" : "?") + "serviceKey=" + DataGoKr.encoded(settings.serviceKey)
            + "&pageNo=\(offset / limit + 1)&numOfRows=\(limit)"
        if let since, since != .distantPast { url += "&updtPnttmBgng=\(since.digits)" }
        if let until { url += "&updtPnttmEnd=\(until.digits)" }
        return PageRequest(method: .GET, url: url, headers: [("Accept", "application/xml")])
    }

    func parsePage(_ body: [UInt8]) throws(AdapterError) -> (items: [[String: String]], total: Int?) {
        let envelope = try DataGoKrEnvelope.parse(body, agency: agency)
        return (envelope.items, envelope.totalCount)
    }
}

/// Helpers of data.go.kr requests.
enum DataGoKr {
    /// A service key as a query value (keys are issued URL-encoded or not; both arrive right).
    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
