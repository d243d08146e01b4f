import AsyncHTTPClient
import Foundation
import HanaroCore
import HanaroDaemon
import Crypto
import Hummingbird
import HTTPTypes
import Synchronization
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// What the demo ends with.
struct DemoOutcome {
    var converged: Bool
    var summary: String
}

/// The demo's script: referrals that travel and come back, program changes, a partition that
/// heals, a conflict resolved by an admin, and a live freshness table; then convergence.
final class DemoScenario: @unchecked Sendable {
    let federation: DemoFederation
    /// Seconds of data changes; nil: until Ctrl-C.
    let duration: Double?
    let http: HTTPClient
    let start = Date()
    var paused = Set<AgencyID>()
    var events: [String] = []
    let terminal = isatty(STDOUT_FILENO) == 1
    var lastTableLines = 0
    var lastPrinted = Date.distantPast
    /// The last reports read, for a summary after Ctrl-C.
    var lastReports: [AgencyID: NodeStatusReport] = [:]

    init(federation: DemoFederation, duration: Double?) {
        self.federation = federation
        self.duration = duration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file("\(federation.dir)/federation-ca.pem")]
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    var elapsed: Double { Date().timeIntervalSince(start) }

    func play() async throws -> DemoOutcome {
        do {
            let outcome = try await script()
            try? await http.shutdown()
            return outcome
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func script() async throws -> DemoOutcome {
        try await waitReady()
        event("all six nodes ready; adapters reading the six agencies")

        // Referrals made by counsellors in the agencies' own systems.
        let r1 = try await createReferral(at: .semas, to: .kamco)
        let r2 = try await createReferral(at: .semas, to: .kamco)
        let r3 = try await createReferral(at: .koreg, to: .kinfa)
        let r4 = try await createReferral(at: .kinfa, to: .ewpc)
        event("counsellors referred owners: semas→kamco (\(r1), \(r2)), koreg→kinfa (\(r3)), kinfa→ewpc (\(r4))")
        try await until("the referrals reach their targets' intakes", timeout: 45) {
            let kamco = try await self.intake(.kamco), kinfa = try await self.intake(.kinfa), ewpc = try await self.intake(.ewpc)
            return kamco[r1] != nil && kamco[r2] != nil && kinfa[r3] != nil && ewpc[r4] != nil
        }
        event("kamco, kinfa and ewpc received them at their intakes (personal fields only at the consented target)")
        try await setStatus(at: .kamco, r1, "received", note: "상담 예약 완료")
        try await setStatus(at: .ewpc, r4, "in_consultation", note: "취업 상담 진행")
        try await until("kamco's status change reaches semas's system", timeout: 45) {
            (try await self.intake(.semas))[r1]?["status"] as? String == "received"
        }
        event("kamco's status change came back to semas's system: \(r1) received")
        try await agencyAPI()

        // A partition: semas and kamco cut off from everyone. While they are apart, semas's
        // counsellor withdraws a referral that kamco's counsellor decides to support; when they
        // come back, each node records its own agency's decision before it hears of the other's,
        // and the two outcomes collide. (Pausing the processes is a partition that leaks nothing:
        // no node commits while paused, so no long-poll answer can carry news across.)
        var conflictID = ""
        var keep = ""
        var contested = r2
        for attempt in 1...3 {
            let key = "referral/semas/\(contested)"
            pause(.semas)
            pause(.kamco)
            try await setStatus(at: .kamco, contested, "supported", note: "채무조정 지원 결정")
            try await setStatus(at: .semas, contested, "withdrawn", note: "본인 요청으로 철회")
            event("partition: semas and kamco cut off; kamco's counsellor supports \(contested) while semas's withdraws it")
            try await Task.sleep(for: .milliseconds(2500))
            resume(.semas)
            resume(.kamco)
            event("partition healed")
            var quarantined = false
            var settledSince: Date?
            try await until("the collision is detected (or one decision refused)", timeout: 45) {
                let (code, body) = await AdminClient.send(.GET, .socket(self.federation.socket(.semas)), "/admin/conflicts?state=open")
                if code == 200, let entries = try? AdminWire.decoder.decode([ConflictView].self, from: body), let entry = entries.first(where: { $0.record == key }) {
                    conflictID = entry.id
                    keep = entry.versions.first { $0.hasPrefix("kamco:") } ?? ""
                    return !conflictID.isEmpty && !keep.isEmpty
                }
                // One node heard the other's outcome first: its own is refused (an outcome cannot
                // follow an outcome) and held in quarantine — no conflict this time.
                // Both nodes agree on one outcome and no conflict appeared for 3 s: that one.
                let atSemas = try await self.recordStatus(.semas, key)
                let atKamco = try await self.recordStatus(.kamco, key)
                if atSemas == atKamco, ["supported", "withdrawn"].contains(atSemas ?? "") {
                    settledSince = settledSince ?? Date()
                } else {
                    settledSince = nil
                }
                quarantined = settledSince.map { Date().timeIntervalSince($0) > 3 } ?? false
                return quarantined
            }
            if !conflictID.isEmpty { break }
            event("attempt \(attempt): one node heard the other's decision first and refused its own (held in quarantine); trying again")
            if attempt == 3 { break }
            contested = try await createReferral(at: .semas, to: .kamco)
            try await until("the new referral reaches kamco's intake", timeout: 45) { (try await self.intake(.kamco))[contested] != nil }
        }
        if !conflictID.isEmpty {
            event("conflict \(conflictID) on \(contested): withdrawn (semas) vs supported (kamco), logged on every node")
            let (code, body) = await AdminClient.send(.POST, .socket(federation.socket(.semas)), "/admin/conflicts/\(conflictID)/resolve", body: ResolveRequest(keep: keep))
            guard code == 200 else { throw DemoError("resolving \(conflictID) failed: \(AdminClient.message(body))") }
            event("an admin at semas resolved conflict \(conflictID): kept kamco's outcome (supported); the resolution replicates")
        }

        // Programs keep changing at the agencies until the end.
        var round = 0
        while !DemoStop.isRequested && (duration.map { elapsed < $0 } ?? true) {
            let agency = AgencyID.allCases[round % 6]
            _ = try? await control(.POST, agency, "/_sim/programs")
            round += 1
            await render()
            try await Task.sleep(for: .milliseconds(700))
        }
        event("\(round) programs published during the run; waiting for every node to converge")
        return try await finish(resolved: conflictID)
    }

    // MARK: - Convergence and summary

    func finish(resolved conflictID: String) async throws -> DemoOutcome {
        var reports: [AgencyID: NodeStatusReport] = [:]
        var converged = false
        var stableRounds = 0
        let deadline = Date().addingTimeInterval(DemoStop.isRequested ? 0 : 30)
        if DemoStop.isRequested { reports = lastReports }
        while Date() < deadline, !DemoStop.isRequested {
            reports = await statuses()
            let digests = Set(reports.values.map(\.replica.digest))
            let pending = reports.values.flatMap(\.agencies).compactMap(\.pendingOutbound).reduce(0, +)
            let fresh = reports.values.allSatisfy { $0.agencies.allSatisfy { $0.state == .fresh } }
            stableRounds = (reports.count == 6 && digests.count == 1 && pending == 0 && fresh) ? stableRounds + 1 : 0
            await render(reports)
            if stableRounds >= 3 { converged = true; break }
            try await Task.sleep(for: .seconds(1))
        }
        let intakes = (try? await intakeTotal()) ?? 0
        federation.stop()
        let exits = federation.nodeExitStatuses()
        let clean = exits.values.allSatisfy { $0 == 0 }
        var lines = ["", "summary after \(Int(elapsed)) s:"]
        for agency in AgencyID.allCases {
            guard let report = reports[agency] else { lines.append("  \(agency.rawValue): no report"); continue }
            lines.append("  \(agency.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(report.replica.programs) programs, \(report.replica.referrals) referrals, \(report.replica.openConflicts) open conflicts, \(report.replica.quarantined) quarantined, digest \(report.replica.digest.prefix(16)), exit \(exits[agency] ?? -1)")
        }
        lines.append("  referrals delivered to intakes: \(intakes); conflict resolved by an admin: \(conflictID.isEmpty ? "no" : conflictID); partition healed: yes")
        let logs = AgencyID.allCases.compactMap { agency in reports[agency]?.log.map { "\(agency.rawValue) \($0.checkpointSize ?? 0)/\($0.size) leaves, \($0.cosignedBy.count) cosigners" } }
        let equivocations = reports.values.compactMap(\.log?.equivocations).reduce(0, +)
        lines.append("  transparency logs (checkpointed/leaves, witnesses' cosignatures): \(logs.joined(separator: "; ")); equivocations: \(equivocations)")
        lines.append("  graceful shutdown: \(clean ? "every node exited 0 on SIGTERM" : "some node did not exit cleanly (see its log)")")
        if converged, let digest = reports.values.first?.replica.digest {
            lines.append("converged: all six nodes hold digest \(digest.prefix(16)), every agency fresh, nothing pending")
        } else {
            lines.append("NOT converged: digests \(Set(reports.values.map { String($0.replica.digest.prefix(16)) }).sorted())")
        }
        return DemoOutcome(converged: converged && clean, summary: lines.joined(separator: "\n"))
    }

    // MARK: - The live table

    func render(_ given: [AgencyID: NodeStatusReport]? = nil) async {
        if !terminal, Date().timeIntervalSince(lastPrinted) < 5, given == nil { return }
        let reports: [AgencyID: NodeStatusReport]
        if let given { reports = given } else { reports = await statuses() }
        var lines = [String(format: "t=%3.0fs  node    programs referrals conflicts  ", elapsed)
            + AgencyID.allCases.map { $0.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) }.joined() + "digest"]
        for node in AgencyID.allCases {
            guard let report = reports[node] else {
                lines.append("        \(node.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(paused.contains(node) ? "‖ paused (partition)" : "…")")
                continue
            }
            let cells = AgencyID.allCases.map { agency -> String in
                let state = report.agencies.first { $0.agency == agency.rawValue }?.state ?? .never
                let symbol = switch state {
                case .fresh: "●"
                case .stale: "◐"
                case .failing: "✕"
                case .degraded: "◒"
                case .never: "○"
                }
                return symbol.padding(toLength: 6, withPad: " ", startingAt: 0)
            }.joined()
            lines.append("        \(node.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                + String(report.replica.programs).padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(report.replica.referrals).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(report.replica.openConflicts).padding(toLength: 11, withPad: " ", startingAt: 0)
                + cells + String(report.replica.digest.prefix(12)))
        }
        lines.append("        ● fresh  ◐ stale  ◒ degraded  ✕ failing  ○ never   (each node's view of each agency)")
        if terminal, lastTableLines > 0 { Output.write("\u{1B}[\(lastTableLines)A\u{1B}[J") }
        Output.line(lines.joined(separator: "\n"))
        lastTableLines = terminal ? lines.count : 0
        lastPrinted = Date()
    }

    func event(_ text: String) {
        if terminal, lastTableLines > 0 { Output.write("\u{1B}[\(lastTableLines)A\u{1B}[J") }
        lastTableLines = 0
        Output.line(String(format: "[%5.1fs] ", elapsed) + text)
    }

    // MARK: - Talking to the processes

    func statuses() async -> [AgencyID: NodeStatusReport] {
        var out: [AgencyID: NodeStatusReport] = [:]
        for agency in AgencyID.allCases where !paused.contains(agency) {
            var request = HTTPClientRequest(url: federation.statusURL(agency) + "/status")
            request.method = .GET
            guard let response = try? await http.execute(request, timeout: .seconds(2)),
                  let body = try? await response.body.collect(upTo: 1 << 20),
                  let report = try? NodeStatusReport.decoder.decode(NodeStatusReport.self, from: Data(body.readableBytesView)) else { continue }
            out[agency] = report
        }
        if out.count == 6 { lastReports = out }
        return out
    }

    func waitReady() async throws {
        try await until("all six nodes report ready", timeout: 60) {
            let reports = await self.statuses()
            return reports.count == 6 && reports.values.allSatisfy(\.ready)
        }
    }

    /// kamco's own systems on its Agency API: a search, an eligibility answer, and a webhook for
    /// the next referral, delivered to a receiver the demo runs (which checks the signature).
    func agencyAPI() async throws {
        let receiver = try await DemoWebhookReceiver.start()
        defer { Task { await receiver.stop() } }
        let subscription = try await api(.POST, "/v1/subscriptions", body: ["url": receiver.url, "events": ["referral.received"]])
        guard let secret = subscription["secret"] as? String else { throw DemoError("kamco's Agency API made no subscription: \(subscription)") }
        receiver.secret.withLock { $0 = secret }
        let query = "창업".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let found = try await api(.GET, "/v1/programs?q=\(query)&limit=3")
        let first = (found["items"] as? [[String: Any]])?.first
        event("kamco's Agency API: search 창업 → \(first.map { "\($0["agency"] ?? "")/\($0["id"] ?? "") \($0["title"] ?? "")" } ?? "nothing yet")\((found["next_cursor"] is String) ? " (and more)" : "")")
        let answer = try await api(.POST, "/v1/eligibility", body: ["profile": ["region": "42", "business_age_months": 18, "owner_age": 35], "include": "all", "limit": 1])
        let counts = answer["counts"] as? [String: Any] ?? [:]
        event("eligibility of a 강원 business, 18 months old, owner 35 (rules \(answer["rules_version"] ?? "?")): \(counts["eligible"] ?? 0) eligible, \(counts["unknown"] ?? 0) unknown (facts missing), \(counts["ineligible"] ?? 0) ineligible")
        let referral = try await createReferral(at: .semas, to: .kamco)
        try await until("the webhook for \(referral) reaches the receiver", timeout: 45) { receiver.delivered.withLock { $0.contains { $0.contains(referral) } } }
        let verified = receiver.verified.withLock { $0 }
        event("webhook delivered to kamco's receiver: referral.received semas:\(referral) (Standard Webhooks signature \(verified > 0 ? "verified" : "NOT verified"))")
        // The receiver stops with this step: its subscription goes first, or kamco would keep
        // retrying a dead URL for a day.
        if let id = subscription["id"] as? String { _ = try? await api(.DELETE, "/v1/subscriptions/\(id)") }
    }

    func api(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: federation.apiURL + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(federation.apiToken)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(try JSONSerialization.data(withJSONObject: body))))
        }
        let response = try await http.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
    }

    func control(_ method: HTTPMethod, _ agency: AgencyID, _ path: String, body: [String: Any]? = nil) async throws -> Any? {
        var request = HTTPClientRequest(url: federation.simulatorURL(agency) + path)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(bytes: Array(try JSONSerialization.data(withJSONObject: body)))) }
        let response = try await http.execute(request, timeout: .seconds(5))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw DemoError("\(agency.rawValue) simulator answered \(response.status.code) to \(path)")
        }
        return try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
    }

    func createReferral(at origin: AgencyID, to target: AgencyID) async throws -> String {
        let answer = try await control(.POST, origin, "/_sim/referrals", body: ["target": target.rawValue]) as? [String: Any]
        guard let id = answer?["referral_id"] as? String else { throw DemoError("the \(origin.rawValue) simulator made no referral") }
        return id
    }

    func setStatus(at agency: AgencyID, _ referral: String, _ status: String, note: String) async throws {
        _ = try await control(.POST, agency, "/_sim/referrals/\(referral)/status", body: ["status": status, "note": note])
    }

    func intake(_ agency: AgencyID) async throws -> [String: [String: Any]] {
        (try await control(.GET, agency, "/_sim/intake") as? [String: [String: Any]]) ?? [:]
    }

    func intakeTotal() async throws -> Int {
        var total = 0
        for agency in AgencyID.allCases { total += try await intake(agency).count }
        return total
    }

    func recordStatus(_ node: AgencyID, _ key: String) async throws -> String? {
        let (code, body) = await AdminClient.send(.GET, .socket(federation.socket(node)), "/admin/record?key=\(key.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? key)")
        return code == 200 ? (try? AdminWire.decoder.decode(RecordView.self, from: body))?.status : nil
    }

    func pause(_ agency: AgencyID) {
        federation.partition(agency)
        paused.insert(agency)
    }

    func resume(_ agency: AgencyID) {
        federation.heal(agency)
        paused.remove(agency)
    }

    /// Polls `condition` (rendering the table meanwhile) until it holds.
    func until(_ what: String, timeout: Double, _ condition: @escaping () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if DemoStop.isRequested { throw DemoError("interrupted (Ctrl-C) while waiting until \(what); every process was stopped") }
            if (try? await condition()) == true { return }
            await render()
            try await Task.sleep(for: .milliseconds(300))
        }
        throw DemoError("timed out after \(Int(timeout)) s waiting until \(what); the logs are in \(federation.dir) (run with --keep)")
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The demo's webhook receiver (in this process, on a port the kernel picks): it checks each
/// delivery's `v1` signature as a receiver should, and keeps the bodies.
final class DemoWebhookReceiver: Sendable {
    let url: String
    let secret = Mutex("")
    let delivered = Mutex<[String]>([])
    let verified = Mutex(0)
    let task: Task<Void, Never>

    private init(url: String, task: Task<Void, Never>) {
        self.url = url
        self.task = task
    }

    static func start() async throws -> DemoWebhookReceiver {
        let port = Mutex(0)
        let box = Mutex<DemoWebhookReceiver?>(nil)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            var request = request
            let body = Array((try await request.collectBody(upTo: 1 << 16)).readableBytesView)
            guard let receiver = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let timestamp = request.headers[HTTPField.Name("webhook-timestamp")!] ?? ""
            let signatures = (request.headers[HTTPField.Name("webhook-signature")!] ?? "").split(separator: " ")
            let secret = receiver.secret.withLock { $0 }
            if let key = Data(base64Encoded: String(secret.dropFirst(6))) {
                let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + body, using: SymmetricKey(data: key))
                if signatures.contains(where: { $0 == "v1," + Data(mac).base64EncodedString() }) { receiver.verified.withLock { $0 += 1 } }
            }
            receiver.delivered.withLock { $0.append(String(decoding: body, as: UTF8.self)) }
            return Response(status: .noContent)
        }
        let ready = AsyncStream<Int>.makeStream()
        // Quiet: stopping it when the demo ends is not worth a log line (Hummingbird reports the
        // cancelled child channel at error level).
        var logger = Logger(label: "demo-webhooks")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "demo-webhooks"),
                              onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { do { try await app.runService(gracefulShutdownSignals: []) } catch {} }
        var iterator = ready.stream.makeAsyncIterator()
        let bound = await iterator.next() ?? 0
        port.withLock { $0 = bound }
        let receiver = DemoWebhookReceiver(url: "http://127.0.0.1:\(bound)/hook", task: task)
        box.withLock { $0 = receiver }
        return receiver
    }

    func stop() async {
        task.cancel()
        _ = await task.value
    }
}
