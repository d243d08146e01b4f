import ArgumentParser
import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroStore
import NIOHTTP1
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `hanaro demo`: a whole federation on this machine, nothing to set up.
///
/// It makes a development PKI on the fly, starts the six agency simulators (`hanaro simulate`,
/// HTTPS) and six nodes (`hanaro serve`, mutual TLS between them), each a real process on
/// loopback, and lets data flow: programs are read by each agency's adapter and replicated;
/// referrals travel from one agency's counsellors to another's intake and their status changes
/// come back; a partition (two nodes stopped with SIGSTOP) heals; a conflict it caused is resolved
/// through the admin API. A live freshness table shows every node. At the end each node is
/// stopped with SIGTERM and the summary compares the replica digests: exit 0 only if every node
/// converged to the same digest.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a six-agency federation on this machine (real processes, mutual TLS) and check that every node converges.")

    @Option(help: "How long to run (e.g. 30s, 2m), then print the convergence summary; convergence is awaited up to 30 s more. Without it the demo runs until Ctrl-C.", transform: Demo.parseDuration)
    var duration: Double?

    @Option(help: "Programs each simulated agency holds.")
    var programs = 300

    @Flag(help: "Keep the demo's directory (configs, replicas, logs) instead of removing it.")
    var keep = false

    static func parseDuration(_ text: String) throws -> Double {
        let scale: Double = text.hasSuffix("ms") ? 0.001 : text.hasSuffix("m") ? 60 : 1
        let number = text.trimmingCharacters(in: CharacterSet(charactersIn: "0123456789.").inverted)
        guard let value = Double(number), value > 0, text.first?.isNumber == true else {
            throw ValidationError("--duration takes a positive duration such as 30s or 2m; got \(text)")
        }
        return value * scale
    }

    func run() async throws {
        let dir = NSTemporaryDirectory() + "hanaro-demo-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let federation = DemoFederation(dir: dir, programs: programs)
        try federation.prepare()
        Output.line("hanaro demo: six simulated agencies and six nodes (real processes, mutual TLS on loopback) in \(dir)")
        Output.line("the Agency API (kamco's node): \(federation.apiURL)/v1/programs?q=%EC%B0%BD%EC%97%85 (창업) with the bearer token in \(dir)/api-token"
                    + (keep ? "" : " (the directory is removed at the end; --keep keeps it)"))
        if duration == nil { Output.line("running until Ctrl-C (or SIGTERM), then a summary of the last reports; --duration 30s stops by itself and checks convergence") }
        DemoStop.install()
        try federation.start()
        let outcome: DemoOutcome
        do {
            outcome = try await DemoScenario(federation: federation, duration: duration).play()
        } catch {
            federation.stop()
            throw error
        }
        federation.stop()
        if !keep { try? FileManager.default.removeItem(atPath: dir) } else { Output.line("kept \(dir)") }
        Output.line(outcome.summary)
        if !outcome.converged { throw ExitCode(1) }
    }
}

/// Ctrl-C (SIGINT) or SIGTERM ends the demo early: it stops changing data, stops its processes
/// (a Ctrl-C at a terminal reaches them too: they shut down gracefully) and prints the summary of
/// the last reports it read.
enum DemoStop {
    static let requested = Atomic<Bool>(false)

    static func install() {
        for signal in [SIGINT, SIGTERM] {
            Glibc.signal(signal) { _ in DemoStop.requested.store(true, ordering: .relaxed) }
        }
    }

    static var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// The processes and files of a demo federation.
final class DemoFederation: @unchecked Sendable {
    let dir: String
    let programs: Int
    var simulatorPorts: [AgencyID: Int] = [:]
    var federationPorts: [AgencyID: Int] = [:]
    var statusPorts: [AgencyID: Int] = [:]
    /// kamco's node also serves the Agency API (the demo shows a search, an eligibility answer and
    /// a webhook): its port and the demo client's token.
    var apiPort = 0
    var apiToken = ""
    var simulators: [AgencyID: Process] = [:]
    var nodes: [AgencyID: Process] = [:]
    let executable: String

    init(dir: String, programs: Int) {
        self.dir = dir
        self.programs = programs
        executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func statusURL(_ agency: AgencyID) -> String { "http://127.0.0.1:\(statusPorts[agency]!)" }
    func simulatorURL(_ agency: AgencyID) -> String { "https://127.0.0.1:\(simulatorPorts[agency]!)" }
    func socket(_ agency: AgencyID) -> String { "\(dir)/\(agency.rawValue)/admin.sock" }
    var apiURL: String { "http://127.0.0.1:\(apiPort)" }

    /// Certificates, agency files and node files.
    func prepare() throws {
        try DevelopmentPKI.createCA(in: dir)
        var taken = Set<Int>()
        for agency in AgencyID.allCases {
            try DevelopmentPKI.issue(for: agency, in: dir)
            try DevelopmentPKI.issue(for: agency, in: dir, name: "sim-\(agency.rawValue)")
            simulatorPorts[agency] = freePort(avoiding: &taken)
            federationPorts[agency] = freePort(avoiding: &taken)
            statusPorts[agency] = freePort(avoiding: &taken)
        }
        // The Agency API on 127.0.0.1:8080, as in the example configuration, unless that port is taken.
        apiPort = portIsFree(8080) && taken.insert(8080).inserted ? 8080 : freePort(avoiding: &taken)
        apiToken = APIToken.generateSecret()
        FileManager.default.createFile(atPath: "\(dir)/api-token", contents: Data((apiToken + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let tokens = APIToken.line(name: "demo", scopes: [.read, .refer, .subscribe], secret: apiToken) + "\n"
        FileManager.default.createFile(atPath: "\(dir)/api-tokens", contents: Data(tokens.utf8), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createDirectory(atPath: "\(dir)/agencies", withIntermediateDirectories: true)
        for agency in AgencyID.allCases {
            let file = """
                id: \(agency.rawValue)
                federation:
                  url: https://127.0.0.1:\(federationPorts[agency]!)
                adapter:
                  base_url: https://127.0.0.1:\(simulatorPorts[agency]!)
                  service_key: demo-key
                  ca: ../federation-ca.pem
                  poll_interval: 2s
                  page_size: 200
                  rate_limit: 50
                  # The simulators publish a referral-event feed (no real agency does).
                  referral_events: true
                stale_after: 20s
                signing_keys:
                  - \(try DevelopmentPKI.signingKey(for: agency, in: dir).verifier.text)
                """
            try file.write(toFile: "\(dir)/agencies/\(agency.rawValue).yaml", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: "\(dir)/\(agency.rawValue)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let node = """
                node:
                  agency: \(agency.rawValue)
                  data_dir: \(agency.rawValue)
                  agencies_dir: agencies
                federation:
                  listen: 127.0.0.1:\(federationPorts[agency]!)
                  certificate: \(agency.rawValue).pem
                  private_key: \(agency.rawValue)-key.pem
                  ca: federation-ca.pem
                  long_poll_seconds: 2
                status:
                  listen: 127.0.0.1:\(statusPorts[agency]!)
                \(agency == .kamco ? "api:\n  listen: 127.0.0.1:\(apiPort)\n  tokens_file: api-tokens" : "")
                """
            try node.write(toFile: "\(dir)/\(agency.rawValue).yaml", atomically: true, encoding: .utf8)
        }
    }

    func start() throws {
        for agency in AgencyID.allCases {
            simulators[agency] = try spawn(["simulate", "--agency", agency.rawValue, "--listen", "127.0.0.1:\(simulatorPorts[agency]!)",
                                            "--programs", String(programs), "--seed", String(agency.index + 1),
                                            "--tls-certificate", "\(dir)/sim-\(agency.rawValue).pem", "--tls-key", "\(dir)/sim-\(agency.rawValue)-key.pem"],
                                           log: "sim-\(agency.rawValue).log")
        }
        for agency in AgencyID.allCases {
            nodes[agency] = try spawn(["serve", "--config", "\(dir)/\(agency.rawValue).yaml", "--log-level", "notice"], log: "node-\(agency.rawValue).log")
        }
    }

    private func spawn(_ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        FileManager.default.createFile(atPath: "\(dir)/\(log)", contents: nil)
        let handle = FileHandle(forWritingAtPath: "\(dir)/\(log)")
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Pauses a node (a network partition: its peers time out on it, it hears nothing).
    func partition(_ agency: AgencyID) { if let pid = nodes[agency]?.processIdentifier { kill(pid, SIGSTOP) } }
    func heal(_ agency: AgencyID) { if let pid = nodes[agency]?.processIdentifier { kill(pid, SIGCONT) } }

    /// SIGTERM to every node (graceful shutdown), then the simulators; SIGKILL for any process
    /// still running after 20 s. (Polls `isRunning`: Foundation's `waitUntilExit` spins a run loop.)
    func stop() {
        for process in nodes.values where process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            process.terminate()
        }
        Self.await(Array(nodes.values))
        for process in simulators.values where process.isRunning { process.terminate() }
        Self.await(Array(simulators.values))
    }

    private static func await(_ processes: [Process]) {
        let deadline = Date().addingTimeInterval(20)
        while processes.contains(where: \.isRunning), Date() < deadline { usleep(50_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while processes.contains(where: \.isRunning) { usleep(50_000) }
    }

    func nodeExitStatuses() -> [AgencyID: Int32] { nodes.mapValues { $0.isRunning ? -1 : $0.terminationStatus } }
}

/// A free TCP port on 127.0.0.1 (asked of the kernel), not one already handed out.
/// Whether a TCP port on 127.0.0.1 can be bound now.
func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

func freePort(avoiding taken: inout Set<Int>) -> Int {
    while true {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        close(fd)
        let port = Int(UInt16(bigEndian: address.sin_port))
        if port > 0, taken.insert(port).inserted { return port }
    }
}
