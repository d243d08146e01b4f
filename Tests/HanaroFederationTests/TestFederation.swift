import AsyncHTTPClient
import Foundation
import HanaroCore
import HanaroFederation
import HanaroStore
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import HanaroTesting
import Testing


/// One node in a test federation: a real replica file, a real mutual-TLS server on a port of
/// 127.0.0.1 chosen by the kernel, and links to the peers the test wires.
final class TestNode: Sendable {
    let agency: AgencyID
    let replica: Replica
    let tls: TLSMaterial
    let client: PeerClient
    let port: Int
    let url: String
    let serverTask: Task<Void, any Error>

    init(agency: AgencyID, dir: TemporaryDirectory, peers: [AgencyID], replicaName: String? = nil, signing: Bool = true) async throws {
        self.agency = agency
        let name = replicaName ?? agency.rawValue
        let keyPath = dir.file("\(name).key")
        let key = FileManager.default.fileExists(atPath: keyPath) ? try ReplicaKey.load(from: keyPath) : try ReplicaKey.create(at: keyPath)
        // As a node: signs what it authors, verifies every version against the six agencies' keys.
        var options = Replica.Options()
        if signing { options.authentication = try testAuthentication(for: agency, in: dir) }
        replica = try Replica(path: dir.file("\(name).sqlite"), key: key, options: options)
        tls = try TLSMaterial(certificatePath: dir.file("\(agency.rawValue).pem"), keyPath: dir.file("\(agency.rawValue)-key.pem"),
                              caPath: dir.file("federation-ca.pem"))
        client = PeerClient(tls: tls, requestTimeout: .seconds(20))
        var logger = Logger(label: "hanaro.test.\(agency.rawValue)")
        logger.logLevel = .critical
        let policy = PeerPolicy(localAgency: agency, peers: Dictionary(uniqueKeysWithValues: peers.map { ($0, nil as String?) }))
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try PeerServer.application(replica: replica, tls: tls, policy: policy, host: "127.0.0.1", port: 0, logger: logger, onRunning: { port in
            continuation.yield(port)
        })
        serverTask = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        port = await iterator.next() ?? 0
        url = "https://127.0.0.1:\(port)"
    }

    /// A link from this node to `peer`.
    func link(to peer: TestNode) -> PeerLink {
        var logger = Logger(label: "hanaro.test.link")
        logger.logLevel = .critical
        return PeerLink(peer: peer.agency, localAgency: agency, url: peer.url, client: client, replica: replica, logger: logger, pageSize: 200)
    }

    func stop() async {
        serverTask.cancel()
        _ = try? await serverTask.value
        await client.shutdown()
    }
}


/// The signing key of `agency` and every agency's public key, from the test's directory (made on
/// first use, as `hanaro certs` makes them).
func testAuthentication(for agency: AgencyID, in dir: TemporaryDirectory) throws -> VersionAuthentication {
    let keys = try AgencyID.allCases.map { try DevelopmentPKI.signingKey(for: $0, in: dir.path) }
    return VersionAuthentication(signer: keys.first { $0.agency == agency }, keys: keys.map(\.verifier))
}

/// Pulls over every link until nothing moves (bounded).
func settle(_ links: [PeerLink], rounds: Int = 20) async throws {
    for _ in 0..<rounds {
        var moved = false
        for link in links {
            while try await link.syncOnce() { moved = true }
        }
        if !moved { return }
    }
}

/// An HTTPS client with arbitrary (possibly bad) TLS material, for the refusal tests.
func rawClient(certificate: String?, key: String?, ca: String) throws -> HTTPClient {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
    tls.certificateVerification = .fullVerification
    if let certificate, let key {
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
    }
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
}
