import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A request context that takes the client certificate from a test header instead of a TLS
/// channel: the federation routes run in Hummingbird's router test mode, without sockets.
struct HeaderIdentityContext: PeerIdentityContext {
    static let header = HTTPField.Name("X-Test-Client-Certificate")!
    var coreContext: CoreRequestContextStorage
    var peer: AgencyID?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    func peerCertificateDER(for request: Request) async throws -> [UInt8]? {
        request.headers[Self.header].flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }
}

/// The federation port's routes, without TLS: identity, refusals, the feed, pushes.
@Suite("Federation routes")
struct PeerServerRouterTests {
    let dir = TemporaryDirectory("routes")

    func certificate(_ agency: AgencyID) throws -> String {
        let pem = try String(contentsOfFile: dir.file("\(agency.rawValue).pem"), encoding: .utf8)
        return pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }

    func app(_ replica: Replica) -> some ApplicationProtocol {
        var logger = Logger(label: "routes")
        logger.logLevel = .critical
        let policy = PeerPolicy(localAgency: .semas, peers: [.kodit: nil])
        return Application(router: PeerServer.router(replica: replica, policy: policy, logger: logger, context: HeaderIdentityContext.self), logger: logger)
    }

    @Test("no certificate: 401; an agency that is not a peer, or our own: 403 with a JSON reason, audited")
    func refusals() async throws {
        try makePKI(in: dir, for: [.semas, .kodit, .kinfa])
        let replica = try Replica.inMemory()
        let kinfa = try certificate(.kinfa), semas = try certificate(.semas)
        try await app(replica).test(.router) { client in
            try await client.execute(uri: "/v1/hello", method: .get) { #expect($0.status == .unauthorized) }
            for (cert, reason) in [(kinfa, "not a configured peer"), (semas, "own agency")] {
                try await client.execute(uri: "/v1/hello", method: .get, headers: [HeaderIdentityContext.header: cert]) { response in
                    #expect(response.status == .forbidden)
                    #expect(String(buffer: response.body).contains(reason))
                }
            }
        }
        let refusals = try await replica.audit().filter { $0.action == "federation.refuse" }
        #expect(refusals.count == 2)
    }

    @Test("a peer's push: good versions apply, refused ones are quarantined and summarised in one audit entry of the batch")
    func pushSummarised() async throws {
        try makePKI(in: dir, for: [.semas, .kodit])
        let replica = try Replica.inMemory()
        let kodit = try certificate(.kodit)
        var data = SyntheticData(seed: 3)
        let good = data.programVersion(owner: .kodit, nativeID: "ok", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000))
        // One good version, then garbage: each one refused.
        let frames = [good.canonicalBytes] + (0..<500).map { i in [UInt8(i % 250), 1, 2] }
        try await app(replica).test(.router) { client in
            try await client.execute(uri: "/v1/push", method: .post, headers: [HeaderIdentityContext.header: kodit], body: WireFrames.encode(frames)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"applied\":1"))
            }
        }
        #expect(try await replica.record(good.key) != nil)
        let rejects = try await replica.audit().filter { $0.action == "federation.reject" }
        #expect(rejects.count == 1, "one entry for the batch, not one per refused version")
        #expect(rejects.first?.target == "500 versions" && rejects.first?.detail.contains("500 refused") == true, "\(rejects)")
        #expect(try await replica.verifyAudit() == nil)
    }

    @Test("the feed: bad cursors are 400, another epoch is a 409 reset naming ours")
    func feedCursors() async throws {
        try makePKI(in: dir, for: [.semas, .kodit])
        let replica = try Replica.inMemory()
        let kodit = try certificate(.kodit)
        try await app(replica).test(.router) { client in
            try await client.execute(uri: "/v1/changes?after=-5", method: .get, headers: [HeaderIdentityContext.header: kodit]) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/changes?after=0&epoch=someone-else", method: .get, headers: [HeaderIdentityContext.header: kodit]) { response in
                #expect(response.status == .conflict)
                #expect(response.headers[HTTPField.Name("Hanaro-Epoch")!] == replica.epoch)
                #expect(String(buffer: response.body).contains("epoch_changed"))
            }
            try await client.execute(uri: "/v1/changes?after=0", method: .get, headers: [HeaderIdentityContext.header: kodit]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("Hanaro-More")!] == "0")
            }
        }
    }

    @Test("floods of refused versions cost bounded rows: a batch over 10,000 versions is 413; refusals past the peer's budget answer 429 with Retry-After, audited once")
    func refusalFlood() async throws {
        try makePKI(in: dir, for: [.semas, .kodit])
        let replica = try Replica.inMemory()
        let kodit = try certificate(.kodit)
        let garbage = (0..<10_000).map { i in [UInt8(i & 0xFF), UInt8(i >> 8), 0xFF, 0xFF] }
        try await app(replica).test(.router) { client in
            // More versions than a push may hold: refused before anything is stored; it spends
            // 10,000 of the peer's budget (20,000 refused versions per 10 minutes).
            try await client.execute(uri: "/v1/push", method: .post, headers: [HeaderIdentityContext.header: kodit], body: WireFrames.encode(garbage + [[1, 2]])) {
                #expect($0.status == .contentTooLarge)
            }
            // A batch of 10,000 refused versions spends the rest.
            try await client.execute(uri: "/v1/push", method: .post, headers: [HeaderIdentityContext.header: kodit], body: WireFrames.encode(garbage)) {
                #expect($0.status == .ok)
            }
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/push", method: .post, headers: [HeaderIdentityContext.header: kodit], body: WireFrames.encode(garbage)) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
                }
            }
        }
        let audit = try await replica.audit(limit: 1000)
        #expect(audit.count == 3, "the malformed batch, one batch summary and one throttle: \(audit.map(\.action))")
        #expect(audit.filter { $0.action == "federation.throttle" }.count == 1)
        #expect(audit.contains { $0.action == "federation.reject" && $0.detail.contains("malformed batch") })
        // The batch kept at most 1,000 refused payloads in quarantine; the audit entry counts the rest.
        #expect(try await replica.summary().quarantined <= 1_000)
        #expect(audit.contains { $0.action == "federation.reject" && $0.detail.contains("not kept in quarantine") })
    }

    @Test("a push that finds the disk full: 503 with a JSON reason and Retry-After; nothing of the batch kept, no audit row left behind")
    func pushDiskFull() async throws {
        try makePKI(in: dir, for: [.semas, .kodit])
        var options = Replica.Options()
        options.maxPageCount = 60
        let replica = try Replica.inMemory(options: options)
        let kodit = try certificate(.kodit)
        var data = SyntheticData(seed: 9)
        let big = (0..<2_000).map { data.programVersion(owner: .kodit, nativeID: "b\($0)", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000)).canonicalBytes }
        let before = try await replica.summary()
        try await app(replica).test(.router) { client in
            try await client.execute(uri: "/v1/push", method: .post, headers: [HeaderIdentityContext.header: kodit], body: WireFrames.encode(big)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("disk is full"))
                #expect(response.headers[.retryAfter] == "60")
            }
        }
        #expect(try await replica.summary() == before)
        #expect(try await replica.audit().isEmpty)
    }

}
