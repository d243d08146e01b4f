import Foundation
import HanaroCore
import HanaroTesting
import Testing

/// Starts `hanaro simulate` on a port the kernel picks and returns it with that port, once it listens.
func startSimulator(_ agency: AgencyID, programs: Int, dir: String) async throws -> (ChildProcess, Int) {
    let process = try ChildProcess(Hanaro.executable, ["simulate", "--agency", agency.rawValue, "--listen", "127.0.0.1:0", "--programs", String(programs)],
                                   logPath: "\(dir)/sim-\(agency.rawValue).log")
    guard let line = await process.line(where: { $0.hasPrefix("simulating") }),
          let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)/).flatMap({ Int($0.1) }) else {
        throw ProcessFailure("the simulator did not start: \(process.output)")
    }
    return (process, port)
}

/// A plain HTTP request through curl (a real client from outside the process; .ci/run installs it).
func http(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) throws -> (Int, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url]
    for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
    if let body { arguments += ["-d", body] }
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard let split = text.lastIndex(of: "\n") else { return (0, text) }
    return (Int(text[text.index(after: split)...]) ?? 0, String(text[..<split]))
}

/// The response headers of a GET with a bearer token (curl -D -).
func curlHeaders(_ url: String, token: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-o", "/dev/null", "-D", "-", "-H", "Authorization: Bearer \(token)", url]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Polls an outside process until `condition` holds (bounded): for states that come about over
/// time (a poll, a scrape), not for readiness, which is awaited on the process's ready line.
func eventually(_ seconds: Double = 30, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(200))
    }
    return false
}

/// The operator surface, from outside the process: a real `hanaro serve` with the kamco adapter
/// reading a real `hanaro simulate` process; the status port over HTTP; the admin API over its
/// socket and with a bearer token; the CLI's exit codes.
@Suite("Operator surface", .serialized)
struct OperatorTests {
    let token = "s3cret-token-0123456789abcdef"

    func kamcoNode(staleAfter: String = "5m", poll: String = "1s") async throws -> (Federation, ChildProcess, ChildProcess, Int) {
        let scratch = TemporaryDirectory("sim")
        let (simulator, simulatorPort) = try await startSimulator(.kamco, programs: 300, dir: scratch.path)
        let federation = try Federation(
            agencies: [.kamco],
            agencyExtra: [.kamco: "adapter:\n  base_url: http://127.0.0.1:\(simulatorPort)\n  service_key: demo-key\n  poll_interval: \(poll)\n  page_size: 100\n  referral_events: true"],
            staleAfter: staleAfter, nodeExtra: "  admin_token_file: token.txt")
        FileManager.default.createFile(atPath: "\(federation.dir)/token.txt", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        let node = try await federation.start(.kamco)
        return (federation, simulator, node, simulatorPort)
    }

    @Test("status port: healthz, readyz, status and metrics over HTTP; admin refuses the unauthenticated; resync --full keeps counts and digest")
    func statusPortAndAdmin() async throws {
        let (federation, simulator, node, simulatorPort) = try await kamcoNode()
        defer { federation.remove() }
        let status = federation.statusURL(.kamco)
        #expect(await eventually { (try? http("GET", status + "/readyz").0) == 200 })
        #expect(try http("GET", status + "/healthz").0 == 200)
        // The adapter reads the simulator's 300 programs; the agency becomes fresh.
        #expect(await eventually { (try? http("GET", status + "/status").1.contains("\"programs\" : 300")) == true })
        #expect(await eventually { (try? Hanaro.run(["status", "--config", federation.config(.kamco), "--status-url", federation.statusURL(.kamco)]).status) == 0 })
        // A referral with known personal fields: they must never reach the status port.
        let referral = try http("POST", "http://127.0.0.1:\(simulatorPort)/_sim/referrals",
                                body: #"{"target":"semas","fields":{"ownrNm":"홍길동","mblTelno":"010-9876-5432"}}"#)
        #expect(referral.0 == 201)
        #expect(await eventually { (try? http("GET", status + "/status").1.contains("\"referrals\" : 1")) == true })
        let (code, body) = try http("GET", status + "/status")
        #expect(code == 200)
        for field in ["\"state\" : \"fresh\"", "\"last_success_at\"", "\"lag_seconds\"", "\"consecutive_failures\"", "\"pending_outbound\"", "\"cert_expires_at\"", "\"open_conflicts\"", "\"quarantined\""] {
            #expect(body.contains(field), "missing \(field)")
        }
        let metrics = try http("GET", status + "/metrics").1
        for text in [body, metrics, try String(contentsOfFile: "\(federation.dir)/kamco.log", encoding: .utf8)] {
            #expect(!text.contains("홍길동") && !text.contains("010-9876-5432"))
        }
        #expect(metrics.contains("hanaro_agency_state{agency=\"kamco\",state=\"fresh\"} 1"))
        // promtool agrees the exposition is valid.
        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        promtool.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = output
        promtool.standardError = output
        try promtool.run()
        input.fileHandleForWriting.write(Data(metrics.utf8))
        try input.fileHandleForWriting.close()
        let verdict = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        promtool.waitUntilExit()
        #expect(promtool.terminationStatus == 0, "promtool check metrics: \(verdict)")

        // Admin over the status port: refused without or with a wrong token, allowed with it.
        #expect(try http("POST", status + "/admin/resync", body: #"{"agency":"kamco"}"#).0 == 401)
        #expect(try http("POST", status + "/admin/resync", headers: ["Authorization": "Bearer wrong"], body: #"{"agency":"kamco"}"#).0 == 401)
        #expect(try http("POST", status + "/admin/resync", headers: ["Authorization": "Bearer \(token)"], body: #"{"agency":"kamco"}"#).0 == 202)
        // The socket is owner-only.
        let mode = try FileManager.default.attributesOfItem(atPath: federation.socket(.kamco))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(await eventually { (try? http("GET", status + "/metrics").1.contains("hanaro_admin_actions_total{action=\"resync\",outcome=\"refused\"} 2")) == true })

        // A full resync on the populated replica: counts and digest unchanged.
        let before = try http("GET", status + "/status").1
        let resync = try Hanaro.run(["resync", "kamco", "--full", "--wait", "--config", federation.config(.kamco)])
        #expect(resync.status == 0, "\(resync.stderr)")
        let lines = resync.stdout.split(separator: "\n")
        let beforeLine = lines.first { $0.hasPrefix("before:") }.map { $0.dropFirst("before:".count).trimmingCharacters(in: .whitespaces) }
        let afterLine = lines.first { $0.hasPrefix("after:") }.map { $0.dropFirst("after:".count).trimmingCharacters(in: .whitespaces) }
        #expect(beforeLine != nil && beforeLine == afterLine, "\(resync.stdout)")
        #expect(beforeLine?.contains("300 programs, 1 referrals") == true)
        #expect(resync.stdout.contains("items"), "plain progress lines when not on a terminal")
        // The status port already shows it finished when --wait returns (no second's lag).
        let right = try http("GET", status + "/status").1
        #expect(right.contains("\"resync_running\" : false") && !right.contains("\"resync_running\" : true"), "\(right)")
        #expect(await eventually {
            guard let after = try? http("GET", status + "/status").1 else { return false }
            return Self.digest(after) == Self.digest(before)
        })
        // Every admin action, allowed or refused, is in the hash-chained audit log.
        let audit = try Hanaro.run(["audit", "verify", "--config", federation.config(.kamco)])
        #expect(audit.status == 0 && audit.stdout.contains("intact"))
        let conflicts = try Hanaro.run(["conflicts", "list", "--config", federation.config(.kamco)])
        #expect(conflicts.status == 0 && conflicts.stdout.contains("no open conflicts"))
        await node.terminate()
        await simulator.terminate()
    }

    @Test("hanaro status: exit 1 with a stale agency, 2 with no node")
    func statusExitCodes() async throws {
        // No node at all.
        let none = try Hanaro.run(["status", "--status-url", "http://127.0.0.1:\(freePort())"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("cannot reach"))
        // A node whose only agency was read once and then not again within stale_after.
        let (federation, simulator, node, _) = try await kamcoNode(staleAfter: "2s", poll: "1h")
        defer { federation.remove() }
        #expect(await eventually { (try? http("GET", federation.statusURL(.kamco) + "/status").1.contains("\"state\" : \"stale\"")) == true })
        let stale = try Hanaro.run(["status", "--config", federation.config(.kamco), "--status-url", federation.statusURL(.kamco)])
        #expect(stale.status == 1)
        #expect(stale.stdout.contains("STALE"))
        let json = try Hanaro.run(["status", "--json", "--config", federation.config(.kamco), "--status-url", federation.statusURL(.kamco)])
        #expect(json.status == 1 && json.stdout.contains("\"node\" : \"kamco\""))
        // Piped into a reader that leaves early: an exit status, never a signal.
        let arguments = ["status", "--json", "--config", federation.config(.kamco), "--status-url", federation.statusURL(.kamco)]
        let closed = try Hanaro.runIntoClosedPipe(arguments)
        #expect(closed.reason == .exit && closed.status <= 1, "\(closed)")
        let head = try Hanaro.runIntoHead(arguments)
        #expect(head.status <= 1 && head.head == String(json.stdout.prefix(10)), "\(head)")
        await node.terminate()
        await simulator.terminate()
    }

    @Test("ops: alert rules use only declared metric names and pass promtool test rules")
    func alertRules() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let metricsSource = try String(contentsOfFile: "\(root)/Sources/HanaroDaemon/Status/Metrics.swift", encoding: .utf8)
        let declared = Set(metricsSource.matches(of: /"(hanaro_[a-z_]+)"/).map { String($0.1) })
        let rules = try String(contentsOfFile: "\(root)/ops/prometheus/alerts.yml", encoding: .utf8)
        let used = Set(rules.matches(of: /(hanaro_[a-z_]+)/).map { String($0.1) })
        #expect(!used.isEmpty)
        #expect(used.subtracting(declared).isEmpty, "undeclared: \(used.subtracting(declared))")
        // Every alert names a runbook that exists.
        let alerts = rules.matches(of: /- alert: (\w+)/).map { String($0.1) }
        let runbooks = rules.matches(of: /runbook_url: \S+\/runbooks\/(\w+)\.md/).map { String($0.1) }
        #expect(alerts == runbooks && !alerts.isEmpty, "\(alerts) vs \(runbooks)")
        for name in runbooks { #expect(FileManager.default.fileExists(atPath: "\(root)/ops/runbooks/\(name).md"), "no runbook for \(name)") }
        for arguments in [["check", "rules", "\(root)/ops/prometheus/alerts.yml"], ["test", "rules", "\(root)/ops/prometheus/alerts_test.yml"]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: "\(root)/ops/prometheus")
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "promtool \(arguments.joined(separator: " ")): \(text)")
        }
    }

    @Test("ops: the systemd unit passes systemd-analyze verify")
    func systemdUnit() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        // The unit names /usr/local/bin/hanaro; verify it against the binary just built.
        let unit = try String(contentsOfFile: "\(root)/ops/systemd/hanaro.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/hanaro", with: Hanaro.executable.path)
        let dir = NSTemporaryDirectory() + "hanaro-unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try unit.write(toFile: "\(dir)/hanaro.service", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["verify", "\(dir)/hanaro.service"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "systemd-analyze verify: \(text)")
        #expect(!text.contains("hanaro.service:"), "warnings about the unit: \(text)")
    }

    static func digest(_ status: String) -> String? {
        status.firstMatch(of: /"digest" : "([0-9a-f]+)"/).map { String($0.1) }
    }

}
