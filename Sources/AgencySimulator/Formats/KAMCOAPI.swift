import Foundation
import HanaroCore
import HTTPTypes
import Hummingbird
import NIOCore

/// 한국자산관리공사 — no public API: daily CSV exports over HTTPS, CP949-encoded without a BOM,
/// Korean header row, RFC 4180 quoting with embedded newlines. `GET /exports/` lists the files
/// (one name per line); `GET /exports/programs-YYYYMMDD.csv` holds the programs changed that day
/// (latest state), `GET /exports/referrals-YYYYMMDD.csv` the referral events of that day.
/// Credential: `X-KAMCO-Key`. Referral intake: `POST /intake/referrals` with an XML `<rfrl>` body,
/// answered `<result><code>00</code><message>정상 처리</message></result>`.
enum KAMCOAPI {
    /// CP949 (Windows code page 949, a superset of EUC-KR): Foundation's CFStringEncoding DOSKorean.
    static let cp949 = String.Encoding(rawValue: 0x8000_0422)

    static let programColumns = ["관리번호", "사업명", "사업내용", "지원대상", "지역코드", "업종코드", "신청시작일", "신청종료일",
                                 "지원한도금액", "금리(%)", "담당부서", "연락처", "삭제여부", "등록일시", "수정일시"]

    static func addRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator) {
        router.get("exports") { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            // Every day from 40 days ago to today has both files (possibly header-only).
            let today = await simulator.now().secondsSince1970
            var names: [String] = []
            for back in (0...40).reversed() {
                let day = AgencyTimestamp(secondsSince1970: today - Int64(back) * 86_400).digits.prefix(8)
                names.append("programs-\(day).csv")
                names.append("referrals-\(day).csv")
            }
            return await SimulatorServer.native(Array((names.joined(separator: "\r\n") + "\r\n").utf8), contentType: "text/plain;charset=UTF-8", simulator: simulator, digest: true)
        }
        router.get("exports/:file") { request, context in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(".csv"), let dash = file.firstIndex(of: "-"),
                  let day = LocalDate(parsing: String(file[file.index(after: dash)...].dropLast(4))) else {
                return Response(status: .notFound)
            }
            switch file[..<dash] {
            case "programs":
                // A day's file is a window of the program list (kept like the other agencies' pages
                // while the simulator keeps its answers).
                let start = AgencyTimestamp(day: day)
                return await SimulatorServer.listAnswer(simulator, cached: true, since: start, until: AgencyTimestamp(secondsSince1970: start.secondsSince1970 + 86_400),
                                                        offset: 0, limit: Int.max, contentType: "text/csv;charset=CP949", digest: true) {
                    let programs = await simulator.programsOfDay(day)
                    await simulator.changeServedDuringRead(programs)
                    return csv(header: programColumns, rows: programs.map(row))
                }
            case "referrals":
                let rows = await simulator.eventsOfDay(day).map { event in ReferralWire.fields(event, stamp: \.dashed).map { $0.1 ?? "" } }
                guard let body = csv(header: ReferralWire.columns, rows: rows) else { return Response(status: .internalServerError) }
                return await SimulatorServer.native(body, contentType: "text/csv;charset=CP949", simulator: simulator, digest: true)
            default:
                return Response(status: .notFound)
            }
        }
        router.post("intake/referrals") { request, _ in
            if let refused = await refusal(request, simulator: simulator) { return refused }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let fields = FlatXML.fields(of: Array(body.readableBytesView), element: "rfrl"), await simulator.receive(fields) else {
                return Response(status: .badRequest, headers: [.contentType: "application/xml"],
                                body: .init(byteBuffer: ByteBuffer(string: "<result><code>10</code><message>요청 형식 오류</message></result>")))
            }
            return Response(status: .ok, headers: [.contentType: "application/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: "<result><code>00</code><message>정상 처리</message></result>")))
        }
    }

    static func refusal(_ request: Request, simulator: AgencySimulator) async -> Response? {
        if request.headers[HTTPField.Name("X-KAMCO-Key")!] != simulator.serviceKey {
            return Response(status: .forbidden, headers: [.contentType: "text/plain;charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(string: "접근 권한이 없습니다")))
        }
        switch await simulator.fault() {
        case .rateLimited(let seconds): return SimulatorServer.rateLimited(seconds)
        case .error: return Response(status: .serviceUnavailable, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html><body>점검 중</body></html>")))
        case nil: return nil
        }
    }

    /// `50,000,000`: amounts as the export prints them.
    static func grouped(_ value: Int64) -> String {
        var digits = Array(String(value))
        var out: [Character] = []
        while digits.count > 3 {
            out = [","] + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return String(digits + out)
    }

    /// A CP949 CSV file.
    static func csv(header: [String], rows: [[String]]) -> [UInt8]? {
        let text = ([header] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
        return text.data(using: cp949).map { Array($0) }
    }

    /// RFC 4180: quote fields with commas, quotes or line breaks; double the quotes.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func row(_ p: SimulatedProgram) -> [String] {
        let amount = p.amountMaxKRW.map(grouped) ?? ""
        let rate: String = switch (p.rateBasisPoints.min, p.rateBasisPoints.max) {
        case (nil, nil): ""
        case (let low?, let high?): "\(NativeText.percent(low))~\(NativeText.percent(high))"
        case (nil, let high?): "~\(NativeText.percent(high))"
        case (let low?, nil): "\(NativeText.percent(low))~"
        }
        return [
            p.id, p.title, p.summary,
            p.targets.joined(separator: "|"),
            p.isMalformed ? "99" : p.regions.joined(separator: "|"),
            p.industries.joined(separator: "|"),
            NativeText.dotted(p.periodStart) ?? "",
            NativeText.dotted(p.periodEnd) ?? (p.periodStart == nil ? p.periodText ?? "" : ""),
            amount, rate, p.institution, p.contact,
            p.isDeleted ? "Y" : "N",
            p.createdAt.dashed, p.updatedAt.dashed,
        ]
    }
}

extension AgencySimulator {
    /// kamco's "change while paging": after a day file is served, change records it held.
    func changeServedDuringRead(_ served: [SimulatedProgram]) {
        guard faults.changeWhilePaging > 0, !served.isEmpty else { return }
        for program in served.prefix(faults.changeWhilePaging) where changeProgram(program.id) != nil { changedWhilePaging += 1 }
        faults.changeWhilePaging = 0
    }
}
