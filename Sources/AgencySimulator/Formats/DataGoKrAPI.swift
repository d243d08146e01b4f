import Foundation
import HanaroCore
import Hummingbird
import NIOCore

/// The data.go.kr XML envelope, as 신용보증재단중앙회 (기업마당-style announcements) and
/// 서민금융진흥원 (`getLoanProductSearchingInfo`-style loan products) publish through it:
/// `<response><header><resultCode>00</resultCode><resultMsg>NORMAL_SERVICE</resultMsg></header>
/// <body><items><item>...</item></items><numOfRows/><pageNo/><totalCount/></body></response>`,
/// paged by `pageNo`/`numOfRows`, credential `serviceKey`, incremental by `updtPnttmBgng`
/// (inclusive) / `updtPnttmEnd` (exclusive). An empty window is HTTP 200 with `03 NODATA_ERROR`;
/// an unknown key is the portal's `OpenAPI_ServiceResponse` with reason code 30.
enum DataGoKrAPI {
    enum Flavour {
        case koreg, kinfa

        var programPath: String {
            switch self {
            case .koreg: "1421000/bizinfo/pblancBsnsService"
            case .kinfa: "B553701/LoanProductSearchingInfo/LoanProductSearchingInfo/getLoanProductSearchingInfo"
            }
        }

        var referralPath: String {
            switch self {
            case .koreg: "B552735/kfcgf/getRfrlEventList"
            case .kinfa: "B553701/Referral/getRfrlEventList"
            }
        }

        var intakePath: String {
            switch self {
            case .koreg: "B552735/kfcgf/rfrlIntake"
            case .kinfa: "B553701/Referral/rfrlIntake"
            }
        }
    }

    static let contentType = "application/xml;charset=UTF-8"

    static func addRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator, flavour: Flavour) {
        router.get(RouterPath(flavour.programPath)) { request, _ in
            await list(request, simulator: simulator, cached: true) { since, until, offset, limit in
                let page = await simulator.programPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map { flavour == .koreg ? koregItem($0) : kinfaItem($0) }, page.total)
            }
        }
        router.get(RouterPath(flavour.referralPath)) { request, _ in
            await list(request, simulator: simulator) { since, until, offset, limit in
                let page = await simulator.eventPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map { event in
                    ReferralWire.fields(event, stamp: \.dashed).map { NativeText.element($0.0, $0.1) }.joined()
                }, page.total)
            }
        }
        router.post(RouterPath(flavour.intakePath)) { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let body = try await request.body.collect(upTo: 1 << 20)
            let fields = FlatXML.fields(of: Array(body.readableBytesView), element: "rfrl")
            guard let fields, await simulator.receive(fields) else {
                return await SimulatorServer.native(envelope(code: "10", message: "INVALID_REQUEST_PARAMETER_ERROR", body: nil), contentType: contentType, simulator: simulator)
            }
            return await SimulatorServer.native(envelope(code: "00", message: "NORMAL_SERVICE", body: nil), contentType: contentType, simulator: simulator)
        }
    }

    static func envelope(code: String, message: String, body: String?) -> [UInt8] {
        Array(("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><response><header><resultCode>\(code)</resultCode><resultMsg>\(message)</resultMsg></header>"
            + (body.map { "<body>\($0)</body>" } ?? "") + "</response>").utf8)
    }

    static func refusal(_ request: Request, simulator: AgencySimulator) async -> Response? {
        let query = NativeText.query(request.uri.description)
        if query["serviceKey"] != simulator.serviceKey {
            let text = "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg><returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>"
            return Response(status: .ok, headers: [.contentType: "text/xml;charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        switch await simulator.fault() {
        case .rateLimited(let seconds): return SimulatorServer.rateLimited(seconds)
        case .error: return await SimulatorServer.native(envelope(code: "01", message: "APPLICATION_ERROR", body: nil), contentType: contentType, simulator: simulator)
        case nil: return nil
        }
    }

    static func list(_ request: Request, simulator: AgencySimulator, cached: Bool = false,
                     page: (AgencyTimestamp?, AgencyTimestamp?, Int, Int) async -> ([String], Int)) async -> Response {
        if let refused = await refusal(request, simulator: simulator) { return refused }
        let query = NativeText.query(request.uri.description)
        let rows = max(1, Int(query["numOfRows"] ?? "10") ?? 10)
        let pageNo = max(1, Int(query["pageNo"] ?? "1") ?? 1)
        let since = query["updtPnttmBgng"].flatMap(AgencyTimestamp.init(parsing:))
        let until = query["updtPnttmEnd"].flatMap(AgencyTimestamp.init(parsing:))
        return await SimulatorServer.listAnswer(simulator, cached: cached, since: since, until: until, offset: (pageNo - 1) * rows, limit: rows, contentType: contentType) {
            let (items, total) = await page(since, until, (pageNo - 1) * rows, rows)
            return total == 0 ? envelope(code: "03", message: "NODATA_ERROR", body: nil) : body(items, total: total, pageNo: pageNo, rows: rows)
        }
    }

    static func body(_ items: [String], total: Int, pageNo: Int, rows: Int) -> [UInt8] {
        envelope(code: "00", message: "NORMAL_SERVICE", body: "<items>" + items.map { "<item>\($0)</item>" }.joined()
            + "</items><numOfRows>\(rows)</numOfRows><pageNo>\(pageNo)</pageNo><totalCount>\(total)</totalCount>")
    }

    static func koregItem(_ p: SimulatedProgram) -> String {
        let period: String? = if p.periodStart != nil || p.periodEnd != nil {
            "\(p.periodStart.map(\.description) ?? "") ~ \(p.periodEnd.map(\.description) ?? "")"
        } else { p.periodText }
        let summaryHTML = p.summary.split(separator: "\n").map { "<p>\(NativeText.htmlEscaped(String($0)))</p>" }.joined()
        let hashtags = ([p.category.koreanName] + p.regions.compactMap { (try? RegionCode($0)).flatMap { RegionCode.provinces[$0.province] } } + p.targets)
        return [
            NativeText.element("pblancId", p.id),
            NativeText.element("pblancNm", NativeText.htmlEscaped(p.title)),
            NativeText.element("jrsdInsttNm", p.institution),
            NativeText.element("excInsttNm", nil),
            NativeText.element("bsnsSumryCn", summaryHTML.isEmpty ? nil : summaryHTML),
            NativeText.element("reqstBeginEndDe", period),
            NativeText.element("trgetNm", p.targets.isEmpty ? nil : p.targets.joined(separator: ",")),
            NativeText.element("hashtags", hashtags.joined(separator: ",")),
            NativeText.element("areaCd", p.isMalformed ? "99" : (p.regions.isEmpty ? nil : p.regions.joined(separator: ","))),
            NativeText.element("pldirSportRealmLclasCodeNm", p.category.koreanName),
            NativeText.element("pblancUrl", p.url),
            NativeText.element("refrncNm", p.contact),
            NativeText.element("useAt", p.isDeleted ? "N" : "Y"),
            NativeText.element("creatPnttm", p.createdAt.dashed),
            NativeText.element("updtPnttm", p.updatedAt.dashed),
        ].joined()
    }

    static func kinfaItem(_ p: SimulatedProgram) -> String {
        let age: String? = switch (p.ownerAge.min, p.ownerAge.max) {
        case (nil, nil): nil
        case (let low?, nil): "만 \(low)세 이상"
        case (nil, let high?): "만 \(high)세 이하"
        case (let low?, let high?): p.isMalformed ? "만 \(high + 1)세 이상 ~ 만 \(low)세 이하" : "만 \(low)세 이상 ~ 만 \(high)세 이하"
        }
        let rate: String? = switch (p.rateBasisPoints.min, p.rateBasisPoints.max) {
        case (nil, nil): nil
        case (let low?, let high?): "연 \(NativeText.percent(low))% ~ \(NativeText.percent(high))%"
        case (nil, let high?): "연 \(NativeText.percent(high))% 이내"
        case (let low?, nil): "연 \(NativeText.percent(low))% 이상"
        }
        return [
            NativeText.element("seq", p.id),
            NativeText.element("finprdnm", NativeText.htmlEscaped(p.title)),
            NativeText.element("trgt", p.targets.isEmpty ? nil : p.targets.joined(separator: ", ")),
            NativeText.element("tgtFltr", "개인사업자"),
            NativeText.element("age", p.isMalformed && p.ownerAge.min == nil ? "만 abc세" : age),
            NativeText.element("suprtgtdtlcond", NativeText.htmlEscaped(p.summary.replacingOccurrences(of: "\n", with: " "))),
            // 서민금융진흥원 publishes limits in 만원.
            NativeText.element("lnlmt", p.amountMaxKRW.map { $0 % 10_000 == 0 ? String($0 / 10_000) : "\($0)원" }),
            NativeText.element("irt", rate),
            NativeText.element("ofrinstnm", p.institution),
            NativeText.element("rltSite", p.url),
            NativeText.element("cnpl", p.contact),
            NativeText.element("useAt", p.isDeleted ? "N" : "Y"),
            NativeText.element("updtPnttm", p.updatedAt.dashed),
        ].joined()
    }
}
