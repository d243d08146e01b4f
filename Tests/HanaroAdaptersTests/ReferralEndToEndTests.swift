import AgencySimulator
import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroFixtures
import HanaroStore
import Logging
import NIOCore
import ServiceLifecycle
import HanaroTesting
import Testing

/// A referral made at semas reaches kamco's intake through the adapters and the federation, and
/// kamco's status change comes back to semas — real simulators over HTTPS, two replicas, the
/// federation over mutual TLS, all on loopback.
@Suite("Referral end to end")
struct ReferralEndToEndTests {
    /// A federation node: a replica and its mutual-TLS server.
    struct FederationNode {
        let replica: Replica
        let client: PeerClient
        let url: String
        let task: Task<Void, any Error>
    }

    func node(_ agency: AgencyID, peers: [AgencyID], pki: TemporaryDirectory) async throws -> FederationNode {
        let replica = try Replica(path: pki.file("\(agency.rawValue).sqlite"), key: try ReplicaKey.create(at: pki.file("\(agency.rawValue).key")))
        let tls = try TLSMaterial(certificatePath: pki.file("\(agency.rawValue).pem"), keyPath: pki.file("\(agency.rawValue)-key.pem"), caPath: pki.file("federation-ca.pem"))
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let policy = PeerPolicy(localAgency: agency, peers: Dictionary(uniqueKeysWithValues: peers.map { ($0, nil as String?) }))
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try PeerServer.application(replica: replica, tls: tls, policy: policy, host: "127.0.0.1", port: 0, logger: logger, onRunning: { continuation.yield($0) })
        let task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return FederationNode(replica: replica, client: PeerClient(tls: tls, requestTimeout: .seconds(20)), url: "https://127.0.0.1:\(port)", task: task)
    }

    func pull(_ from: FederationNode, into: FederationNode, peer: AgencyID, local: AgencyID) async throws {
        var logger = Logger(label: "e2e.link")
        logger.logLevel = .critical
        let link = PeerLink(peer: peer, localAgency: local, url: from.url, client: into.client, replica: into.replica, logger: logger, pageSize: 200)
        while try await link.syncOnce() {}
    }

    @Test("semas → kamco: created at semas's centre, received at kamco's intake with consented personal fields; kamco's status comes back")
    func semasToKamco() async throws {
        let pki = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: pki.path)
        for agency in [AgencyID.semas, .kamco] { try DevelopmentPKI.issue(for: agency, in: pki.path) }
        let semasNode = try await node(.semas, peers: [.kamco], pki: pki)
        let kamcoNode = try await node(.kamco, peers: [.semas], pki: pki)
        let semas = try await SimulatedAgency(.semas, programs: 5, replica: semasNode.replica)
        let kamco = try await SimulatedAgency(.kamco, programs: 5, replica: kamcoNode.replica)
        func teardown() async {
            await semas.stop(); await kamco.stop()
            semasNode.task.cancel(); kamcoNode.task.cancel()
            _ = try? await semasNode.task.value; _ = try? await kamcoNode.task.value
            await semasNode.client.shutdown(); await kamcoNode.client.shutdown()
        }
        do {

            // Given a counsellor at a semas centre who refers an owner to kamco, with consent
            let referralID = await semas.simulator.createReferral(to: .kamco)
            semas.letSecondPass()
            // When semas's adapter reads it and kamco's node pulls from semas's node
            try await semas.ingest.ingestReferralEvents()
            try await pull(semasNode, into: kamcoNode, peer: .semas, local: .kamco)
            // And kamco's adapter delivers what is pending for kamco
            #expect(try await kamco.ingest.deliverOutbound() == 1)
            // Then kamco's intake holds the referral, with the owner's personal fields (kamco is the consented recipient)
            let received = try #require(await kamco.simulator.intakeSnapshot()[referralID])
            #expect(received["orgnAgency"] == "semas" && received["trgtAgency"] == "kamco" && received["sttsCd"] == "sent")
            #expect(received["ownrNm"]?.isEmpty == false && received["mblTelno"]?.isEmpty == false)
            #expect(received["bzentyNm"]?.isEmpty == false)

            // When a kamco counsellor takes it up and records a consultation
            #expect(await kamco.simulator.setReferralStatus(referralID, to: "received", note: "상담 예약 완료"))
            kamco.letSecondPass()
            try await kamco.ingest.ingestReferralEvents()
            try await pull(kamcoNode, into: semasNode, peer: .kamco, local: .semas)
            // Then semas's replica shows the new status and the note, authored by kamco
            let key = RecordKey(kind: .referral, owner: .semas, localID: referralID)
            let atSemas = try #require(try await semasNode.replica.record(key)?.referral)
            #expect(atSemas.status == .received)
            #expect(atSemas.history.elements.contains { $0.to == .received && $0.dot.agency == .kamco })
            #expect(atSemas.notes.elements.map(\.text) == ["상담 예약 완료"])
            // And semas's own system hears of it through its intake
            try await semas.ingest.deliverOutbound()
            #expect(await semas.simulator.intakeSnapshot()[referralID]?["sttsCd"] == "received")
            // Nothing was quarantined on either side, and both replicas agree
            #expect(try await semasNode.replica.summary().quarantined == 0)
            #expect(try await kamcoNode.replica.summary().quarantined == 0)
            try await pull(semasNode, into: kamcoNode, peer: .semas, local: .kamco)
            #expect(try await kamcoNode.replica.record(key)?.referral?.status == .received)
        } catch {
            await teardown()
            throw error
        }
        await teardown()
    }
}

@Suite("Referrals an intake refuses")
struct IntakeRefusalTests {
    @Test("a referral kamco's intake refuses (HTTP 400) is held in quarantine and the ones after it are delivered; a retry delivers it once the intake takes it, and releases the row")
    func refusedReferralDoesNotBlockTheQueue() async throws {
        try await SimulatedAgency.with(.kamco, programs: 5) { sim in
            var data = SyntheticData(seed: 12)
            var versions: [RecordVersion] = []
            for id in ["SEMAS-R1", "SEMAS-R2", "SEMAS-R3"] {
                var draft = data.referralDraft(origin: .semas, referralID: id)
                draft.target = .kamco
                draft.consent?.recipient = .kamco
                versions.append(try RecordVersion.authoring(.createReferral(draft), on: nil, key: RecordKey(kind: .referral, owner: .semas, localID: id),
                                                            by: .semas, clock: HLCTimestamp(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000))))
            }
            try await sim.replica.apply(versions, from: .peer(.semas))
            await sim.simulator.refuseAtIntake("SEMAS-R2")
            // The first and third are delivered; the second is held, not in the way.
            #expect(try await sim.ingest.deliverOutbound() == 2)
            let intake = await sim.simulator.intakeSnapshot()
            #expect(intake["SEMAS-R1"] != nil && intake["SEMAS-R2"] == nil && intake["SEMAS-R3"] != nil)
            let held = try await sim.replica.quarantine()
            #expect(held.count == 1 && held.first?.recordKey == "referral/semas/SEMAS-R2" && held.first?.code == "intake_refused"
                    && held.first?.source == .adapter(.kamco, .outbound), "\(held)")
            #expect(try await sim.ingest.pendingOutbound() == 0)
            // Refused again on a second run: still one row, its attempts counted.
            try await sim.replica.apply([try RecordVersion.authoring(.addNote("서류 보완 요청"), on: versions[1], key: versions[1].key, by: .semas,
                                                                      clock: HLCTimestamp(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000) + 10))], from: .peer(.semas))
            #expect(try await sim.ingest.deliverOutbound() == 0)
            let again = try await sim.replica.quarantine()
            #expect(again.count == 1 && (again.first?.attempts ?? 0) >= 2, "\(again)")
            // Once the agency takes it, an admin's retry delivers the current state and releases the row.
            let retry = QuarantineRetry(replica: sim.replica, localAgency: .kamco, adapters: [.kamco: sim.adapter])
            await #expect(throws: AdminError.self) { try await retry.retry(id: again[0].id) }
            await sim.simulator.refuseAtIntake("SEMAS-R2", false)
            try await retry.retry(id: again[0].id)
            #expect(await sim.simulator.intakeSnapshot()["SEMAS-R2"] != nil)
            #expect(try await sim.replica.quarantine().isEmpty)
        }
    }
}

@Suite("Referral events before their referral")
struct EarlyStatusTests {
    @Test("a status change for a referral this replica does not hold yet is held, then applied when the referral arrives", arguments: [AgencyID.kamco, .kinfa, .ewpc])
    func statusBeforeReferral(agency: AgencyID) async throws {
        // Given a replica that lost the referral (restored from an older copy) while the agency's intake has it
        try await SimulatedAgency.with(agency, programs: 5) { sim in
            var data = SyntheticData(seed: 11)
            var draft = data.referralDraft(origin: .semas, referralID: "SEMAS-R777777")
            draft.target = agency
            draft.consent?.recipient = agency
            let key = RecordKey(kind: .referral, owner: .semas, localID: "SEMAS-R777777")
            let version = try RecordVersion.authoring(.createReferral(draft), on: nil, key: key, by: .semas, clock: HLCTimestamp(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000)))
            try await sim.adapter.deliver(AdapterIngest.delivery(version.referral!, to: agency)!)
            // When the agency's counsellor takes it up and the adapter reads that
            #expect(await sim.simulator.setReferralStatus("SEMAS-R777777", to: "received", note: "접수"))
            sim.letSecondPass()
            try await sim.ingest.ingestReferralEvents()
            // Then the event is held in quarantine, not lost
            let held = try await sim.replica.quarantine()
            #expect(held.count >= 1 && held.allSatisfy { $0.recordKey == key.description })
            let retry = QuarantineRetry(replica: sim.replica, localAgency: agency, adapters: [agency: sim.adapter])
            #expect(try await retry.retryHeldReferralEvents(of: agency) == 0, "nothing to apply it to yet")
            // When the referral arrives (over federation, here applied as its origin sent it)
            try await sim.replica.apply([version], from: .peer(.semas))
            // Then the held event applies and is released
            #expect(try await retry.retryHeldReferralEvents(of: agency) >= 1)
            let referral = try #require(try await sim.replica.record(key)?.referral)
            #expect(referral.status == .received)
            #expect(referral.history.elements.contains { $0.to == .received && $0.dot.agency == agency })
            #expect(try await sim.replica.quarantine().isEmpty)
        }
    }
}
