import Foundation
import Synchronization
import HanaroCore
@testable import HanaroDaemon
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The status port's and the admin API's routes in Hummingbird's router test mode: probes,
/// authentication, every admin answer, and the audit trail they leave — no process, and sockets
/// only where the thread the port runs on is the point.
@Suite("Status port and admin routes")
struct OperatorRoutesTests {
    static let token = "s3cret-token-0123456789abcdef"

    /// A node's operator surface around an in-memory replica.
    struct Surface {
        let replica: Replica
        let status: NodeStatus
        let admin: AdminAPI
        let metrics: HanaroMetrics

        init(dir: TemporaryDirectory) throws {
            try makePKI(in: dir, for: [.kamco])
            replica = try Replica.inMemory()
            var configuration = NodeConfiguration(agency: .kamco, dataDirectory: dir.path, keyFile: dir.file("replica.key"), agenciesDirectory: dir.path,
                                                  certificate: dir.file("kamco.pem"), privateKey: dir.file("kamco-key.pem"), ca: dir.file("federation-ca.pem"))
            configuration.agencies = [.kamco: AgencyConfiguration(id: .kamco, koreanName: "한국자산관리공사", englishName: "KAMCO")]
            var logger = Logger(label: "routes")
            logger.logLevel = .critical
            let tls = try TLSMaterial(certificatePath: configuration.certificate, keyPath: configuration.privateKey, caPath: configuration.ca)
            metrics = HanaroMetrics(version: "test")
            let jobs = ResyncJobs()
            let resync = ResyncService(jobs: jobs, replica: replica, links: [], adapters: [], logger: logger)
            let retry = QuarantineRetry(replica: replica, localAgency: .kamco, adapters: [:])
            status = NodeStatus(configuration: configuration, replica: replica, board: FreshnessBoard(), links: [], adapters: [], tls: tls,
                                peerCertificates: PeerCertificateLog(), metrics: metrics, version: "test", resyncs: jobs)
            admin = AdminAPI(node: configuration, replica: replica, resync: resync, jobs: jobs, retry: retry, metrics: metrics, logger: logger)
        }

        var statusApp: some ApplicationProtocol { Application(router: StatusServer.router(status: status, admin: admin, token: OperatorRoutesTests.token)) }
        var socketApp: some ApplicationProtocol { Application(router: StatusServer.socketRouter(admin: admin)) }
    }

    @Test("probes: healthz always; readyz 503 until the first report, 200 once the replica takes writes; status JSON without personal data")
    func probes() async throws {
        let dir = TemporaryDirectory("routes")
        let surface = try Surface(dir: dir)
        try await surface.statusApp.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("\"reason\""))
            }
            await surface.status.refresh()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/status", method: .get) { response in
                let report = try? NodeStatusReport.decoder.decode(NodeStatusReport.self, from: Data(response.body.readableBytesView))
                #expect(report?.node == "kamco" && report?.ready == true)
                #expect(report?.agencies.map(\.agency) == ["kamco"] && report?.agencies.first?.state == .fresh)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("hanaro_build_info{version=\"test\"} 1"))
            }
        }
    }

    @Test("admin on the status port: refused without or with a wrong token (401, audited as refused), allowed with it (audited before acting)")
    func bearerToken() async throws {
        let dir = TemporaryDirectory("routes")
        let surface = try Surface(dir: dir)
        try await surface.statusApp.test(.router) { client in
            try await client.execute(uri: "/admin/conflicts", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect((try? AdminWire.decoder.decode(AdminErrorBody.self, from: Data(response.body.readableBytesView)))?.error.contains("bearer token") == true)
            }
            try await client.execute(uri: "/admin/conflicts", method: .get, headers: [.authorization: "Bearer wrong"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/admin/conflicts", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) { response in
                #expect(response.status == .ok)
                #expect((try? AdminWire.decoder.decode([ConflictView].self, from: Data(response.body.readableBytesView)))?.isEmpty == true)
            }
            // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
            for header in ["bearer \(Self.token)", "BEARER  \(Self.token) "] {
                try await client.execute(uri: "/admin/conflicts", method: .get, headers: [.authorization: header]) { #expect($0.status == .ok, "\(header)") }
            }
            try await client.execute(uri: "/admin/conflicts", method: .get, headers: [.authorization: "Bearer \(Self.token.uppercased())"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/admin/conflicts", method: .get, headers: [.authorization: "Basic \(Self.token)"]) { #expect($0.status == .unauthorized) }
        }
        let audit = try await surface.replica.audit()
        #expect(audit.filter { $0.action == "admin.conflicts.list" && $0.outcome == "refused" }.count == 4)
        #expect(audit.filter { $0.action == "admin.conflicts.list" && $0.outcome == "allowed" }.count == 3)
        #expect(try await surface.replica.verifyAudit() == nil)
    }

    @Test("admin answers: typed bodies, clear refusals, every failure audited")
    func answers() async throws {
        let dir = TemporaryDirectory("routes")
        let surface = try Surface(dir: dir)
        var data = SyntheticData(seed: 5)
        let program = data.program(owner: .kamco, nativeID: "K-1")
        try await surface.replica.author(.publishProgram(program), key: program.key, by: .kamco)
        try await surface.socketApp.test(.router) { client in
            func error(_ response: TestResponse) -> String {
                (try? AdminWire.decoder.decode(AdminErrorBody.self, from: Data(response.body.readableBytesView)))?.error ?? ""
            }
            try await client.execute(uri: "/admin/resync", method: .post, body: ByteBuffer(string: #"{"agency":"nps"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(error(response).contains("unknown agency"))
            }
            try await client.execute(uri: "/admin/resync", method: .post, body: ByteBuffer(string: "not json")) { #expect($0.status == .badRequest) }
            // kamco's node without an adapter or peers: nothing to resync there.
            try await client.execute(uri: "/admin/resync", method: .post, body: ByteBuffer(string: #"{"agency":"semas"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(error(response).contains("neither runs"))
            }
            try await client.execute(uri: "/admin/record?key=\(program.key)", method: .get) { response in
                let view = try? AdminWire.decoder.decode(RecordView.self, from: Data(response.body.readableBytesView))
                #expect(view?.key == program.key.description && view?.title == program.title)
            }
            try await client.execute(uri: "/admin/record?key=nonsense", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/admin/quarantine/99/retry", method: .post) { response in
                #expect(response.status == .notFound)
                #expect(error(response).contains("hanaro quarantine list"))
            }
            try await client.execute(uri: "/admin/conflicts/7", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/admin/conflicts?state=bogus", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/admin/audit/verify", method: .get) { response in
                let verdict = try? AdminWire.decoder.decode(AuditVerdict.self, from: Data(response.body.readableBytesView))
                #expect(verdict?.intact == true && (verdict?.entries ?? 0) > 0)
            }
        }
        let failed = try await surface.replica.audit().filter { $0.outcome == "failed" }
        #expect(failed.count == 7, "\(failed.map(\.action))")
        #expect(failed.allSatisfy { !$0.detail.isEmpty })
    }

    /// The status port on its own thread (`ProbeThread`, as `Node` runs it) answers while every
    /// thread of Swift's cooperative pool is blocked, as a sync's decoding and verifying can keep
    /// them. Without it, the probe below waits until the blockers give up (15 s) and fails.
    @Test("probes are answered while the cooperative pool is busy: the status port runs on its own thread")
    func probesOnTheirOwnThread() async throws {
        let dir = TemporaryDirectory("probe-thread")
        let surface = try Surface(dir: dir)
        await surface.status.refresh()
        let thread = await ProbeThread()
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "probe-thread")
        logger.logLevel = .critical
        let app = try StatusServer.application(status: surface.status, admin: surface.admin, token: nil, host: "127.0.0.1", port: 0,
                                               logger: logger, eventLoopGroup: .shared(thread.group),
                                               onRunning: { portSink.yield($0) })
        let server = Task { try await OnProbeThread(service: app, thread: thread).run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let blockers = max(ProcessInfo.processInfo.activeProcessorCount - 1, 0)
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), probed = DispatchSemaphore(value: 0)
        final class Answers: Sendable { let value = Mutex<(started: Int, healthz: String?, status: String?)>((0, nil, nil)) }
        let answers = Answers()
        // The probe: a plain thread with a blocking socket, so it needs nothing from the pool.
        let probe = Thread {
            var running = 0
            for _ in 0..<blockers where started.wait(timeout: .now() + 5) == .success { running += 1 }
            let healthz = Self.blockingGET(port: port, path: "/healthz")
            let status = Self.blockingGET(port: port, path: "/status")
            answers.value.withLock { $0 = (running, healthz, status) }
            for _ in 0..<blockers { release.signal() }
            probed.signal()
        }
        for _ in 0..<blockers {
            Task.detached {
                started.signal()
                _ = release.wait(timeout: .now() + 15)  // deliberately blocks a cooperative thread
            }
        }
        probe.start()
        // This task blocks its own cooperative thread too, until the probe is done.
        let finished = probed.wait(timeout: .now() + 15) == .success
        server.cancel()
        _ = try? await server.value
        await thread.shutdown()
        let (running, healthz, status) = answers.value.withLock { $0 }
        #expect(finished)
        #expect(running == blockers, "\(running) of \(blockers) blockers ran")
        #expect(healthz?.hasPrefix("HTTP/1.1 200") == true, "\(healthz ?? "no answer")")
        #expect(status?.hasPrefix("HTTP/1.1 200") == true && status?.contains("\"replica\"") == true)
    }

    /// The status port's thread asks for nice -10, so that under a sync a probe preempts the
    /// sync's threads. Granted where the process may lower a nice value (root, CAP_SYS_NICE, or
    /// the unit's `LimitNICE=-10`); otherwise refused with a reason that names the fix, and the
    /// thread keeps the process's priority. Which branch runs depends on the machine; both are checked.
    @Test("the status port's thread asks for nice -10 and says how to grant it when refused")
    func probeThreadPriority() async throws {
        let thread = await ProbeThread()
        let onLoop = try #require(await thread.niceValue())
        let here = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        await thread.shutdown()
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(__RLIMIT_NICE.rawValue), &limit)
        // RLIMIT_NICE r lets a thread go down to nice 20 - r; root ignores it.
        let allowed = geteuid() == 0 || 20 - Int64(limit.rlim_cur) <= Int64(ProbeThread.niceness)
        if allowed {
            #expect(thread.priority == nil, "\(thread.priority ?? "")")
            #expect(onLoop == ProbeThread.niceness)
            #expect(here != ProbeThread.niceness, "only the probe thread is raised, not the caller's")
        } else {
            let reason = try #require(thread.priority)
            #expect(reason.contains("LimitNICE=-10") && reason.contains("CAP_SYS_NICE"), "\(reason)")
            #expect(onLoop == here)
        }
    }

    /// One `GET` over a blocking socket with a 10 s receive timeout; the whole answer, or nil.
    static func blockingGET(port: Int, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            answer += buffer[0..<n]
        }
        return answer.isEmpty ? nil : String(decoding: answer, as: UTF8.self)
    }
}
