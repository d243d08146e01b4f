import Foundation
import HanaroCore
import HanaroFederation
import HanaroStore
import HanaroTesting
import NIOCore
import Testing

/// Sockets opened and left hanging, from outside the node: idle TCP, a TLS record header and
/// nothing more, half a request head. Non-blocking, so that a full accept queue never stalls the test.
final class HangingSockets {
    private(set) var descriptors: [Int32] = []

    /// Opens `count` connections to 127.0.0.1:`port`, writing `prefix` on each (nothing if empty).
    func open(_ count: Int, port: Int, prefix: [UInt8] = []) {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            descriptors.append(fd)
        }
        guard !prefix.isEmpty else { return }
        // Give the connects a moment to complete, then send what each sends before it stalls.
        usleep(200_000)
        for fd in descriptors.suffix(count) { _ = prefix.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    }

    func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }

    deinit { closeAll() }
}

/// The node under abuse, as a real process with few file descriptors: it keeps serving its
/// probes and its peers.
@Suite("Hardening", .serialized)
struct HardeningTests {
    /// How long a request takes, through curl (a real client from outside), and its status.
    static func timed(_ url: String) throws -> (Int, Duration) {
        let start = ContinuousClock.now
        let (code, _) = try http("GET", url)
        return (code, ContinuousClock.now - start)
    }

    @Test("600 idle TCP connections and 100 stalled TLS handshakes on the federation port, 300 half-sent heads on the status port, under nofile=512: probes answer within a second, a peer's pull succeeds, the node lives")
    func connectionFloods() async throws {
        let federation = try Federation(agencies: [.semas, .kodit])
        defer { federation.remove() }
        let node = try ChildProcess(URL(fileURLWithPath: "/usr/bin/prlimit"),
                                    ["--nofile=512:512", Hanaro.executable.path, "serve", "--config", federation.config(.semas), "--log-level", "error"],
                                    logPath: "\(federation.dir)/semas.log")
        guard let ready = await node.line(where: { $0.hasPrefix("hanaro: ready:") }),
              let statusPort = ready.firstMatch(of: /status [0-9.]+:(\d+)/).flatMap({ Int($0.1) }) else {
            throw ProcessFailure("the node did not start: \(node.output)")
        }
        let status = "http://127.0.0.1:\(statusPort)"
        let federationPort = federation.ports[.semas]!
        let sockets = HangingSockets()
        // When 600 idle connections and 100 stalled TLS handshakes (a record header, then silence)
        // hold the federation port, and 300 connections send half a request head to the status port,
        sockets.open(600, port: federationPort)
        sockets.open(100, port: federationPort, prefix: [0x16, 0x03, 0x01, 0x02, 0x00])
        sockets.open(300, port: statusPort, prefix: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8))
        // Then the probes answer within a second,
        for path in ["/healthz", "/readyz"] {
            let (code, took) = try Self.timed(status + path)
            #expect(code == 200, "\(path)")
            #expect(took < .seconds(1), "\(path) took \(took)")
        }
        // a configured peer pulls (its fresh connection takes the place of the oldest pending one),
        let tls = try TLSMaterial(certificatePath: "\(federation.dir)/kodit.pem", keyPath: "\(federation.dir)/kodit-key.pem", caPath: "\(federation.dir)/federation-ca.pem")
        let client = PeerClient(tls: tls, requestTimeout: .seconds(10))
        let pulled = try await client.pull(from: "https://127.0.0.1:\(federationPort)", after: .firstContact, limit: 10, waitMilliseconds: 0)
        if case .reset = pulled { Issue.record("a first contact cannot be reset") }
        await client.shutdown()
        // and the node is alive, with the floods counted.
        #expect(node.isRunning, "\(node.output)")
        let metrics = try http("GET", status + "/metrics").1
        #expect(metrics.contains("hanaro_connections_evicted_total{listener=\"federation\"}"))
        sockets.closeAll()
        let stopped = await node.terminate()
        #expect(stopped.reason == .exit && stopped.status == 0, "\(node.output)")
    }

    /// The resident set of a process, in KiB (`VmRSS` in /proc).
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let match = text.firstMatch(of: /VmRSS:\s+(\d+) kB/) else { return nil }
        return Int(match.1)
    }

    /// A push from `agency`'s certificate through curl (a real TLS client from outside); the HTTP status.
    static func push(_ body: String, as agency: AgencyID, in federation: Federation, port: Int) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60",
                             "--cert", "\(federation.dir)/\(agency.rawValue).pem", "--key", "\(federation.dir)/\(agency.rawValue)-key.pem",
                             "--cacert", "\(federation.dir)/federation-ca.pem", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", "@" + body, "https://127.0.0.1:\(port)/v1/push"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Int(text) ?? 0
    }

    @Test("three pushes of 300,000 bad frames and a stream of refused batches from another peer: at most 100 audit rows, the node's memory back within 40 MB")
    func refusalFloods() async throws {
        let federation = try Federation(agencies: [.semas, .kodit, .kamco])
        defer { federation.remove() }
        let node = try await federation.start(.semas)
        let pid = node.process.processIdentifier
        let port = federation.ports[.semas]!
        // 600 KB of 300,000 one-byte frames (the issue's flood), and 10,000 three-byte versions that decode as nothing.
        let huge = "\(federation.dir)/huge.bin", batch = "\(federation.dir)/batch.bin"
        FileManager.default.createFile(atPath: huge, contents: Data(WireFrames.encode(Array(repeating: [0xFF], count: 300_000)).readableBytesView))
        FileManager.default.createFile(atPath: batch, contents: Data(WireFrames.encode((0..<10_000).map { [UInt8($0 & 0xFF), 0xFF, 0xFF] }).readableBytesView))
        // A first refused batch warms the node's allocator and SQLite cache; memory is measured from there.
        #expect(try Self.push(batch, as: .kamco, in: federation, port: port) == 200)
        let before = try #require(Self.residentKiB(pid))

        // When kodit pushes the flood three times, and kamco keeps pushing refused batches,
        var kodit: [Int] = []
        for _ in 0..<3 { kodit.append(try Self.push(huge, as: .kodit, in: federation, port: port)) }
        var kamco: [Int] = []
        for _ in 0..<6 { kamco.append(try Self.push(batch, as: .kamco, in: federation, port: port)) }
        // then the oversized pushes are refused whole and the peer is throttled (429 with Retry-After),
        #expect(kodit == [413, 413, 429], "\(kodit)")
        #expect(kamco == [200, 429, 429, 429, 429, 429], "\(kamco)")
        // the node's memory comes back within 40 MB of where it was,
        var after = Self.residentKiB(pid) ?? .max
        let settled = await eventually(10) {
            after = Self.residentKiB(pid) ?? .max
            return after - before < 40 * 1024
        }
        #expect(settled, "RSS \(before) KiB → \(after) KiB")
        #expect(node.isRunning)
        let stopped = await node.terminate()
        #expect(stopped.reason == .exit && stopped.status == 0, "\(node.output)")
        // and the refusals cost at most 100 audit rows.
        let replica = try Replica(path: federation.replicaPath(.semas), key: try ReplicaKey.load(from: federation.keyPath(.semas)))
        let audit = try await replica.audit(limit: 10_000)
        #expect(audit.count <= 100, "\(audit.count) audit rows")
        #expect(audit.filter { $0.action == "federation.throttle" }.count == 2, "\(audit.map(\.action))")
        #expect(try await replica.verifyAudit() == nil)
    }

    /// `GET /status` of a node, as JSON.
    static func status(_ federation: Federation, _ agency: AgencyID) -> [String: Any]? {
        guard let (code, body) = try? http("GET", federation.statusURL(agency) + "/status"), code == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    static func row(_ status: [String: Any]?, _ agency: AgencyID) -> [String: Any]? {
        (status?["agencies"] as? [[String: Any]])?.first { $0["agency"] as? String == agency.rawValue }
    }

    @Test("a node run two hours ahead (faketime) is shown degraded by its peer with the reason; restarted on the right clock, its next write is accepted within a minute")
    func clockTwoHoursAhead() async throws {
        let scratch = TemporaryDirectory("skew")
        let (simulator, simulatorPort) = try await startSimulator(.semas, programs: 20, dir: scratch.path)
        let federation = try Federation(agencies: [.semas, .kodit], agencyExtra: [
            .semas: "adapter:\n  base_url: http://127.0.0.1:\(simulatorPort)\n  service_key: demo-key\n  poll_interval: 1s\n  page_size: 100",
        ])
        defer { federation.remove() }
        let kodit = try await federation.start(.kodit)
        // Never left running by a failing step (a throw skips the terminates at the end).
        defer { kodit.signal(SIGKILL); simulator.signal(SIGKILL) }
        // Given semas runs with its wall clock two hours ahead (monotonic time left alone),
        // (`faketime` runs hanaro as its child: the node is that child, killed with SIGKILL at the end).
        var environment = ProcessInfo.processInfo.environment
        environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        let ahead = try ChildProcess(URL(fileURLWithPath: "/usr/bin/faketime"),
                                     ["-f", "+2h", Hanaro.executable.path, "serve", "--config", federation.config(.semas), "--log-level", "error"],
                                     logPath: "\(federation.dir)/semas-ahead.log", environment: environment)
        guard await ahead.line(where: { $0.hasPrefix("hanaro: ready:") }) != nil else { throw ProcessFailure("semas did not start under faketime: \(ahead.output)") }
        // then kodit holds its versions and shows the link degraded, with the skew as the reason.
        var row: [String: Any]?
        let degraded = await eventually(60) {
            row = Self.row(Self.status(federation, .kodit), .semas)
            return row?["state"] as? String == "degraded" && (row?["last_error"] as? String)?.contains("clock skew") == true
        }
        #expect(degraded, "\(String(describing: row))")
        let held = Self.status(federation, .kodit)?["replica"] as? [String: Any]
        #expect(held?["programs"] as? Int == 0 && (held?["quarantined"] as? Int ?? 0) >= 20, "\(String(describing: held))")
        let metrics = try http("GET", federation.statusURL(.kodit) + "/metrics").1
        let skewLines = metrics.split(separator: "\n").filter { $0.hasPrefix("hanaro_peer_clock_skew_seconds") }
        #expect(skewLines.contains { $0.hasPrefix("hanaro_peer_clock_skew_seconds{agency=\"semas\"} 7") }, "\(skewLines)")
        let children = (try? String(contentsOfFile: "/proc/\(ahead.process.processIdentifier)/task/\(ahead.process.processIdentifier)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
        await ahead.terminate()

        // When semas restarts on the right clock: its logical clock is brought back, loudly,
        let semas = try await federation.start(.semas)
        #expect(semas.output.contains("clock"), "\(semas.output)")
        // and a program that appears at the agency afterwards reaches kodit within a minute.
        let (created, body) = try http("POST", "http://127.0.0.1:\(simulatorPort)/_sim/programs")
        #expect(created == 201, "\(body)")
        var replica: [String: Any]?
        let accepted = await eventually(60) {
            replica = Self.status(federation, .kodit)?["replica"] as? [String: Any]
            return replica?["programs"] as? Int == 1
        }
        #expect(accepted, "\(String(describing: replica))")
        // The versions stamped ahead stay held (never lost): retried every 30 s, applied once the clock reaches them.
        #expect((replica?["quarantined"] as? Int ?? 0) >= 20)
        await semas.terminate()
        await kodit.terminate()
        await simulator.terminate()
    }
}
