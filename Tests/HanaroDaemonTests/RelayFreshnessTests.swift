import Foundation
import HanaroCore
@testable import HanaroDaemon
@testable import HanaroFederation
import HanaroStore
import HanaroTesting
import Logging
import Synchronization
import Testing

/// Agencies a node hears of only through a relay: the relay's own view travels with each page it
/// serves, and the node's row for that agency reports it, never fresher than its own link.
@Suite("Freshness of agencies heard through a relay")
struct RelayFreshnessTests {
    @Test("the header round-trips, and leaves out what it cannot read")
    func header() {
        let at = Date(timeIntervalSince1970: 1_790_000_000)
        let view = RelayFreshness([.kamco: .init(state: "fresh", asOf: at), .ewpc: .init(state: "failing", asOf: nil)])
        #expect(view.headerValue == "kamco=fresh@1790000000,ewpc=failing@-")
        #expect(RelayFreshness(header: view.headerValue) == view)
        #expect(RelayFreshness(header: "nps=fresh@1,kamco=<script>@2,kodit").agencies.isEmpty)
    }

    @Test("an agency with no file, no adapter and no link here is as fresh as the best relay says, never fresher than the link to it")
    func relayedRow() async throws {
        let replica = try Replica.inMemory()
        let dir = TemporaryDirectory("relay")
        try makePKI(in: dir, for: [.semas])
        let tls = try TLSMaterial(certificatePath: dir.file("semas.pem"), keyPath: dir.file("semas-key.pem"), caPath: dir.file("federation-ca.pem"))
        let client = PeerClient(tls: tls)
        let link = PeerLink(peer: .kodit, localAgency: .semas, url: "https://127.0.0.1:1", client: client, replica: replica, logger: Logger(label: "relay"))
        let now = Date()
        link.state.withLock {
            $0.lastCaughtUpAt = now
            $0.relayView = RelayFreshness([.kamco: .init(state: "fresh", asOf: now.addingTimeInterval(-30))])
        }
        let fresh = try #require(NodeStatus.relayed(.kamco, links: [link], stale: 900, now: now))
        #expect(fresh.0 == .kodit && fresh.1.state == .fresh && fresh.1.lagSeconds == 30)
        #expect(NodeStatus.relayed(.ewpc, links: [link], stale: 900, now: now) == nil)
        // When our own link to the relay fails, the relayed agency is not fresh either.
        link.state.withLock { $0.consecutiveFailures = 2; $0.lastError = "connection refused" }
        #expect(NodeStatus.relayed(.kamco, links: [link], stale: 900, now: now)?.1.state == .failing)
        await client.shutdown()
    }
}
