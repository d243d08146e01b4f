import AsyncHTTPClient
import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import NIOCore
import NIOHTTP1
import HanaroTesting
import Testing

/// Every refusal of the federation port, with real TLS on loopback.
@Suite("Federation security", .serialized)
struct SecurityTests {
    /// GET /v1/hello with the given client material; returns the status or the transport error.
    static func hello(_ node: TestNode, certificate: String?, key: String?, ca: String) async -> Result<(Int, String), any Error> {
        do {
            let client = try rawClient(certificate: certificate, key: key, ca: ca)
            do {
                let response = try await client.execute(HTTPClientRequest(url: "\(node.url)/v1/hello"), timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                try await client.shutdown()
                return .success((Int(response.status.code), String(buffer: body)))
            } catch {
                try? await client.shutdown()
                throw error
            }
        } catch {
            return .failure(error)
        }
    }

    @Test("refused before any payload: no certificate, another CA, expired, unknown agency, our own identity, wrong pin")
    func refusals() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kinfa])
        // Another CA with a kodit certificate, and an expired kodit certificate from ours.
        let other = TemporaryDirectory()
        try makePKI(in: other, for: [.kodit])
        try DevelopmentPKI.issue(for: .kodit, in: dir.path, now: Date().addingTimeInterval(-3 * 86_400),
                                 notValidAfter: Date().addingTimeInterval(-86_400), name: "kodit-expired")
        let node = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let ca = dir.file("federation-ca.pem")

        // The configured peer gets in.
        guard case .success(let ok) = await Self.hello(node, certificate: dir.file("kodit.pem"), key: dir.file("kodit-key.pem"), ca: ca) else {
            Issue.record("the configured peer was refused")
            await node.stop()
            return
        }
        #expect(ok.0 == 200 && ok.1.contains("\"peer\":\"kodit\""))

        // No certificate, another CA, expired: the TLS handshake fails (TLS 1.3 reports it on the first read).
        for (certificate, key, label) in [(nil as String?, nil as String?, "no certificate"),
                                          (other.file("kodit.pem"), other.file("kodit-key.pem"), "another CA"),
                                          (dir.file("kodit-expired.pem"), dir.file("kodit-expired-key.pem"), "expired")] {
            switch await Self.hello(node, certificate: certificate, key: key, ca: ca) {
            case .success(let response): Issue.record("\(label): answered \(response.0)")
            case .failure: break
            }
        }
        // A valid certificate of an agency that is not a configured peer, and our own identity: 403 with a JSON reason.
        for (agency, expected) in [(AgencyID.kinfa, "not a configured peer"), (.semas, "own agency")] {
            guard case .success(let response) = await Self.hello(node, certificate: dir.file("\(agency.rawValue).pem"), key: dir.file("\(agency.rawValue)-key.pem"), ca: ca) else {
                Issue.record("\(agency): transport failure instead of 403"); continue
            }
            #expect(response.0 == 403, "\(agency)")
            #expect(response.1.contains(expected), "\(agency): \(response.1)")
            #expect(response.1.hasPrefix("{"), "the reason is JSON")
        }
        // Every refusal after the handshake is audited.
        let audit = try await node.replica.audit()
        #expect(audit.filter { $0.action == "federation.refuse" }.count == 2)
        #expect(try await node.replica.verifyAudit() == nil)
        await node.stop()
    }

    @Test("a pinned fingerprint admits only that certificate")
    func pinning() throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.kodit])
        try DevelopmentPKI.issue(for: .kodit, in: dir.path, name: "kodit-second")
        let first = try derBytes(dir.file("kodit.pem")), second = try derBytes(dir.file("kodit-second.pem"))
        let policy = PeerPolicy(localAgency: .semas, peers: [.kodit: AgencyIdentity.fingerprint(derBytes: first)])
        #expect(try policy.authorize(certificateDER: first) == .kodit)
        #expect { try policy.authorize(certificateDER: second) } throws: { "\($0)".contains("fingerprint pinned") }
    }

    func derBytes(_ path: String) throws -> [UInt8] {
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(Data(base64Encoded: base64)!)
    }

    @Test("a peer pushing a program it does not own: refused with its reason, audited; the rest applies")
    func unauthorizedWrite() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let node = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var data = SyntheticData(seed: 51)
        let own = data.programVersion(owner: .kodit, nativeID: "mine", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000))
        // kodit forges a version of a semas program.
        var stolen = data.program(owner: .semas, nativeID: "not-mine")
        stolen.title = "kodit rewrote this"
        let forged = RecordVersion(key: stolen.key, vector: VersionVector([.kodit: 1 << 40]),
                                   body: .program(MVRegister(stolen, dot: Dot(.kodit, 1 << 40))))
        // Both signed with kodit's own key: the signature is kodit's, the program is not.
        let key = try DevelopmentPKI.signingKey(for: .kodit, in: dir.path)
        try await kodit.client.push([SignedVersion(own, signature: key.sign(own)).frame, SignedVersion(forged, signature: key.sign(forged)).frame], to: node.url)
        #expect(try await node.replica.record(own.key) != nil)
        #expect(try await node.replica.record(stolen.key) == nil)
        let held = try await node.replica.quarantine()
        #expect(held.count == 1 && held.first?.code == "unauthorized_author")
        let audit = try await node.replica.audit()
        #expect(audit.contains { $0.action == "federation.reject" && $0.actor == "peer:kodit" && $0.target == stolen.key.description })
        await node.stop()
        await kodit.stop()
    }

    @Test("oversized and malformed bodies get a 4xx with a JSON reason, and the node keeps serving")
    func badBodies() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let node = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let client = try rawClient(certificate: dir.file("kodit.pem"), key: dir.file("kodit-key.pem"), ca: dir.file("federation-ca.pem"))
        func post(_ body: ByteBuffer) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: "\(node.url)/v1/push")
            request.method = .POST
            request.body = .bytes(body)
            let response = try await client.execute(request, timeout: .seconds(20))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        // A frame announcing more bytes than follow.
        let truncated = try await post(ByteBuffer(bytes: [0x90, 0x4E, 1, 2, 3]))
        #expect(truncated.0 == 400 && truncated.1.contains("truncated") && truncated.1.hasPrefix("{"))
        // A body over the 16 MiB limit.
        let oversized = try await post(ByteBuffer(repeating: 0, count: PeerServer.maxBodyBytes + 1024))
        #expect(oversized.0 == 413)
        #expect(oversized.1.hasPrefix("{") && oversized.1.contains("limited to"), "\(oversized.1)")
        // A well-framed batch of garbage frames: each quarantined, answered 200 with counts.
        let garbage = try await post(WireFrames.encode([[1, 2, 3], [0xFF]]))
        #expect(garbage.0 == 200 && garbage.1.contains("\"quarantined\":2"))
        // Bad query parameters.
        let badQuery = try await client.execute(HTTPClientRequest(url: "\(node.url)/v1/changes?after=-5"), timeout: .seconds(10))
        #expect(badQuery.status.code == 400)
        // Still serving.
        let hello = try await client.execute(HTTPClientRequest(url: "\(node.url)/v1/hello"), timeout: .seconds(10))
        #expect(hello.status.code == 200)
        try await client.shutdown()
        await node.stop()
    }
}
