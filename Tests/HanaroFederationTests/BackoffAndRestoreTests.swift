import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import Hummingbird
import HummingbirdTLS
import Logging
import HanaroTesting
import Synchronization
import Testing

@Suite("Backoff, rate limits and restores", .serialized)
struct BackoffAndRestoreTests {
    @Test("backoff grows exponentially with full jitter, resets on success, honours Retry-After")
    func backoff() {
        var random = SplitMix64(seed: 1)
        var backoff = Backoff(initialSeconds: 0.5, maximumSeconds: 8)
        var ceilings: [Double] = []
        for _ in 0..<8 {
            let delay = backoff.nextDelay(using: &random)
            ceilings.append(delay)
            #expect(delay >= 0 && delay <= 8)
        }
        // Ceiling per attempt: 0.5, 1, 2, 4, 8, 8, ... — each delay stays under its ceiling.
        for (i, delay) in ceilings.enumerated() { #expect(delay <= min(8, 0.5 * Double(1 << i)) + 1e-9) }
        #expect(backoff.failures == 8)
        backoff.reset()
        #expect(backoff.nextDelay(using: &random) <= 0.5)
        #expect(backoff.nextDelay(retryAfter: 30, using: &random) >= 30)
        #expect(backoff.nextDelay(retryAfter: 86_400, using: &random) == 600)
    }

    @Test("a peer answering 429 with Retry-After: the link reports rate_limited with the delay")
    func rateLimited() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let tls = try TLSMaterial(certificatePath: dir.file("kodit.pem"), keyPath: dir.file("kodit-key.pem"), caPath: dir.file("federation-ca.pem"))
        let router = Router()
        router.get("/v1/changes") { _, _ -> Response in
            Response(status: .tooManyRequests, headers: [.retryAfter: "7"])
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "busy")
        logger.logLevel = .critical
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls.serverConfiguration()),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let server = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next()!
        let node = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let link = PeerLink(peer: .kodit, localAgency: .semas, url: "https://127.0.0.1:\(port)", client: node.client, replica: node.replica, logger: logger)
        do {
            try await link.syncOnce()
            Issue.record("a 429 was taken for success")
        } catch {
            #expect(error.code == .rateLimited)
            #expect(error.retryAfterSeconds == 7)
        }
        #expect(link.status.consecutiveFailures == 1 && link.status.lastErrorCode == .rateLimited)
        server.cancel()
        await node.stop()
    }

    @Test("a failing peer: the link counts each failure where it happens, sleeps out its backoff on the injected clock, and tries again only when the clock moves")
    func backoffOnInjectedClock() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let node = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        var logger = Logger(label: "backoff")
        logger.logLevel = .critical
        // Nothing listens where the peer should be; the client gives up connecting after 200 ms.
        let client = PeerClient(tls: node.tls, connectTimeout: .milliseconds(200))
        let clock = ManualClock()
        let failures = Mutex(0)
        let link = PeerLink(peer: .kodit, localAgency: .semas, url: "https://127.0.0.1:1", client: client, replica: node.replica, logger: logger,
                            clock: clock, onFailure: { _, _ in failures.withLock { $0 += 1 } })
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await link.run() }
            // Given the first attempt failed, the link waits on its clock
            await clock.parked(1)
            #expect(failures.withLock { $0 } == 1 && link.status.consecutiveFailures == 1)
            #expect(link.status.lastErrorCode == .unreachable)
            // When the clock moves past any backoff, Then it tries again (and fails again)
            clock.advance(by: .seconds(60))
            await clock.parked(2)
            #expect(failures.withLock { $0 } == 2 && link.status.consecutiveFailures == 2)
            group.cancelAll()
        }
        await client.shutdown()
        await node.stop()
    }

    @Test("a node restored from an old copy of its database does not overwrite newer data")
    func restoredNode() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        var a = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let b = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var data = SyntheticData(seed: 71)
        let programs = (0..<20).map { data.program(owner: .semas, nativeID: "s\($0)") }
        try await a.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .semas)
        try await settle([a.link(to: b), b.link(to: a)])
        // Given a backup of semas's replica taken now,
        await a.stop()
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: dir.file("semas.sqlite" + suffix)) {
            try FileManager.default.copyItem(atPath: dir.file("semas.sqlite" + suffix), toPath: dir.file("semas-backup.sqlite" + suffix))
        }
        try FileManager.default.copyItem(atPath: dir.file("semas.key"), toPath: dir.file("semas-backup.key"))
        a = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        // and newer versions written and replicated after it,
        var newer = programs[0]
        newer.title = "백업 이후 수정"
        try await a.replica.author(.publishProgram(newer), key: newer.key, by: .semas)
        try await settle([a.link(to: b), b.link(to: a)])
        #expect(try await b.replica.record(newer.key)?.program?.title == "백업 이후 수정")
        // When semas is restored from the old copy and syncs again,
        await a.stop()
        let restored = try await TestNode(agency: .semas, dir: dir, peers: [.kodit], replicaName: "semas-backup")
        // (It writes something first, so its head is already above every cursor a peer holds,
        // and it pulls before kodit does: the detection must not depend on either.)
        let fresh = data.program(owner: .semas, nativeID: "after-restore")
        try await restored.replica.author(.publishProgram(fresh), key: fresh.key, by: .semas)
        let toB = b.link(to: restored), toRestored = restored.link(to: b)
        try await settle([toRestored, toB])
        // Then kodit keeps the newer version, and the restored node gets it back.
        #expect(try await b.replica.record(newer.key)?.program?.title == "백업 이후 수정")
        #expect(try await restored.replica.record(newer.key)?.program?.title == "백업 이후 수정")
        #expect(try await b.replica.record(fresh.key) != nil)
        #expect(try await restored.replica.digest() == (try await b.replica.digest()))
        // The restored node learnt it was restored from kodit's cursor, and said so in its audit log.
        #expect(try await restored.replica.audit().contains { $0.action == "federation.restore-detected" })
        // And started a new transparency log: the old one is behind what witnesses may have cosigned.
        let restart = try #require(try await restored.replica.audit().first { $0.action == "log.restart" })
        #expect(restart.target.hasPrefix("hanaro/semas/\(restored.replica.epoch)~"))
        #expect(try await restored.replica.logStatus().origin == restart.target)
        await restored.stop()
        await b.stop()
    }
}

