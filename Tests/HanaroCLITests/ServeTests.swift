import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Synchronization
import Testing

/// A free TCP port on 127.0.0.1 outside the kernel's ephemeral range (32768-60999), so that servers
/// other tests bind to port 0 cannot take it between this check and `hanaro serve` binding it.
/// Only for the federation ports of multi-node tests, which every node's agency files must name
/// before the nodes start; everything else binds port 0 and reads the port the process reports.
func freePort() -> Int {
    while true {
        let port = Int.random(in: 20_000..<30_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if bound == 0 { return port }
    }
}

/// A federation laid out on disk as an operator would: PKI, agencies/*.yaml, one node file each.
/// Status ports are `:0`: each node reports the port it got on its ready line. A lone node's
/// federation port is `:0` too; several nodes need fixed ones (their agency files name each other).
final class Federation: Sendable {
    let dir: String
    let ports: [AgencyID: Int]
    private let statusPorts = Mutex<[AgencyID: Int]>([:])
    private let apiPorts = Mutex<[AgencyID: Int]>([:])

    init(agencies: [AgencyID], agencyExtra: [AgencyID: String] = [:], staleAfter: String = "5m", nodeExtra: String = "") throws {
        dir = NSTemporaryDirectory() + "hanaro-serve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/agencies", withIntermediateDirectories: true)
        try DevelopmentPKI.createCA(in: dir)
        var ports: [AgencyID: Int] = [:]
        for agency in agencies {
            try DevelopmentPKI.issue(for: agency, in: dir)
            ports[agency] = agencies.count == 1 ? 0 : freePort()
            try FileManager.default.createDirectory(atPath: "\(dir)/data-\(agency.rawValue)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        self.ports = ports
        for agency in agencies {
            let url = agencies.count == 1 ? "" : "federation:\n  url: https://127.0.0.1:\(ports[agency]!)\n"
            try """
            id: \(agency.rawValue)
            \(url)stale_after: \(staleAfter)
            signing_keys: ["\(try DevelopmentPKI.signingKey(for: agency, in: dir).verifier.text)"]
            \(agencyExtra[agency] ?? "")
            """.write(toFile: "\(dir)/agencies/\(agency.rawValue).yaml", atomically: true, encoding: .utf8)
            try """
            node:
              agency: \(agency.rawValue)
              data_dir: data-\(agency.rawValue)
            federation:
              listen: 127.0.0.1:\(ports[agency]!)
              certificate: \(agency.rawValue).pem
              private_key: \(agency.rawValue)-key.pem
              ca: federation-ca.pem
              page_size: 500
              long_poll_seconds: 25
            status:
              listen: 127.0.0.1:0
            \(nodeExtra)
            """.write(toFile: config(agency), atomically: true, encoding: .utf8)
        }
    }

    func config(_ agency: AgencyID) -> String { "\(dir)/\(agency.rawValue).yaml" }
    func statusURL(_ agency: AgencyID) -> String { "http://127.0.0.1:\(statusPorts.withLock { $0[agency] } ?? 0)" }
    /// The Agency API of a node started with `api.listen` (its ready line names the port).
    func apiURL(_ agency: AgencyID) -> String { "http://127.0.0.1:\(apiPorts.withLock { $0[agency] } ?? 0)" }
    func socket(_ agency: AgencyID) -> String { "\(dir)/data-\(agency.rawValue)/admin.sock" }
    func replicaPath(_ agency: AgencyID) -> String { "\(dir)/data-\(agency.rawValue)/replica.sqlite" }
    func keyPath(_ agency: AgencyID) -> String { "\(dir)/data-\(agency.rawValue)/replica.key" }

    /// Starts `hanaro serve` for an agency and returns once it printed its ready line (both ports
    /// listening), or throws with its output if it exited first.
    func start(_ agency: AgencyID) async throws -> ChildProcess {
        let process = try ChildProcess(Hanaro.executable, ["serve", "--config", config(agency), "--log-level", "error"],
                                       logPath: "\(dir)/\(agency.rawValue).log")
        guard let line = await process.line(where: { $0.hasPrefix("hanaro: ready:") }),
              let port = line.firstMatch(of: /status [0-9.]+:(\d+)/).flatMap({ Int($0.1) }) else {
            throw ProcessFailure("hanaro serve for \(agency.rawValue) did not become ready: \(process.output)")
        }
        statusPorts.withLock { $0[agency] = port }
        if let api = line.firstMatch(of: /api [0-9.]+:(\d+)/).flatMap({ Int($0.1) }) { apiPorts.withLock { $0[agency] = api } }
        return process
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}


@Suite("hanaro serve", .serialized)
struct ServeTests {
    @Test("bad configuration: exit non-zero with one line naming the file and the key")
    func badConfig() throws {
        let federation = try Federation(agencies: [.semas])
        defer { federation.remove() }
        var text = try String(contentsOfFile: federation.config(.semas), encoding: .utf8)
        text = text.replacingOccurrences(of: "agency: semas", with: "agency: nps")
        try text.write(toFile: federation.config(.semas), atomically: true, encoding: .utf8)
        let result = try Hanaro.run(["serve", "--config", federation.config(.semas)])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("node.agency") && result.stderr.contains("semas.yaml") && result.stderr.contains("nps"))
        // check-config lists every problem at once.
        text = text.replacingOccurrences(of: "certificate: semas.pem", with: "certificate: missing.pem")
            .replacingOccurrences(of: "listen: 127.0.0.1:", with: "listen: nowhere")
        try text.write(toFile: federation.config(.semas), atomically: true, encoding: .utf8)
        let check = try Hanaro.run(["check-config", "--config", federation.config(.semas)])
        #expect(check.status == 1)
        #expect(check.stdout.contains("node.agency") && check.stdout.contains("federation.listen"))
    }

    @Test("unreadable certificate and port in use: exit non-zero with one line")
    func startupFailures() async throws {
        let federation = try Federation(agencies: [.semas])
        defer { federation.remove() }
        try FileManager.default.removeItem(atPath: "\(federation.dir)/semas-key.pem")
        let noKey = try Hanaro.run(["serve", "--config", federation.config(.semas)])
        #expect(noKey.status == 1)
        #expect(noKey.stderr.contains("semas-key.pem") && noKey.stderr.split(separator: "\n").count == 1)
        #expect(try Hanaro.run(["check-config", "--config", federation.config(.semas)]).status == 1)

        let other = try Federation(agencies: [.kodit, .kinfa])
        defer { other.remove() }
        let first = try await other.start(.kodit)
        // The same configuration: its data directory is locked by a running node, which is named.
        let same = try Hanaro.run(["serve", "--config", other.config(.kodit)])
        #expect(same.status == 1)
        #expect(same.stderr.contains("in use by another hanaro process (pid \(first.process.processIdentifier))"), "\(same.stderr)")
        // Another data directory, the same ports.
        try FileManager.default.createDirectory(atPath: "\(other.dir)/data-second", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = try String(contentsOfFile: other.config(.kodit), encoding: .utf8).replacingOccurrences(of: "data_dir: data-kodit", with: "data_dir: data-second")
        try text.write(toFile: "\(other.dir)/second.yaml", atomically: true, encoding: .utf8)
        let second = try Hanaro.run(["serve", "--config", "\(other.dir)/second.yaml"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("already in use"), "\(second.stderr)")
        // Log lines may come first; the reason is one line of its own.
        #expect(second.stderr.split(separator: "\n").last?.hasPrefix("hanaro: cannot listen on") == true, "\(second.stderr)")
        await first.terminate()
    }

    @Test("hanaro-bench writes owner-only files under umask 000 (a replica seeded by sync-seed, its key, WAL and SHM)")
    func benchOwnerOnlyUnderUmask000() throws {
        let dir = TemporaryDirectory("bench-umask")
        let bench = Hanaro.executable.deletingLastPathComponent().appendingPathComponent("hanaro-bench")
        let (status, _, stderr) = try runToEnd(URL(fileURLWithPath: "/bin/sh"),
                                               ["-c", #"umask 000; exec "$0" sync-seed --path "$1/seed.sqlite" --key "$1/seed.key" --records 40"#, bench.path, dir.path])
        #expect(status == 0, "\(String(decoding: stderr, as: UTF8.self))")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.contains("seed.sqlite") && names.contains("seed.key"), "\(names)")
        for name in names {
            let mode = (try FileManager.default.attributesOfItem(atPath: dir.path + "/" + name))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name): \(mode.map { String($0, radix: 8) } ?? "missing")")
        }
    }

    @Test("under umask 022 the node's files are owner-only; check-config exits 1 naming a key others can read")
    func ownerOnlyUnderUmask022() async throws {
        let federation = try Federation(agencies: [.semas])
        defer { federation.remove() }
        let node = try ChildProcess(URL(fileURLWithPath: "/bin/sh"),
                                    ["-c", #"umask 022; exec "$0" serve --config "$1" --log-level error"#, Hanaro.executable.path, federation.config(.semas)],
                                    logPath: "\(federation.dir)/semas.log")
        guard await node.line(where: { $0.hasPrefix("hanaro: ready:") }) != nil else {
            Issue.record("not ready: \(node.output)")
            return
        }
        func mode(_ path: String) -> Int? { (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int }
        let data = "\(federation.dir)/data-semas"
        // The admin socket comes up beside the ports, possibly just after the ready line.
        // It is bound under the process umask (077: mode 700, already owner-only) and set to 600 once the
        // server runs, so wait for the final mode rather than catch the moment between.
        #expect(await eventually(10) { mode(federation.socket(.semas)) == 0o600 })
        #expect(mode(data) == 0o700)
        let replica = federation.replicaPath(.semas)
        for file in [replica, replica + "-wal", replica + "-shm", federation.keyPath(.semas), federation.socket(.semas), data + "/hanaro.lock"] {
            #expect(mode(file) == 0o600, "\(file): \(mode(file).map { String($0, radix: 8) } ?? "missing")")
        }
        // Whatever else the node created in its data directory is owner-only too.
        for name in try FileManager.default.contentsOfDirectory(atPath: data) {
            #expect((mode(data + "/" + name) ?? 0) & 0o077 == 0, "\(name)")
        }
        await node.terminate()

        // A private key others can read: check-config (the unit's pre-start check) says so.
        chmod("\(federation.dir)/semas-key.pem", 0o644)
        let check = try Hanaro.run(["check-config", "--config", federation.config(.semas)])
        #expect(check.status == 1)
        #expect(check.stdout.contains("semas-key.pem") && check.stdout.contains("chmod 600"), "\(check.stdout)")
    }

    @Test("kill -9 in the middle of a large sync, restart: converges with nothing lost or duplicated; SIGTERM exits 0")
    func killDuringSync() async throws {
        let federation = try Federation(agencies: [.semas, .kodit])
        defer { federation.remove() }
        // Given kodit's replica holds 20,000 programs before its node starts,
        do {
            // (signed with kodit's key, as its node would sign them)
            var options = Replica.Options()
            options.authentication = VersionAuthentication(signer: try DevelopmentPKI.signingKey(for: .kodit, in: federation.dir), keys: [])
            let replica = try Replica(path: federation.replicaPath(.kodit), key: try ReplicaKey.create(at: federation.keyPath(.kodit)), options: options)
            var data = SyntheticData(seed: 61)
            for chunk in 0..<20 {
                let edits = (0..<1000).map { i -> AuthoredEdit in
                    let content = data.program(owner: .kodit, nativeID: "big-\(chunk * 1000 + i)")
                    return AuthoredEdit(key: content.key, edit: .publishProgram(content))
                }
                try await replica.author(edits, by: .kodit)
            }
        }
        let kodit = try await federation.start(.kodit)
        var semas = try await federation.start(.semas)

        // When semas is killed with SIGKILL while it pulls,
        func programsOnSemas() async -> Int64 {
            guard FileManager.default.fileExists(atPath: federation.keyPath(.semas)),
                  let key = try? ReplicaKey.load(from: federation.keyPath(.semas)),
                  let replica = try? Replica(path: federation.replicaPath(.semas), key: key)
            else { return 0 }
            return (try? await replica.summary().programs) ?? 0
        }
        // (Kill as soon as semas's write-ahead log shows a first batch: a stat is cheap enough to
        // poll every few milliseconds, opening the replica is not.)
        let wal = federation.replicaPath(.semas) + "-wal"
        for _ in 0..<4_000 {
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? NSNumber)?.intValue ?? 0
            if size > 256 * 1024 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        semas.signal(SIGKILL)
        let killed = await semas.waitForExit()
        #expect(killed.reason == .uncaughtSignal, "semas exited on its own: \(semas.output)")
        let afterKill = await programsOnSemas()
        #expect(afterKill < 20_000, "the kill came after the sync finished (\(afterKill)); the test proves less than it claims")

        // Then after a restart it converges: all 20,000, once each, same digest as kodit.
        semas = try await federation.start(.semas)
        var final: Int64 = 0
        for _ in 0..<1200 {
            final = await programsOnSemas()
            if final >= 20_000 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(final == 20_000, "semas: \(semas.output.suffix(3000))")
        let semasReplica = try Replica(path: federation.replicaPath(.semas), key: try ReplicaKey.load(from: federation.keyPath(.semas)))
        let koditReplica = try Replica(path: federation.replicaPath(.kodit), key: try ReplicaKey.load(from: federation.keyPath(.kodit)))
        #expect(try await semasReplica.digest() == (try await koditReplica.digest()))
        #expect(try await semasReplica.integrityCheck() == "ok")
        #expect(try await semasReplica.recomputeDigest() == (try await semasReplica.digest()))

        // SIGTERM: graceful shutdown, exit 0, promptly even with 25 s long-polls in flight both ways.
        let stopping = Date()
        let stopped = await semas.terminate()
        #expect(stopped.reason == .exit && stopped.status == 0)
        #expect(Date().timeIntervalSince(stopping) < 5, "shutdown took \(Date().timeIntervalSince(stopping)) s")
        #expect(await kodit.terminate().status == 0)
    }
}
