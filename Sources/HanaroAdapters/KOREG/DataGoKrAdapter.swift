import Foundation
public import HanaroCore
import NIOHTTP1

/// The adapter of the two agencies that publish through data.go.kr (신용보증재단중앙회 and
/// 서민금융진흥원): the XML envelope paged by `pageNo`/`numOfRows`, incremental by
/// `updtPnttmBgng`/`updtPnttmEnd`, credential `serviceKey`. The referral feed uses the same
/// envelope; the intake takes an XML `<rfrl>` document.
public struct DataGoKrAdapter: AgencyAdapter {
    public let agency: AgencyID
    let settings: AdapterSettings
    let http: AgencyHTTP

    public init(agency: AgencyID, settings: AdapterSettings, http: AgencyHTTP) {
        precondition(agency == .koreg || agency == .kinfa, "data.go.kr adapter serves koreg and kinfa")
        self.agency = agency
        self.settings = settings
        self.http = http
    }

    var paths: (programs: String, referrals: String, intake: String) {
        agency == .koreg
            ? ("/B552735/kfcgf/getPblancList", "/B552735/kfcgf/getRfrlEventList", "/B552735/kfcgf/rfrlIntake")
            : ("/B553701/LoanProductSearchingInfo/getLoanProductSearchingInfo", "/B553701/Referral/getRfrlEventList", "/B553701/Referral/rfrlIntake")
    }

    public func check() async throws(AdapterError) -> AgencyTimestamp {
        try await list(paths.programs, since: nil, until: nil, pageNo: 1, rows: 1).date
    }

    public func readPrograms(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ProgramRecord>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let isKOREG = agency == .koreg
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ProgramRecord> in
            let page = try await list(paths.programs, since: request.since, until: request.until, pageNo: request.pageNumber, rows: request.limit)
            return NativePage(items: page.envelope.items.map { item in
                NativeItem(position: isKOREG ? KOREGMapping.position(item) : KINFAMapping.position(item), raw: { DataGoKrEnvelope.raw(item) },
                           map: { () throws(ValidationError) in isKOREG ? try KOREGMapping.program(item) : try KINFAMapping.program(item) })
            }, total: page.envelope.totalCount)
        }, deliver: deliver)
    }

    public func readReferralEvents(after cursor: AdapterCursor, pageSize: Int, deliver: (AdapterPage<ReferralEvent>) async throws(AdapterError) -> Void) async throws(AdapterError) -> AdapterReadSummary {
        let signpost = try await check()
        let agency = self.agency
        return try await PagedReader.read(agency: agency, after: cursor, pageSize: pageSize, signpost: signpost, fetch: { (request) async throws(AdapterError) -> NativePage<ReferralEvent> in
            let page = try await list(paths.referrals, since: request.since, until: request.until, pageNo: request.pageNumber, rows: request.limit)
            return NativePage(items: page.envelope.items.map { item in
                NativeItem(position: ReferralCodec.position(item), raw: { DataGoKrEnvelope.raw(item) }, map: { () throws(ValidationError) in try ReferralCodec.event(item, agency: agency) })
            }, total: page.envelope.totalCount)
        }, deliver: deliver)
    }

    public func deliver(_ referral: ReferralDelivery) async throws(AdapterError) {
        let url = settings.baseURL + paths.intake + "?serviceKey=" + Self.encoded(settings.serviceKey)
        let answer = try await http.send(.POST, url, headers: [("Content-Type", "application/xml; charset=UTF-8")], body: ReferralCodec.xml(referral))
        _ = try DataGoKrEnvelope.parse(answer.body, agency: agency, expectingItems: false)
    }

    struct ListPage {
        var envelope: DataGoKrEnvelope
        var date: AgencyTimestamp
    }

    func list(_ path: String, since: AgencyTimestamp?, until: AgencyTimestamp?, pageNo: Int, rows: Int) async throws(AdapterError) -> ListPage {
        var url = settings.baseURL + path + "?serviceKey=" + Self.encoded(settings.serviceKey) + "&pageNo=\(pageNo)&numOfRows=\(rows)"
        if let since, since != .distantPast { url += "&updtPnttmBgng=\(since.digits)" }
        if let until { url += "&updtPnttmEnd=\(until.digits)" }
        let answer = try await http.send(.GET, url, headers: [("Accept", "application/xml")])
        return ListPage(envelope: try DataGoKrEnvelope.parse(answer.body, agency: agency),
                        date: answer.date ?? AgencyTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970)))
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
