import Foundation
import HanaroCore
import Hummingbird
import NIOCore

/// 신용보증기금 — odcloud-style JSON with Korean keys: `GET /api/15049544/v1/programs?page=1&perPage=100`
/// answered `{"page":1,"perPage":100,"totalCount":N,"currentCount":n,"matchCount":N,"data":[...]}`,
/// credential `Authorization: Infuser KEY`, incremental by odcloud conditions
/// `cond[수정일시::GTE]` / `cond[수정일시::LT]` (`yyyyMMddHHmmss`). Multi-values joined with `||`.
/// Referral feed `GET /api/15049544/v1/referral-events` (same envelope), intake
/// `POST /api/15049544/v1/referral-intake` (JSON object).
enum KODITAPI {
    static func addRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator) {
        router.get("api/15049544/v1/programs") { request, _ in
            await list(request, simulator: simulator, cached: true) { since, until, offset, limit in
                let page = await simulator.programPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map(item), page.total)
            }
        }
        router.get("api/15049544/v1/referral-events") { request, _ in
            await list(request, simulator: simulator) { since, until, offset, limit in
                let page = await simulator.eventPage(since: since, until: until, offset: offset, limit: limit)
                return (page.items.map { event in
                    Dictionary(uniqueKeysWithValues: ReferralWire.fields(event, stamp: \.digits).map { ($0.0, $0.1 as Any? ?? NSNull()) })
                }, page.total)
            }
        }
        router.post("api/15049544/v1/referral-intake") { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any],
                  await simulator.receive(object.compactMapValues { $0 as? String }) else {
                return SimulatorServer.jsonResponse(["code": -400, "msg": "잘못된 요청입니다"], status: .badRequest)
            }
            return SimulatorServer.jsonResponse(["code": 0, "msg": "정상"])
        }
    }

    static func refusal(_ request: Request, simulator: AgencySimulator) async -> Response? {
        if request.headers[.authorization] != "Infuser \(simulator.serviceKey)" {
            return SimulatorServer.jsonResponse(["code": -4, "msg": "등록되지 않은 인증키 입니다."], status: .unauthorized)
        }
        switch await simulator.fault() {
        case .rateLimited(let seconds): return SimulatorServer.rateLimited(seconds)
        case .error: return SimulatorServer.jsonResponse(["code": -5, "msg": "일시적인 서버 오류입니다."], status: .internalServerError)
        case nil: return nil
        }
    }

    static func list(_ request: Request, simulator: AgencySimulator, cached: Bool = false,
                     page: (AgencyTimestamp?, AgencyTimestamp?, Int, Int) async -> ([[String: Any]], Int)) async -> Response {
        if let refused = await refusal(request, simulator: simulator) { return refused }
        let query = NativeText.query(request.uri.description)
        let perPage = max(1, Int(query["perPage"] ?? "10") ?? 10)
        let pageNumber = max(1, Int(query["page"] ?? "1") ?? 1)
        let since = query["cond[수정일시::GTE]"].flatMap(AgencyTimestamp.init(parsing:))
        let until = query["cond[수정일시::LT]"].flatMap(AgencyTimestamp.init(parsing:))
        return await SimulatorServer.listAnswer(simulator, cached: cached, since: since, until: until, offset: (pageNumber - 1) * perPage, limit: perPage,
                                                contentType: "application/json;charset=UTF-8") {
            let (data, total) = await page(since, until, (pageNumber - 1) * perPage, perPage)
            return body(data, total: total, page: pageNumber, perPage: perPage)
        }
    }

    static func body(_ data: [[String: Any]], total: Int, page: Int, perPage: Int) -> [UInt8] {
        NativeText.json(["page": page, "perPage": perPage, "totalCount": total, "currentCount": data.count, "matchCount": total, "data": data] as [String: Any])
    }

    static func item(_ p: SimulatedProgram) -> [String: Any] {
        let period: String = if p.periodStart != nil || p.periodEnd != nil {
            "\(p.periodStart.map(\.description) ?? "")~\(p.periodEnd.map(\.description) ?? "")"
        } else { p.periodText ?? "" }
        return [
            "서비스ID": p.id,
            "서비스명": NativeText.htmlEscaped(p.title),
            "지원내용": NativeText.htmlEscaped(p.summary.split(separator: "\n").joined(separator: "||")),
            "지원대상": p.targets.isEmpty ? NSNull() as Any : p.targets.joined(separator: "||"),
            "선정기준": "보증심사 기준에 따름",
            "신청기한": period.isEmpty ? NSNull() as Any : period,
            "소관기관명": p.institution,
            "상세조회URL": p.url,
            "전화문의": p.contact,
            "지원분야": p.category.koreanName,
            "지원한도": NativeText.number(p.amountMaxKRW),
            "지역코드": p.regions.isEmpty ? NSNull() as Any : p.regions.joined(separator: "||"),
            "업종코드": p.isMalformed ? "Z9" : (p.industries.isEmpty ? NSNull() as Any : p.industries.joined(separator: "||")),
            "사용여부": p.isDeleted ? "N" : "Y",
            "등록일시": p.createdAt.digits,
            "수정일시": p.updatedAt.digits,
        ]
    }
}
