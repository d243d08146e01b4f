import Foundation
import HanaroCore
import HTTPTypes
import Hummingbird
import NIOCore

/// 소상공인시장진흥공단 — 소상공인24-style JSON: `POST /api/pbanc/list` with
/// `{"search":{...},"paging":true,"startRow":0,"endRow":100}`, answered
/// `{"result":true,"data":{"default":{"total":N,"list":[...]}}}`. Credential: `X-Api-Key`.
/// Incremental filter: `search.updtDtBgng` (inclusive) / `search.updtDtEnd` (exclusive), rows
/// sorted by (`updtDt`, `pbancSn`). Referral feed `POST /api/rfrl/list` (same envelope), intake
/// `POST /api/rfrl/receive` (a JSON object of the referral's fields).
enum SEMASAPI {
    static func addRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator) {
        router.post("api/pbanc/list") { request, _ in
            await list(request, simulator: simulator, cached: true) { since, until, offset, limit in
                let page = await simulator.programPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map(item), page.total)
            }
        }
        router.post("api/rfrl/list") { request, _ in
            await list(request, simulator: simulator) { since, until, offset, limit in
                let page = await simulator.eventPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map { event in
                    Dictionary(uniqueKeysWithValues: ReferralWire.fields(event, stamp: \.dashed).map { ($0.0, $0.1 as Any? ?? NSNull()) })
                }, page.total)
            }
        }
        router.post("api/rfrl/receive") { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] else {
                return SimulatorServer.jsonResponse(["result": false, "code": "E400", "message": "요청 본문이 JSON 객체가 아닙니다"], status: .badRequest)
            }
            let fields = object.compactMapValues { $0 as? String }
            guard await simulator.receive(fields) else {
                return SimulatorServer.jsonResponse(["result": false, "code": "E400", "message": "rfrlId가 없습니다"], status: .badRequest)
            }
            return SimulatorServer.jsonResponse(["result": true])
        }
    }

    static func refusal(_ request: Request, simulator: AgencySimulator) async -> Response? {
        if request.headers[HTTPField.Name("X-Api-Key")!] != simulator.serviceKey {
            return SimulatorServer.jsonResponse(["result": false, "code": "E401", "message": "인증키가 유효하지 않습니다"], status: .unauthorized)
        }
        switch await simulator.fault() {
        case .rateLimited(let seconds): return SimulatorServer.rateLimited(seconds)
        // 소상공인24 answers its errors with HTTP 200 and `result: false`.
        case .error: return SimulatorServer.jsonResponse(["result": false, "code": "E500", "message": "일시적인 시스템 오류입니다"])
        case nil: return nil
        }
    }

    static func list(_ request: Request, simulator: AgencySimulator, cached: Bool = false,
                     page: (AgencyTimestamp?, AgencyTimestamp?, Int, Int) async -> ([[String: Any]], Int)) async -> Response {
        if let refused = await refusal(request, simulator: simulator) { return refused }
        guard let body = try? await request.body.collect(upTo: 1 << 16),
              let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] else {
            return SimulatorServer.jsonResponse(["result": false, "code": "E400", "message": "요청 본문이 JSON 객체가 아닙니다"], status: .badRequest)
        }
        let search = object["search"] as? [String: Any] ?? [:]
        let since = (search["updtDtBgng"] as? String).flatMap(AgencyTimestamp.init(parsing:))
        let until = (search["updtDtEnd"] as? String).flatMap(AgencyTimestamp.init(parsing:))
        let start = object["startRow"] as? Int ?? 0
        let end = object["endRow"] as? Int ?? start + 10
        return await SimulatorServer.listAnswer(simulator, cached: cached, since: since, until: until, offset: start, limit: max(0, end - start),
                                                contentType: "application/json;charset=UTF-8") {
            let (list, total) = await page(since, until, start, max(0, end - start))
            return Self.body(list, total: total)
        }
    }

    static func body(_ list: [[String: Any]], total: Int) -> [UInt8] {
        NativeText.json(["result": true, "data": ["default": ["total": total, "list": list]]] as [String: Any])
    }

    static func item(_ p: SimulatedProgram) -> [String: Any] {
        let provinces = p.regions.filter { $0.count == 2 }
        let districts = p.regions.filter { $0.count == 5 }
        func period(_ from: LocalDate?, _ to: LocalDate?) -> Any {
            guard from != nil || to != nil else { return NSNull() }
            return ["from": from.map { "\($0) 00:00" } as Any? ?? NSNull(), "to": to.map { "\($0) 18:00" } as Any? ?? NSNull()]
        }
        return [
            "pbancSn": Int(p.id) ?? 0,
            "pbancNm": NativeText.htmlEscaped(p.title),
            "bizYr": "2026",
            "bizPd": period(p.periodStart, p.periodEnd.map { (try? LocalDate(year: $0.year, month: 12, day: 31)) ?? $0 }),
            "rcptPd": period(p.periodStart, p.periodEnd),
            "rcrtTypeCd": p.category.rawValue,
            "aplyPsbltySe": p.isOpen ? "Y" : "N",
            "stngBgngBhisCnt": NativeText.number(p.businessAgeYears.min), "stngEndBhisCnt": NativeText.number(p.businessAgeYears.max),
            "stngBgngWrkrNope": NativeText.number(p.employees.min), "stngEndWrkrNope": NativeText.number(p.employees.max),
            "stngBgngSlsAmt": NativeText.number(p.revenueKRW.min), "stngEndSlsAmt": NativeText.number(p.revenueKRW.max),
            "ctpvCd": p.isMalformed ? "99" : (provinces.isEmpty ? NSNull() as Any : provinces.joined(separator: ",")),
            "sggCd": districts.isEmpty ? NSNull() as Any : districts.joined(separator: ","),
            "tpbizCd": p.industries.isEmpty ? NSNull() as Any : p.industries.joined(separator: "@"),
            "jrsdInsttNm": p.institution,
            "detailUrl": p.url,
            "useYn": p.isDeleted ? "N" : "Y",
            "frstRegDt": p.createdAt.dashed,
            "updtDt": p.updatedAt.dashed,
        ]
    }
}
