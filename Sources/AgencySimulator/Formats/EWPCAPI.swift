import Foundation
import HanaroCore
import Hummingbird
import NIOCore

/// 고용복지플러스센터 — 고용24-style JSON: `GET /cm/openApi/call/hr/callOpenApiSvcInfo310L01.do
/// ?authKey=KEY&returnType=JSON&pageNum=1&pageSize=100`, answered
/// `{"scn_cnt":N,"pageNum":1,"pageSize":100,"srchList":[...]}`; incremental by `srchUpdtBgng` /
/// `srchUpdtEnd` (`yyyyMMddHHmmss`). An unknown key is HTTP 200 with `{"error": ...}`.
/// Referral feed `.../callOpenApiRfrlEvent.do`, intake `POST .../callOpenApiRfrlIntake.do`.
enum EWPCAPI {
    static let base = "cm/openApi/call/hr/"

    static func addRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator) {
        router.get(RouterPath(base + "callOpenApiSvcInfo310L01.do")) { request, _ in
            await list(request, simulator: simulator, cached: true) { since, until, offset, limit in
                let page = await simulator.programPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map(item), page.total)
            }
        }
        router.get(RouterPath(base + "callOpenApiRfrlEvent.do")) { request, _ in
            await list(request, simulator: simulator) { since, until, offset, limit in
                let page = await simulator.eventPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map { event in
                    Dictionary(uniqueKeysWithValues: ReferralWire.fields(event, stamp: \.digits).map { ($0.0, $0.1 as Any? ?? NSNull()) })
                }, page.total)
            }
        }
        router.post(RouterPath(base + "callOpenApiRfrlIntake.do")) { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any],
                  await simulator.receive(object.compactMapValues { $0 as? String }) else {
                return SimulatorServer.jsonResponse(["error": "요청 형식이 올바르지 않습니다", "errorCode": "E0400"])
            }
            return SimulatorServer.jsonResponse(["result": "OK"])
        }
    }

    static func refusal(_ request: Request, simulator: AgencySimulator) async -> Response? {
        if NativeText.query(request.uri.description)["authKey"] != simulator.serviceKey {
            return SimulatorServer.jsonResponse(["error": "인증키가 유효하지 않습니다", "errorCode": "E0001"])
        }
        switch await simulator.fault() {
        case .rateLimited(let seconds): return SimulatorServer.rateLimited(seconds)
        case .error: return SimulatorServer.jsonResponse(["error": "서비스 점검 중입니다", "errorCode": "E9999"], status: .serviceUnavailable)
        case nil: return nil
        }
    }

    static func list(_ request: Request, simulator: AgencySimulator, cached: Bool = false,
                     page: (AgencyTimestamp?, AgencyTimestamp?, Int, Int) async -> ([[String: Any]], Int)) async -> Response {
        if let refused = await refusal(request, simulator: simulator) { return refused }
        let query = NativeText.query(request.uri.description)
        let size = max(1, Int(query["pageSize"] ?? "10") ?? 10)
        let number = max(1, Int(query["pageNum"] ?? "1") ?? 1)
        let since = query["srchUpdtBgng"].flatMap(AgencyTimestamp.init(parsing:))
        let until = query["srchUpdtEnd"].flatMap(AgencyTimestamp.init(parsing:))
        return await SimulatorServer.listAnswer(simulator, cached: cached, since: since, until: until, offset: (number - 1) * size, limit: size,
                                                contentType: "application/json;charset=UTF-8") {
            let (list, total) = await page(since, until, (number - 1) * size, size)
            return body(list, total: total, page: number, size: size)
        }
    }

    static func body(_ list: [[String: Any]], total: Int, page: Int, size: Int) -> [UInt8] {
        NativeText.json(["scn_cnt": total, "pageNum": page, "pageSize": size, "srchList": list] as [String: Any])
    }

    static func item(_ p: SimulatedProgram) -> [String: Any] {
        let parts = p.id.split(separator: "-", maxSplits: 1).map(String.init)
        return [
            "trprId": parts[0],
            "trprDegr": parts.count > 1 ? parts[1] : "1",
            "title": NativeText.htmlEscaped(p.title),
            "subTitle": p.institution,
            "traStartDate": p.isMalformed ? "20269999" : (NativeText.yyyymmdd(p.periodStart) ?? ""),
            "traEndDate": NativeText.yyyymmdd(p.periodEnd) ?? "",
            "trngAreaCd": p.regions.isEmpty ? NSNull() as Any : p.regions.joined(separator: "|"),
            "ncsCd": "02030101",
            "trainTarget": "국민내일배움카드(일반)",
            "titleLink": p.url,
            "courseMan": p.amountMaxKRW.map(String.init) as Any? ?? NSNull(),
            "telNo": p.contact,
            "useYn": p.isDeleted ? "N" : "Y",
            "lastUpdtDt": p.updatedAt.digits,
        ]
    }
}
