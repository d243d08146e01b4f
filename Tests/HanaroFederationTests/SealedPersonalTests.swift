import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
@testable import HanaroStore
import HanaroTesting
import Testing

/// A referral's personal fields sealed end to end (HPKE) to the other party: semas refers an owner
/// to kamco; kamco hears of it only through kodit (no link between semas and kamco). Real replica
/// files, real mutual-TLS servers.
@Suite("Personal fields sealed to the target")
struct SealedPersonalTests {
    /// semas, kodit and kamco with their certificates: semas and kamco know only kodit, the relay.
    static func relayChain(in dir: TemporaryDirectory) async throws -> (semas: TestNode, kodit: TestNode, kamco: TestNode) {
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        return (try await TestNode(agency: .semas, dir: dir, peers: [.kodit]),
                try await TestNode(agency: .kodit, dir: dir, peers: [.semas, .kamco]),
                try await TestNode(agency: .kamco, dir: dir, peers: [.kodit]))
    }

    @Test("semas → kodit → kamco: kamco reads the owner's contact, kodit holds it withheld and cannot open it; kamco's status change comes back to semas sealed the same way; every replica converges")
    func throughARelay() async throws {
        let dir = TemporaryDirectory()
        let (semas, kodit, kamco) = try await Self.relayChain(in: dir)
        // kodit pulls from both; semas and kamco only from kodit.
        let links = [kodit.link(to: semas), kamco.link(to: kodit), kodit.link(to: kamco), semas.link(to: kodit)]

        var data = SyntheticData(seed: 31)
        var draft = data.referralDraft(origin: .semas, referralID: "R-SEALED")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let owner = try #require(draft.personal)
        let key = RecordKey(kind: .referral, owner: .semas, localID: "R-SEALED")
        try await semas.replica.author(.createReferral(draft), key: key, by: .semas)
        try await settle(links)

        func contact(_ node: TestNode) async throws -> PersonalFields? {
            try await node.replica.record(key)?.referral?.personal.value.fields
        }
        #expect(try await contact(kamco) == owner, "kamco reads the owner's contact, sealed to it through kodit")
        #expect(try await contact(kodit) == nil, "kodit holds the referral withheld")
        let relayed = try #require(try await kodit.replica.record(key)?.referral)
        #expect(relayed.personal.entries.allSatisfy { $0.value == .withheld })
        // What kodit stored carries the part sealed to kamco, which kodit's key cannot open.
        let frames = try await kodit.replica.feed(after: 0, limit: 100, for: .kamco).frames.compactMap { try? SignedVersion(frame: $0) }
        let frame = try #require(frames.first { $0.version.key == key })
        #expect(frame.signature?.sealed.map(\.recipient) == [.kamco])
        let koditAuth = try testAuthentication(for: .kodit, in: dir)
        #expect(koditAuth.openingSealedPersonal(frame) == frame, "kodit cannot open a part sealed to kamco")
        let kamcoAuth = try testAuthentication(for: .kamco, in: dir)
        #expect(kamcoAuth.openingSealedPersonal(frame).version.referral?.personal.value.fields == owner)

        // After kamco rotates its key, the part sealed to the old one opens only with the old key
        // kept for opening (federation.previous_signing_keys).
        let oldKamco = try DevelopmentPKI.signingKey(for: .kamco, in: dir.path)
        var rotated = AgencySigningKey(agency: .kamco)
        let everyKey = try AgencyID.allCases.map { try DevelopmentPKI.signingKey(for: $0, in: dir.path).verifier } + [rotated.verifier]
        #expect(VersionAuthentication(signer: rotated, keys: everyKey).openingSealedPersonal(frame) == frame, "the new key alone cannot open it")
        rotated.previous = [oldKamco]
        #expect(VersionAuthentication(signer: rotated, keys: everyKey).openingSealedPersonal(frame).version.referral?.personal.value.fields == owner)

        // A sealed part altered on the way does not open: the version still applies, withheld.
        var altered = frame
        altered.signature?.sealed[0].ciphertext[0] ^= 1
        #expect(kamcoAuth.openingSealedPersonal(altered) == altered)

        // kamco changes the status and adds a note; semas hears of it through kodit.
        try await kamco.replica.author(.setStatus(.received), key: key, by: .kamco)
        try await settle(links)
        #expect(try await semas.replica.record(key)?.referral?.status == .received)
        #expect(try await contact(semas) == owner)
        let digests = try await [semas, kodit, kamco].asyncMap { try await $0.replica.digest() }
        #expect(Set(digests).count == 1, "the shareable state is the same everywhere")
        #expect(try await kodit.replica.quarantine().isEmpty)
        #expect(try await kamco.replica.quarantine().isEmpty)
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("a relay that swaps the part sealed to the target for one it sealed itself (another contact, bound to the same envelope): the version applies withheld, and the swap is audited as federation.seal-forged")
    func forgedSeal() async throws {
        let dir = TemporaryDirectory()
        let (semas, kodit, kamco) = try await Self.relayChain(in: dir)
        var data = SyntheticData(seed: 33)
        var draft = data.referralDraft(origin: .semas, referralID: "R-FORGED")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .semas, localID: "R-FORGED")
        try await semas.replica.author(.createReferral(draft), key: key, by: .semas)
        try await settle([kodit.link(to: semas)])
        let frame = try #require(try await kodit.replica.feed(after: 0, limit: 100, for: .kamco).frames.compactMap { try? SignedVersion(frame: $0) }.first { $0.version.key == key })
        // kodit seals a contact of its own making to kamco's published key, bound to the envelope.
        var fakeDraft = draft
        fakeDraft.personal = PersonalFields(ownerName: "가짜 이름", phone: "010-9999-0000")
        let fake = try RecordVersion.authoring(.createReferral(fakeDraft), on: nil, key: key, by: .semas, clock: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000))
        let koditAuth = try testAuthentication(for: .kodit, in: dir)
        var forged = frame
        forged.signature?.sealed = try DevelopmentPKI.signingKey(for: .kodit, in: dir.path).seal(fake, envelope: frame.claimedEnvelope, to: koditAuth.sealingRecipients(of: .kamco))
        #expect(forged.signature?.sealed.count == 1)
        try await kodit.client.push([forged.frame], to: kamco.url)

        let held = try #require(try await kamco.replica.record(key)?.referral)
        #expect(held.personal.value.fields == nil, "the forged contact is not taken")
        let audit = try await kamco.replica.audit().filter { $0.action == "federation.seal-forged" }
        #expect(audit.count == 1 && audit.first?.actor == "peer:kodit" && audit.first?.target == key.description && audit.first?.outcome == "ignored", "\(audit)")
        let detail = audit.first?.detail ?? ""
        #expect(!detail.isEmpty && detail.range(of: "가짜") == nil && detail.range(of: "9999") == nil, "\(detail)")
        // The genuine part, relayed unchanged, still opens; nothing more is audited.
        try await settle([kamco.link(to: kodit)])
        #expect(try await kamco.replica.record(key)?.referral?.personal.value.fields == draft.personal)
        #expect(try await kamco.replica.audit().filter { $0.action == "federation.seal-forged" }.count == 1)
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("personal fields purged: the next version has nothing to seal, and seals nothing")
    func consentWithdrawn() async throws {
        let keys = AgencyID.allCases.map { AgencySigningKey(agency: $0) }
        var options = Replica.Options()
        options.authentication = VersionAuthentication(signer: keys.first { $0.agency == .semas }, keys: keys.map(\.verifier))
        let replica = try Replica.inMemory(options: options)
        var data = SyntheticData(seed: 32)
        var draft = data.referralDraft(origin: .semas, referralID: "R-NC")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .semas, localID: "R-NC")
        try await replica.author(.createReferral(draft), key: key, by: .semas)
        func sealedTo() async throws -> [AgencyID]? {
            try await replica.feed(after: 0, limit: 10, for: .kodit).frames.compactMap { try? SignedVersion(frame: $0) }.first?.signature?.sealed.map(\.recipient)
        }
        #expect(try await sealedTo() == [.kamco])
        try await replica.author(.setPersonal(nil), key: key, by: .semas)
        #expect(try await sealedTo() == [])
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
