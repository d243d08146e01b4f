import Foundation
public import HanaroCore
import NIOHTTP1

/// The adapter of the two agencies that publish through data.go.kr (신용보증재단중앙회 and
/// 서민금융진흥원): the XML envelope paged by `pageNo`/`numOfRows`, incremental by
/// `updtPnttmBgng`/`updtPnttmEnd`, credential `serviceKey`. The referral feed uses the same
/// envelope; the intake takes an XML `<rfrl>` document.
public struct DataGoKrAdapter: PagedAgencyAPI {
    public let agency: AgencyID
    let settings: AdapterSettings
    let http: AgencyHTTP

    public init(agency: AgencyID, settings: AdapterSettings, http: AgencyHTTP) {
        precondition(agency == .koreg || agency == .kinfa, "data.go.kr adapter serves koreg and kinfa")
        self.agency = agency
        self.settings = settings
        self.http = http
    }

    var programStream: String { agency == .koreg ? "/B552735/kfcgf/getPblancList" : "/B553701/LoanProductSearchingInfo/getLoanProductSearchingInfo" }
    var referralStream: String { agency == .koreg ? "/B552735/kfcgf/getRfrlEventList" : "/B553701/Referral/getRfrlEventList" }
    var intakePath: String { agency == .koreg ? "/B552735/kfcgf/rfrlIntake" : "/B553701/Referral/rfrlIntake" }

    func programPosition(_ item: [String: String]) -> AdapterCursor? {
        agency == .koreg ? KOREGMapping.position(item) : KINFAMapping.position(item)
    }

    func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord {
        agency == .koreg ? try KOREGMapping.program(item) : try KINFAMapping.program(item)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let url = settings.baseURL + intakePath + "?serviceKey=" + Self.encoded(settings.serviceKey)
        let answer = try await http.send(.POST, url, headers: [("Content-Type", "application/xml; charset=UTF-8")], body: ReferralCodec.xml(referral))
        _ = try DataGoKrEnvelope.parse(answer.body, agency: agency, expectingItems: false)
    }

    func page(_ stream: String, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) async throws(AdapterError) -> ListPage<[String: String]> {
        var url = settings.baseURL + stream + "?serviceKey=" + Self.encoded(settings.serviceKey) + "&pageNo=\(offset / limit + 1)&numOfRows=\(limit)"
        if let since, since != .distantPast { url += "&updtPnttmBgng=\(since.digits)" }
        if let until { url += "&updtPnttmEnd=\(until.digits)" }
        let answer = try await http.send(.GET, url, headers: [("Accept", "application/xml")])
        let envelope = try DataGoKrEnvelope.parse(answer.body, agency: agency)
        return try ListPage(items: envelope.items, total: envelope.totalCount, date: answer.date, agency: agency)
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
