import Crypto
import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Logging
import Testing

extension Data {
    /// The DER bytes of a PEM file's first block.
    func base64Decoded(pem: Bool) throws -> Data {
        let text = String(decoding: self, as: UTF8.self)
        let body = text.split(separator: "\n").drop { !$0.hasPrefix("-----BEGIN") }.dropFirst().prefix { !$0.hasPrefix("-----END") }.joined()
        guard let der = Data(base64Encoded: body) else { throw CocoaError(.fileReadCorruptFile) }
        return der
    }
}

/// Every version carries its author's signature and every receiver verifies it, whoever relayed it
/// (docs/EVIDENCE.md). Real replicas, real mutual-TLS servers on 127.0.0.1.
@Suite("Signed versions")
struct SignatureTests {
    static let t0 = HLCTimestamp(millisecondsSince1970: 1_790_000_000_000)

    @Test("a relay that alters a body, invents a record under another agency's dot or strips a signature: none applied, each quarantined with its reason, audited once; byte-identical relayed versions apply")
    func maliciousRelay() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas, .kamco])
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.kodit])
        var data = SyntheticData(seed: 71)
        let programs = (0..<3).map { data.program(owner: .semas, nativeID: "p\($0)") }
        try await semas.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .semas)
        var revised = programs[2]
        revised.title += " (개정)"
        try await semas.replica.author([AuthoredEdit(key: revised.key, edit: .publishProgram(revised))], by: .semas)

        // kamco hears of semas only through kodit: the relayed versions are semas's bytes and verify.
        try await settle([kodit.link(to: semas), kamco.link(to: kodit)])
        for program in programs.dropLast() { #expect(try await kamco.replica.record(program.key)?.program == program) }
        #expect(try await kamco.replica.record(revised.key)?.program == revised)
        #expect(try await kamco.replica.quarantine().isEmpty)

        // Then kodit turns hostile and pushes to kamco what it made of semas's records.
        let genuine = try #require(try await kodit.replica.record(programs[0].key))
        let signature = try #require(try await semas.replica.feed(after: 0, limit: 100, for: .kamco).frames
            .compactMap { try? SignedVersion(frame: $0) }.first { $0.version.key == genuine.key }?.signature)
        // 1. The body altered, the signature kept (and the vector advanced so that it would win).
        var altered = genuine
        var content = programs[0]
        content.title = "kodit rewrote this"
        altered.body = .program(MVRegister(content, dot: Dot(.semas, genuine.vector[.semas] + 1)))
        altered.vector = VersionVector([.semas: genuine.vector[.semas] + 1])
        // 2. A record invented under semas's dot, signed with kodit's key.
        let koditKey = try DevelopmentPKI.signingKey(for: .kodit, in: dir.path)
        let inventedContent = data.program(owner: .semas, nativeID: "invented")
        let invented = try RecordVersion.authoring(.publishProgram(inventedContent), on: nil, key: inventedContent.key, by: .semas, clock: Self.t0)
        var borrowed = koditKey.sign(invented)
        borrowed.author = Dot(.semas, invented.vector[.semas])
        // 3. The same, signed openly as kodit: kodit may not author semas's programs.
        // 4. A version with its signature stripped.
        let stripped = try RecordVersion.authoring(.publishProgram(data.program(owner: .semas, nativeID: "stripped")), on: nil,
                                                   key: RecordKey(kind: .program, owner: .semas, localID: "stripped"), by: .semas, clock: Self.t0)
        // 5. semas's first version of the revised program, validly signed: old news, changes nothing.
        let older = try RecordVersion.authoring(.publishProgram(programs[2]), on: nil, key: programs[2].key, by: .semas, clock: Self.t0)
        let olderSigned = try DevelopmentPKI.signingKey(for: .semas, in: dir.path).sign(older)
        try await kodit.client.push([
            SignedVersion(altered, signature: signature).frame,
            SignedVersion(invented, signature: borrowed).frame,
            SignedVersion(invented, signature: koditKey.sign(invented)).frame,
            SignedVersion(stripped, signature: nil).frame,
            SignedVersion(older, signature: olderSigned).frame,
        ], to: kamco.url)

        #expect(try await kamco.replica.record(programs[0].key)?.program == programs[0])
        #expect(try await kamco.replica.record(inventedContent.key) == nil)
        #expect(try await kamco.replica.record(stripped.key) == nil)
        #expect(try await kamco.replica.record(revised.key)?.program == revised)
        let held = try await kamco.replica.quarantine()
        #expect(held.map(\.code).sorted() == ["signature_invalid", "signature_missing", "signing_key_unknown", "unauthorized_author"], "\(held.map { "\($0.code): \($0.reason)" })")
        #expect(held.allSatisfy { $0.source == .peer(.kodit) })
        let audit = try await kamco.replica.audit().filter { $0.action == "federation.reject" }
        #expect(audit.count == 1 && audit[0].actor == "peer:kodit" && audit[0].detail.contains("4 refused"), "\(audit.map(\.detail))")
        // The old version (5) is not applied either, and shows in the log as what it is.
        let stale = try await kamco.replica.audit().filter { $0.action == "federation.stale" }
        #expect(stale.count == 1 && stale.first?.actor == "peer:kodit" && stale.first?.target == programs[2].key.description && stale.first?.outcome == "ignored",
                "\(stale)")

        // A relay that alters what it serves fares no better: kamco still holds semas's own bytes.
        #expect(try await kamco.replica.digest() == (try await semas.replica.digest()))
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    /// A pipelined pull decodes and verifies the next page while it stores the current one
    /// (``Replica/prepare(_:)``): a forgery on a page read ahead is refused like one on the first.
    @Test("a pull verifies the pages it reads ahead: a relay's forgery on the third page of a pipelined catch-up is quarantined, the other 500 versions apply")
    func forgeryOnAPageReadAhead() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        // kodit does not verify (an old or hostile node): it stores what it is given.
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas, .kamco], signing: false)
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.kodit])
        var data = SyntheticData(seed: 72)
        let programs = (0..<501).map { data.program(owner: .semas, nativeID: "ahead-\($0)") }
        try await semas.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .semas)
        try await settle([kodit.link(to: semas)])
        // kodit rewrites the first program under semas's signature: it moves to the end of kodit's
        // feed, the third page of kamco's pull (pages of 200), which kamco reads ahead.
        let frame = try #require(try await semas.replica.feed(after: 0, limit: 600, for: .kodit).frames
            .compactMap { try? SignedVersion(frame: $0) }.first { $0.version.key == programs[0].key })
        var altered = frame.version
        var content = programs[0]
        content.title = "kodit rewrote this"
        altered.body = .program(MVRegister(content, dot: Dot(.semas, altered.vector[.semas] + 1)))
        altered.vector = VersionVector([.semas: altered.vector[.semas] + 1])
        try await kodit.replica.apply(encoded: [SignedVersion(altered, signature: frame.signature).frame], from: .peer(.semas))
        #expect(try await kodit.replica.record(programs[0].key)?.program?.title == "kodit rewrote this")

        let applied = try await kamco.link(to: kodit).catchUp()
        #expect(applied == 500)
        #expect(try await kamco.replica.record(programs[0].key) == nil)
        for program in programs.dropFirst() { #expect(try await kamco.replica.record(program.key)?.program == program) }
        let held = try await kamco.replica.quarantine()
        #expect(held.map(\.code) == ["signature_invalid"] && held.first?.recordKey == programs[0].key.description, "\(held.map { "\($0.code): \($0.reason)" })")
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("a pull that brings a version older than the one held (a relay behind, or replaying): not applied, counted on the link, audited once as federation.stale naming the peer and the key")
    func staleVersionFromARelay() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit, .kamco])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas, .kamco])
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.semas, .kodit])
        var data = SyntheticData(seed: 73)
        var program = data.program(owner: .semas, nativeID: "replayed")
        let other = data.program(owner: .semas, nativeID: "untouched")
        try await semas.replica.author([program, other].map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .semas)
        try await settle([kodit.link(to: semas)])
        // semas revises the program; kamco hears it directly, then reads kodit, which still serves the first version.
        program.title += " (개정)"
        try await semas.replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        try await settle([kamco.link(to: semas)])
        let relay = kamco.link(to: kodit)
        try await settle([relay])

        #expect(try await kamco.replica.record(program.key)?.program == program)
        #expect(relay.status.stale == 1 && relay.status.refused == 0)
        let stale = try await kamco.replica.audit().filter { $0.action == "federation.stale" }
        #expect(stale.count == 1 && stale.first?.actor == "peer:kodit" && stale.first?.target == program.key.description
                && stale.first?.detail.contains("older than the one held") == true, "\(stale)")
        #expect(try await kamco.replica.quarantine().isEmpty)
        #expect(try await kamco.replica.digest() == (try await semas.replica.digest()))
        // Reading kodit again brings nothing new and writes no second entry.
        try await settle([relay])
        #expect(try await kamco.replica.audit().filter { $0.action == "federation.stale" }.count == 1)
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("concurrent edits of a referral by its two parties travel as each author's signed version and converge through a relay")
    func concurrentVersionsTravelSigned() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit, .kamco])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas, .kamco])
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.semas, .kodit])
        var data = SyntheticData(seed: 72)
        var draft = data.referralDraft(origin: .semas, referralID: "r1")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .semas, localID: "r1")
        try await semas.replica.author(.createReferral(draft), key: key, by: .semas)
        try await settle([kamco.link(to: semas)])
        // Both parties write at once: semas adds a note, kamco acknowledges receipt.
        try await semas.replica.author(.addNote("서류 보완 요청 드림"), key: key, by: .semas)
        try await kamco.replica.author(.setStatus(.received), key: key, by: .kamco)
        // kodit (not a party) hears both and merges; kamco's and semas's merges come from kodit only.
        try await settle([kodit.link(to: semas), kodit.link(to: kamco)])
        let merged = try #require(try await kodit.replica.record(key))
        #expect(merged.vector[.semas] > 0 && merged.vector[.kamco] > 0)
        // What kodit serves for that record is the two signed versions, not an unsigned merge.
        let frames = try await kodit.replica.feed(after: 0, limit: 100, for: .semas, suppressingEchoes: false).frames
            .compactMap { try? SignedVersion(frame: $0) }.filter { $0.version.key == key }
        #expect(Set(frames.compactMap { $0.signature?.author.agency }) == [.semas, .kamco], "\(frames.map { $0.signature?.author.description ?? "unsigned" })")
        try await settle([semas.link(to: kodit), kamco.link(to: kodit)])
        let digests = [try await semas.replica.digest(), try await kodit.replica.digest(), try await kamco.replica.digest()]
        #expect(Set(digests).count == 1)
        #expect(try await semas.replica.quarantine().isEmpty)
        #expect(try await kamco.replica.quarantine().isEmpty)
        // A later edit by a party makes the record one signed version again.
        try await semas.replica.author(.addNote("확인 감사합니다"), key: key, by: .semas)
        try await settle([kodit.link(to: semas)])
        let whole = try await kodit.replica.feed(after: 0, limit: 100, for: .kamco, suppressingEchoes: false).frames
            .compactMap { try? SignedVersion(frame: $0) }.filter { $0.version.key == key }
        #expect(whole.count == 1 && whole.first?.signature?.author.agency == .semas)
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("a referral re-created under a new dot by a rebuilt origin: every replica, the origin included, converges to the join (kill -9 campaign, trial 5)")
    func recreatedReferralConverges() async throws {
        let keys = AgencyID.allCases.map { AgencySigningKey(agency: $0) }
        func replica(_ agency: AgencyID) throws -> Replica {
            var options = Replica.Options()
            options.authentication = VersionAuthentication(signer: keys.first { $0.agency == agency }, keys: keys.map(\.verifier))
            return try Replica.inMemory(options: options)
        }
        var data = SyntheticData(seed: 77)
        var draft = data.referralDraft(origin: .kodit, referralID: "R1")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .kodit, localID: "R1")
        // kodit creates the referral; its replica is lost; rebuilt, it creates it again before
        // hearing of the first (a later dot, a vector that dominates, a history without the first event).
        let first = try replica(.kodit), rebuilt = try replica(.kodit)
        try await first.author(.createReferral(draft), key: key, by: .kodit)
        try await Task.sleep(for: .milliseconds(5))
        try await rebuilt.author(.createReferral(draft), key: key, by: .kodit)
        let semas = try replica(.semas)
        try await semas.apply(encoded: try await first.feed(after: 0, limit: 10, for: .semas).frames, from: .peer(.kodit))
        try await semas.apply(encoded: try await rebuilt.feed(after: 0, limit: 10, for: .semas).frames, from: .peer(.kodit))
        let joined = try #require(try await semas.record(key)?.referral)
        #expect(joined.history.elements.count == 2, "both creations are kept: \(joined.history.elements)")
        // What semas serves makes a fresh replica and the rebuilt origin hold that same state.
        let kamco = try replica(.kamco)
        try await kamco.apply(encoded: try await semas.feed(after: 0, limit: 10, for: .kamco).frames, from: .peer(.semas))
        try await rebuilt.apply(encoded: try await semas.feed(after: 0, limit: 10, for: .kodit, suppressingEchoes: false).frames, from: .peer(.semas))
        let digest = try await semas.digest()
        #expect(try await kamco.digest() == digest)
        #expect(try await rebuilt.digest() == digest)
        #expect(try await kamco.quarantine().isEmpty)
        #expect(try await rebuilt.quarantine().isEmpty)
    }

    @Test("a server presenting another agency's valid certificate, or not the pinned one, is refused before any pull, and the link says why")
    func serverIdentity() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kamco])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.kamco])
        var data = SyntheticData(seed: 75)
        let program = data.program(owner: .kodit, nativeID: "k")
        try await kodit.replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .kodit)
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.semas, .kodit])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // kamco's file says semas is at kodit's address (a mistake, or a hijacked address).
        let misdirected = PeerLink(peer: .semas, localAgency: .kamco, url: kodit.url, client: kamco.client, replica: kamco.replica, logger: logger)
        await #expect { try await misdirected.syncOnce() } throws: { "\($0)".contains("presents the certificate of kodit, not of semas") }
        #expect(misdirected.status.lastError?.contains("presents the certificate of kodit") == true)
        #expect(misdirected.status.lastErrorCode == .refused)
        #expect(try await kamco.replica.record(program.key) == nil)
        // The right agency with a pin that is not its certificate: refused too.
        let pinned = PeerLink(peer: .kodit, localAgency: .kamco, url: kodit.url, client: kamco.client, replica: kamco.replica, logger: logger,
                              pin: "sha256:" + String(repeating: "0", count: 64))
        await #expect { try await pinned.syncOnce() } throws: { "\($0)".contains("other than the one pinned") }
        // The right agency, its real pin: pulls.
        let der = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("kodit.pem"))).base64Decoded(pem: true))
        let right = PeerLink(peer: .kodit, localAgency: .kamco, url: kodit.url, client: kamco.client, replica: kamco.replica, logger: logger,
                             pin: AgencyIdentity.fingerprint(derBytes: der))
        try await settle([right])
        #expect(try await kamco.replica.record(program.key)?.program == program)
        for node in [semas, kodit, kamco] { await node.stop() }
    }

    @Test("an auditor verifies a version's signature with openssl, from the public line and the documented envelope alone")
    func openSSLVerifies() throws {
        let dir = TemporaryDirectory()
        let key = AgencySigningKey(agency: .semas)
        var data = SyntheticData(seed: 76)
        let version = data.referralVersion(origin: .semas, referralID: "audit", at: Self.t0)
        let signature = key.sign(version)
        // What docs/EVIDENCE.md tells the auditor to do: the key is the base64 after the second '+',
        // less its 0x01 type byte, wrapped in an Ed25519 SubjectPublicKeyInfo.
        let line = key.verifier.text
        let raw = try #require(Data(base64Encoded: String(line.split(separator: "+", maxSplits: 2)[2])))
        #expect(raw.count == 33 && raw.first == 1)
        let spki = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + raw.dropFirst()
        try "-----BEGIN PUBLIC KEY-----\n\(spki.base64EncodedString())\n-----END PUBLIC KEY-----\n".write(toFile: dir.file("pub.pem"), atomically: true, encoding: .utf8)
        let envelope = SignedVersion.envelope(key: version.key, vector: version.vector, author: signature.author,
                                              bodyHash: Array(SHA256.hash(data: version.bodyBytes)), personalHash: signature.personalHash)
        try Data(envelope).write(to: URL(fileURLWithPath: dir.file("envelope.bin")))
        try Data(signature.signature).write(to: URL(fileURLWithPath: dir.file("sig.bin")))
        func openssl() throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir.file("pub.pem"), "-rawin",
                                 "-in", dir.file("envelope.bin"), "-sigfile", dir.file("sig.bin")]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(try openssl() == 0)
        var altered = envelope
        altered[altered.count - 40] ^= 1
        try Data(altered).write(to: URL(fileURLWithPath: dir.file("envelope.bin")))
        #expect(try openssl() != 0)

        // The batch form, as docs/EVIDENCE.md tells the auditor: the head from the leaf and the
        // path (RFC 9162 §2.1.3.2, written out here with nothing but SHA-256), then openssl.
        let versions = (0..<5).map { data.programVersion(owner: .semas, nativeID: "batch\($0)", at: Self.t0) }
        let signatures = key.sign(versions)
        let member = signatures[3], batch = try #require(member.batch)
        #expect(batch.size == 5 && batch.index == 3 && Set(signatures.map(\.signature)).count == 1)
        let memberEnvelope = SignedVersion.envelope(key: versions[3].key, vector: versions[3].vector, author: member.author,
                                                    bodyHash: Array(SHA256.hash(data: versions[3].bodyBytes)), personalHash: nil)
        var r = Array(SHA256.hash(data: [0x00] + memberEnvelope))
        var fn = Int(batch.index), sn = Int(batch.size) - 1
        for p in batch.path {
            if fn % 2 == 1 || fn == sn {
                r = Array(SHA256.hash(data: [0x01] + p + r))
                while fn % 2 == 0 && fn != 0 { fn /= 2; sn /= 2 }
            } else {
                r = Array(SHA256.hash(data: [0x01] + r + p))
            }
            fn /= 2
            sn /= 2
        }
        #expect(sn == 0)
        let message = Array("hanaro/batch/v1\n".utf8) + [UInt8(AgencyID.semas.index), 0, 5] + r
        try Data(message).write(to: URL(fileURLWithPath: dir.file("envelope.bin")))
        try Data(member.signature).write(to: URL(fileURLWithPath: dir.file("sig.bin")))
        #expect(try openssl() == 0)
        try Data(message.dropLast() + [message.last! ^ 1]).write(to: URL(fileURLWithPath: dir.file("envelope.bin")))
        #expect(try openssl() != 0)
    }

    @Test("key rotation: what the old key signed still verifies; a key retired cannot sign later history")
    func rotation() throws {
        let old = AgencySigningKey(agency: .semas), new = AgencySigningKey(agency: .semas)
        let retiredAt: UInt64 = 1_790_000_500_000
        let retired = try AgencyVerifierKey(text: old.verifier.text, retiredAtMilliseconds: retiredAt)
        let ring = VersionAuthentication(signer: nil, keys: [retired, new.verifier])
        var data = SyntheticData(seed: 73)
        let before = data.programVersion(owner: .semas, nativeID: "a", at: Self.t0)
        let after = data.programVersion(owner: .semas, nativeID: "b", at: HLCTimestamp(millisecondsSince1970: retiredAt + 1))
        #expect(throws: Never.self) { try ring.verify(SignedVersion(before, signature: old.sign(before))) }
        #expect(throws: Never.self) { try ring.verify(SignedVersion(after, signature: new.sign(after))) }
        #expect(throws: Never.self) { try ring.verify(SignedVersion(before, signature: new.sign(before))) }
        #expect { try ring.verify(SignedVersion(after, signature: old.sign(after))) } throws: { ($0 as? ValidationError)?.code == .signatureInvalid }
        // A key the agency file does not list at all.
        let stranger = AgencySigningKey(agency: .semas)
        #expect { try ring.verify(SignedVersion(before, signature: stranger.sign(before))) } throws: { ($0 as? ValidationError)?.code == .signingKeyUnknown }
        // Key texts round-trip; a private key file's text never equals its public line.
        #expect(try AgencySigningKey(text: old.text).verifier == old.verifier)
        #expect(try AgencyVerifierKey(text: old.verifier.text).text == old.verifier.text)
        #expect(!old.text.contains(old.verifier.text))
    }

    @Test("every single-byte change of a signed frame is refused or decodes to the very same version; every change of an envelope fails")
    func everyByte() throws {
        let semas = AgencySigningKey(agency: .semas)
        let ring = VersionAuthentication(signer: nil, keys: [semas.verifier])
        var data = SyntheticData(seed: 74)
        let program = data.programVersion(owner: .semas, nativeID: "x", at: Self.t0)
        let referral = data.referralVersion(origin: .semas, referralID: "y", at: Self.t0)
        for version in [program, referral] {
            let signed = SignedVersion(version, signature: semas.sign(version))
            try ring.verify(signed)
            let frame = signed.frame
            var refused = 0
            for index in frame.indices {
                var changed = frame
                changed[index] ^= 0x01
                do {
                    let decoded = try SignedVersion(frame: changed)
                    do {
                        try ring.verify(decoded)
                        // Accepted only if it means exactly what was signed (a reordering the reader normalises).
                        #expect(decoded.version == version, "byte \(index) of \(version.key)")
                    } catch { refused += 1 }
                } catch { refused += 1 }
            }
            #expect(refused >= frame.count - 2, "\(version.key): \(frame.count - refused) changes accepted")
            // The envelope itself: any change breaks the signature.
            let signature = try #require(signed.signature)
            let envelope = SignedVersion.envelope(key: version.key, vector: version.vector, author: signature.author,
                                                  bodyHash: Array(SHA256.hash(data: version.bodyBytes)), personalHash: signature.personalHash)
            let verifier = semas.verifier
            for index in envelope.indices {
                var changed = envelope
                changed[index] ^= 0x80
                #expect(!verifier.isValidSignature(signature.signature, for: changed))
            }
            #expect(verifier.isValidSignature(signature.signature, for: envelope))
        }
    }

    @Test("versions authored together are signed as batches of at most 64 (one Ed25519 signature over an RFC 6962 head): each verifies alone and relayed; a changed index, size or path, a path or signature from another version, any flipped byte fails; a head checked once is not trusted with other signature bytes")
    func batchSigned() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit, .kamco])
        var options = Replica.Options()
        options.authentication = try testAuthentication(for: .semas, in: dir)
        let semas = try Replica.inMemory(options: options)
        var data = SyntheticData(seed: 91)
        let programs = (0..<150).map { data.program(owner: .semas, nativeID: "b\($0)") }
        // One edit repeats a key: what came before it is committed (and signed) first.
        var revised = programs[3]
        revised.title += " (개정)"
        let edits = programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) } + [AuthoredEdit(key: revised.key, edit: .publishProgram(revised))]
        let outcomes = try await semas.author(edits, by: .semas)
        #expect(outcomes.filter { $0 == .inserted }.count == 150 && outcomes.last == .replaced)
        let frames = try await semas.feed(after: 0, limit: 1_000, for: .kamco).frames
        var decoded: [SignedVersion?] = try frames.map { try SignedVersion(frame: $0) }
        #expect(decoded.count == 150)
        // The page carries the second and third batches whole (64 and 22 versions), so it leaves
        // their paths out; the first lost a member to the revision, so its 63 keep theirs.
        let elided = decoded.indices.filter { decoded[$0]?.signature?.batch?.isPathElided == true }
        #expect(elided.count == 86)
        let ring = VersionAuthentication(signer: nil, keys: try testAuthentication(for: .kamco, in: dir).allKeys)
        #expect { try ring.verify(decoded[elided[0]]!) } throws: { ($0 as? ValidationError)?.code == .signatureInvalid }
        #expect(Set(BatchPaths.restore(&decoded)) == Set(elided))
        let signed = decoded.map { $0! }
        // 150 edits, then one alone: batches of 64, 64 and 22, and the revision signed directly.
        let inBatches: [(batch: BatchProof, signature: [UInt8])] = signed.compactMap { version in
            guard let signature = version.signature, let batch = signature.batch else { return nil }
            return (batch, signature.signature)
        }
        let batches = Dictionary(grouping: inBatches) { $0.signature }
        #expect(batches.values.map(\.count).sorted() == [22, 63, 64], "the revised program left the first batch")
        #expect(Set(batches.values.map { $0[0].batch.size }) == [22, 64])
        let direct = try #require(signed.first { $0.version.key == revised.key }?.signature)
        #expect(direct.batch == nil && direct.canonicalBytes.count == 70)
        for version in signed where version.version.key != revised.key {
            let batch = try #require(version.signature?.batch)
            #expect(batch.path.count == BatchProof.pathLength(index: Int(batch.index), size: Int(batch.size)))
            #expect(version.signature!.canonicalBytes.count == 74 + 32 * batch.path.count)
        }

        // A receiver that knows only the public keys verifies each version alone, and all of them.
        for version in signed { #expect(throws: Never.self) { try ring.verify(version) } }
        // The same frames relayed by kodit reach kamco as semas's bytes and apply, none quarantined.
        var koditOptions = Replica.Options(), kamcoOptions = Replica.Options()
        koditOptions.authentication = try testAuthentication(for: .kodit, in: dir)
        kamcoOptions.authentication = try testAuthentication(for: .kamco, in: dir)
        let kodit = try Replica.inMemory(options: koditOptions), kamco = try Replica.inMemory(options: kamcoOptions)
        try await kodit.apply(encoded: frames, from: .peer(.semas), withholdingFor: .kodit)
        let relayed = try await kodit.feed(after: 0, limit: 1_000, for: .kamco).frames
        #expect(Set(relayed) == Set(frames))
        try await kamco.apply(encoded: relayed, from: .peer(.kodit), withholdingFor: .kamco)
        #expect(try await kamco.quarantine().isEmpty)
        let sourceDigest = try await semas.digest()
        #expect(try await kamco.digest() == sourceDigest)
        // A page that carries a batch without its paths, less one of its versions (or one twice):
        // the others cannot be rebuilt and are refused, nothing else is.
        let partial = try Replica.inMemory(options: kamcoOptions)
        let thirdBatch = elided.filter { decoded[$0]!.signature!.batch!.size == 22 }
        try await partial.apply(encoded: frames.enumerated().filter { $0.offset != thirdBatch[0] }.map(\.element) + [frames[thirdBatch[1]]],
                                from: .peer(.semas), withholdingFor: .kamco)
        let refusedFrames = try await partial.quarantine()
        // 21 members, the one sent twice held once.
        #expect(refusedFrames.count == 21 && Set(refusedFrames.map(\.code)) == ["signature_invalid"], "\(refusedFrames.map(\.code))")
        #expect(try await partial.record(signed[thirdBatch[0]].version.key) == nil)
        #expect(try await partial.record(signed[elided[0]].version.key) != nil)
        // A relay that alters one version of a batch it sends whole: the rebuilt head is not what
        // the author signed, so no version of that batch applies (none can be told apart).
        var tampered = try SignedVersion(frame: frames[thirdBatch[0]])
        #expect(tampered.signature?.batch?.isPathElided == true)
        var altered = try #require(tampered.version.program)
        altered.title = "rewritten by the relay"
        tampered.version.body = .program(MVRegister(altered, dot: tampered.signature!.author))
        var forgedFrames = frames
        forgedFrames[thirdBatch[0]] = tampered.frame
        let fooled = try Replica.inMemory(options: kamcoOptions)
        try await fooled.apply(encoded: forgedFrames, from: .peer(.kodit), withholdingFor: .kamco)
        let held = try await fooled.quarantine()
        #expect(held.count == 22 && Set(held.map(\.code)) == ["signature_invalid"])
        for position in thirdBatch { #expect(try await fooled.record(signed[position].version.key) == nil) }
        #expect(try await fooled.record(signed[elided[0]].version.key) != nil)

        // Forgeries built from genuine parts.
        let members = signed.filter { $0.signature?.batch?.size == 64 }
        let first = members[0], second = try #require(members.first { $0.signature!.signature == first.signature!.signature && $0.signature!.batch!.index != first.signature!.batch!.index })
        func refused(_ version: SignedVersion, _ what: Comment) {
            #expect(throws: ValidationError.self, what) { try ring.verify(version) }
        }
        var swapped = first
        swapped.signature!.batch!.path = second.signature!.batch!.path
        refused(swapped, "another leaf's path")
        var moved = first
        moved.signature!.batch!.index = second.signature!.batch!.index
        refused(moved, "another index")
        var resized = first
        resized.signature!.batch!.size = 63
        resized.signature!.batch!.path = Array(first.signature!.batch!.path.prefix(BatchProof.pathLength(index: Int(first.signature!.batch!.index), size: 63)))
        refused(resized, "another size")
        var otherHead = first
        otherHead.signature!.signature = try #require(batches.keys.first { $0 != first.signature!.signature })
        refused(otherHead, "another batch's signature")
        var bodyChanged = first
        var content = try #require(first.version.program)
        content.title = "altered"
        bodyChanged.version.body = .program(MVRegister(content, dot: first.signature!.author))
        refused(bodyChanged, "an altered body under the batch's signature")
        // A head verified once is remembered with its signature bytes, not alone.
        var seen = VerifiedBatches()
        try ring.verify(first, batches: &seen)
        var badSignature = second
        badSignature.signature!.signature[5] ^= 1
        #expect(throws: ValidationError.self) { try ring.verify(badSignature, batches: &seen) }
        #expect(throws: Never.self) { try ring.verify(second, batches: &seen) }

        // Every single-byte change of a batch-signed frame is refused or decodes to the same version.
        let frame = first.frame
        var accepted = 0
        for index in frame.indices {
            var changed = frame
            changed[index] ^= 0x01
            guard let decoded = try? SignedVersion(frame: changed), (try? ring.verify(decoded)) != nil else { continue }
            #expect(decoded.version == first.version, "byte \(index)")
            accepted += 1
        }
        #expect(accepted <= 2, "\(accepted) changes accepted")
    }

    @Test("a signature names its author's agency, not the whole dot (the counter is the vector's entry): 70 bytes for a program; a replica whose signatures are in the first form is rewritten when opened (v7), and its frames verify at a peer")
    func compactSignatures() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kamco])
        var options = Replica.Options()
        options.authentication = try testAuthentication(for: .semas, in: dir)
        let path = dir.file("semas.sqlite"), replicaKey = try ReplicaKey.create(at: dir.file("semas.key"))
        var data = SyntheticData(seed: 83)
        let program = data.program(owner: .semas, nativeID: "c1")
        var draft = data.referralDraft(origin: .semas, referralID: "r1")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let referralKey = RecordKey(kind: .referral, owner: .semas, localID: "r1")
        var original: [[UInt8]] = []
        do {
            let replica = try Replica(path: path, key: replicaKey, options: options)
            // Authored one at a time, each is signed directly (the batch form: `batchSigned`).
            try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
            try await replica.author([AuthoredEdit(key: referralKey, edit: .createReferral(draft))], by: .semas)
            original = try await replica.feed(after: 0, limit: 10, for: .kamco).frames
        }
        let signed = try original.map { try SignedVersion(frame: $0) }
        let programSignature = try #require(signed.first { $0.version.key == program.key }?.signature)
        let referralSignature = try #require(signed.first { $0.version.key == referralKey }?.signature)
        #expect(programSignature.canonicalBytes.count == 70)
        #expect(programSignature.author == Dot(.semas, signed[0].version.vector[.semas]))
        #expect(referralSignature.sealed.count >= 1)
        // Decoded after another vector, the author has no counter, and no verifier takes it.
        let orphan = try VersionSignature(canonicalBytes: programSignature.canonicalBytes, vector: VersionVector([.kamco: 7]))
        #expect(orphan.author == Dot(.semas, 0))
        var forged = signed[0]
        forged.version.vector = VersionVector([.kamco: 7])
        forged.signature = orphan
        #expect(throws: ValidationError.self) { try options.authentication!.verify(forged) }
        // Truncated or padded, it does not decode.
        for bad in [Array(programSignature.canonicalBytes.dropLast()), programSignature.canonicalBytes + [0]] {
            #expect(throws: ValidationError.self) { try VersionSignature(canonicalBytes: bad, vector: signed[0].version.vector) }
        }

        // The same file as the first version of signatures left it: every stored signature in the
        // first form (whole dot, varint key ids, length prefixes), migration v7 not yet run.
        func legacy(_ signature: VersionSignature) -> [UInt8] {
            var writer = CanonicalWriter()
            writer.write(signature.author)
            writer.write(UInt64(signature.keyID))
            writer.writeOptional(signature.personalHash) { $0.write(bytes: $1) }
            writer.write(bytes: signature.signature)
            if !signature.sealed.isEmpty {
                writer.write(UInt64(signature.sealed.count))
                for part in signature.sealed {
                    writer.write(UInt8(part.recipient.index))
                    writer.write(UInt64(part.keyID))
                    writer.write(bytes: part.encapsulatedKey)
                    writer.write(bytes: part.ciphertext)
                }
            }
            return writer.bytes
        }
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        let sql = signed.map { "UPDATE record SET signature = x'\(hex(legacy($0.signature!)))' WHERE key = '\($0.version.key)';" }.joined()
            + "DELETE FROM grdb_migrations WHERE identifier = 'v7-compact-signatures';"
        let tampered = try runToEnd(URL(fileURLWithPath: "/usr/bin/env"), ["sqlite3", path, sql])
        #expect(tampered.status == 0, "\(String(decoding: tampered.stderr, as: UTF8.self))")

        // A peer not yet upgraded sends frames of the first form: read as such, and verified.
        var kamcoOptions = Replica.Options()
        kamcoOptions.authentication = try testAuthentication(for: .kamco, in: dir)
        let upgraded = try Replica.inMemory(options: kamcoOptions)
        try await upgraded.apply(encoded: signed.map { $0.version.canonicalBytes + legacy($0.signature!) }, from: .peer(.semas), withholdingFor: .kamco)
        #expect(try await upgraded.quarantine().isEmpty)
        #expect(try await upgraded.record(program.key)?.program == program)
        // A first-form frame whose dot is not the vector's entry is refused as before.
        var borrowedDot = programSignature
        borrowedDot.author = Dot(.semas, signed[0].version.vector[.semas] + 1)
        try await upgraded.apply(encoded: [signed[0].version.canonicalBytes + legacy(borrowedDot)], from: .peer(.semas))
        #expect(try await upgraded.quarantine().map(\.code) == ["signature_invalid"])

        let reopened = try Replica(path: path, key: replicaKey, options: options)
        let migrated = try await reopened.feed(after: 0, limit: 10, for: .kamco).frames
        #expect(migrated == original)
        // And a peer that verifies applies every frame, the referral's contact with it.
        let kamco = try Replica.inMemory(options: kamcoOptions)
        try await kamco.apply(encoded: migrated, from: .peer(.semas), withholdingFor: .kamco)
        #expect(try await kamco.quarantine().isEmpty)
        #expect(try await kamco.record(program.key)?.program == program)
        #expect(try await kamco.record(referralKey)?.referral?.personal.value.fields == draft.personal)
    }
}
