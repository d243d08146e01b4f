import Foundation
import HanaroCore
import HanaroEvidence
import HanaroFixtures
import HanaroStore
import HanaroFederation
import HanaroTesting
import Logging
import Synchronization
import Testing

/// The agencies' transparency logs (docs/EVIDENCE.md): what joins them, how a witness checks and
/// cosigns a checkpoint, and what it does with one that contradicts what it cosigned.
@Suite("Transparency log and witnesses")
struct TransparencyLogTests {
    let keys = AgencyID.allCases.map { AgencySigningKey(agency: $0) }

    func replica(_ agency: AgencyID) throws -> Replica {
        var options = Replica.Options()
        options.authentication = VersionAuthentication(signer: keys.first { $0.agency == agency }, keys: keys.map(\.verifier))
        return try Replica.inMemory(options: options)
    }

    func key(_ agency: AgencyID) -> AgencySigningKey { keys.first { $0.agency == agency }! }

    /// Signs `checkpoint` with `agency`'s real key, as a compromised or buggy node would.
    func sign(_ checkpoint: HanaroEvidence.Checkpoint, as agency: AgencyID) throws -> String {
        try NoteSigner(key(agency).text).sign(checkpoint.text)
    }

    /// semas with three programs and one audit entry, checkpointed.
    func authoredLog() async throws -> (semas: Replica, note: LogNote) {
        let semas = try replica(.semas)
        var data = SyntheticData(seed: 11)
        for i in 1...3 {
            let program = data.program(owner: .semas, nativeID: "S-\(i)")
            try await semas.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        }
        try await semas.appendAudit(actor: "admin:test", action: "test", target: "t", outcome: "ok", detail: "one entry")
        return (semas, try #require(try await semas.makeCheckpoint()))
    }

    /// The same, mirrored and cosigned by kodit.
    func cosignedPair() async throws -> (semas: Replica, kodit: Replica, note: LogNote) {
        let (semas, note) = try await authoredLog()
        let kodit = try replica(.kodit)
        let leaves = try await semas.logLeaves(origin: note.origin, from: 0, limit: 100)
        _ = try await kodit.mirrorLeaves(origin: note.origin, agency: .semas, from: 0, leaves: leaves)
        guard case .cosigned(let line) = try await kodit.witness(note: note.note, from: .semas) else {
            Issue.record("kodit did not cosign")
            return (semas, kodit, note)
        }
        #expect(try await semas.addCosignature(to: note.id, line: line, witness: .kodit))
        return (semas, kodit, note)
    }

    @Test("every signed version and audit entry is a leaf; the checkpoint carries the audit head; a witness needs the leaves, checks them and cosigns; the author keeps the cosignature")
    func witnessRound() async throws {
        let (semas, note) = try await authoredLog()
        let kodit = try replica(.kodit)
        #expect(note.size == 4, "three versions and one audit entry")
        #expect(note.origin == "hanaro/semas/\(semas.epoch)")
        let text = try SignedNote(parsing: note.note).text
        let checkpoint = try HanaroEvidence.Checkpoint(parsing: text)
        let audit = try #require(try await semas.audit(limit: 1).first)
        #expect(checkpoint.extensionLines.first?.hasPrefix("audit \(audit.seq) ") == true, "\(text)")
        // Unchanged log: the same checkpoint, not a new one.
        #expect(try await semas.makeCheckpoint()?.id == note.id)

        // The witness lacks the leaves, then gets them and cosigns.
        #expect(try await kodit.witness(note: note.note, from: .semas) == .needLeaves(size: 0))
        let leaves = try await semas.logLeaves(origin: note.origin, from: 0, limit: 100)
        #expect(leaves.map(\.kind) == ["version", "version", "version", "audit"])
        let wrongStart = try await kodit.mirrorLeaves(origin: note.origin, agency: .semas, from: 2, leaves: leaves)
        #expect(!wrongStart.accepted && wrongStart.size == 0)
        let mirrored = try await kodit.mirrorLeaves(origin: note.origin, agency: .semas, from: 0, leaves: leaves)
        #expect(mirrored.accepted && mirrored.size == 4)
        // Only the log's own agency may have it witnessed.
        guard case .refused = try await kodit.witness(note: note.note, from: .kamco) else {
            Issue.record("a checkpoint of semas offered by kamco was not refused")
            return
        }
        guard case .cosigned(let line) = try await kodit.witness(note: note.note, from: .semas) else {
            Issue.record("kodit did not cosign")
            return
        }
        // A cosignature line made by another key under kodit's name is not kept.
        let forged = try NoteSigner(key(.kamco).text).cosigner.cosignature(for: checkpoint, timestamp: 1_700_000_000)
        let renamed = NoteSignature(name: "kodit", keyID: forged.keyID, bytes: forged.bytes).line
        #expect(try await !semas.addCosignature(to: note.id, line: renamed, witness: .kodit))
        #expect(try await semas.addCosignature(to: note.id, line: line, witness: .kodit))
        let kept = try #require(try await semas.ownCheckpoints(limit: 1).first)
        #expect(kept.cosigners == [.kodit])
        // The cosignature verifies with the C2SP cosignature/v1 verifier of kodit's public key.
        let opened = try SignedNote.open(kept.note, verifiers: [key(.semas).verifier.noteVerifier, key(.kodit).verifier.cosignatureVerifier])
        #expect(opened.verifiers.count == 2)
        // The witness's view.
        let status = try await kodit.logStatus()
        #expect(status.witnessed.map(\.agency) == [.semas] && status.witnessed.first?.size == 4 && status.equivocations == 0)
    }

    @Test("a checkpoint that contradicts a cosigned one (another root, a shrunken log, an audit log rolled back) is refused, kept as proof (once per log) and audited")
    func equivocation() async throws {
        let (_, kodit, note) = try await cosignedPair()
        let held = try HanaroEvidence.Checkpoint(parsing: try SignedNote(parsing: note.note).text)
        let auditLine = held.extensionLines[0]
        let forks = [
            try HanaroEvidence.Checkpoint(origin: held.origin, size: held.size, rootHash: [UInt8](repeating: 7, count: 32), extensionLines: [auditLine]),
            try HanaroEvidence.Checkpoint(origin: held.origin, size: held.size - 1, rootHash: held.rootHash, extensionLines: [auditLine]),
            try HanaroEvidence.Checkpoint(origin: held.origin, size: held.size, rootHash: held.rootHash,
                           extensionLines: [TransparencyLog.auditLine(seq: 0, hash: [UInt8](repeating: 0, count: 32))]),
        ]
        for fork in forks {
            guard case .equivocation(let reason) = try await kodit.witness(note: try sign(fork, as: .semas), from: .semas) else {
                Issue.record("not detected: \(fork.text)")
                continue
            }
            #expect(!reason.isEmpty)
        }
        // One proof per log is kept (a peer repeating contradictions costs no more rows).
        #expect(try await kodit.logStatus().equivocations == 1)
        let proofs = try await kodit.equivocations()
        #expect(proofs.count == 1 && proofs.allSatisfy { $0.agency == "semas" })
        #expect(try await kodit.audit(limit: 10).filter { $0.action == "log.equivocation" }.count == 1)
        // The cosigned checkpoint still stands: offering it again is cosigned.
        guard case .cosigned = try await kodit.witness(note: note.note, from: .semas) else {
            Issue.record("the cosigned checkpoint was not cosigned again")
            return
        }
    }

    @Test("an older checkpoint consistent with the cosigned one (offered again, or the empty log's) is answered with the size held: no equivocation, no proof, no audit entry")
    func olderCheckpoint() async throws {
        let (semas, kodit, note) = try await cosignedPair()
        var data = SyntheticData(seed: 13)
        let program = data.program(owner: .semas, nativeID: "S-8")
        try await semas.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        let next = try #require(try await semas.makeCheckpoint())
        _ = try await kodit.mirrorLeaves(origin: next.origin, agency: .semas, from: note.size,
                                         leaves: try await semas.logLeaves(origin: next.origin, from: note.size, limit: 10))
        guard case .cosigned = try await kodit.witness(note: next.note, from: .semas) else {
            Issue.record("kodit did not cosign the newer checkpoint")
            return
        }
        // The genuine older checkpoint, and the log's empty one, signed by semas.
        let empty = try HanaroEvidence.Checkpoint(origin: note.origin, size: 0, rootHash: MerkleHash.emptyTree,
                                                  extensionLines: [TransparencyLog.auditLine(seq: 0, hash: [UInt8](repeating: 0, count: 32))])
        for older in [note.note, try sign(empty, as: .semas)] {
            #expect(try await kodit.witness(note: older, from: .semas) == .alreadyCosigned(size: next.size))
        }
        #expect(try await kodit.logStatus().equivocations == 0)
        #expect(try await kodit.audit(limit: 20).allSatisfy { $0.action != "log.equivocation" })
        // A smaller checkpoint with another root still is one.
        let fork = try HanaroEvidence.Checkpoint(origin: note.origin, size: 2, rootHash: [UInt8](repeating: 9, count: 32),
                                                 extensionLines: [TransparencyLog.auditLine(seq: 0, hash: [UInt8](repeating: 0, count: 32))])
        guard case .equivocation(let reason) = try await kodit.witness(note: try sign(fork, as: .semas), from: .semas) else {
            Issue.record("a smaller checkpoint with another root was not an equivocation")
            return
        }
        #expect(reason.contains("two roots for 2 leaves"), "\(reason)")
        #expect(try await kodit.logStatus().equivocations == 1)
    }

    @Test("leaves that do not make the checkpoint's root are dropped and never cosigned; the author's real leaves then are")
    func leavesThatDoNotMatch() async throws {
        let (semas, kodit, note) = try await cosignedPair()
        var data = SyntheticData(seed: 12)
        let program = data.program(owner: .semas, nativeID: "S-9")
        try await semas.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        let next = try #require(try await semas.makeCheckpoint())
        #expect(next.size == note.size + 1)
        var leaves = try await semas.logLeaves(origin: next.origin, from: note.size, limit: 10)
        leaves[0].hash[31] ^= 1
        _ = try await kodit.mirrorLeaves(origin: next.origin, agency: .semas, from: note.size, leaves: leaves)
        guard case .refused = try await kodit.witness(note: next.note, from: .semas) else {
            Issue.record("a checkpoint over altered leaves was not refused")
            return
        }
        #expect(try await kodit.witness(note: next.note, from: .semas) == .needLeaves(size: note.size), "the altered leaf was dropped")
        let real = try await semas.logLeaves(origin: next.origin, from: note.size, limit: 10)
        _ = try await kodit.mirrorLeaves(origin: next.origin, agency: .semas, from: note.size, leaves: real)
        guard case .cosigned = try await kodit.witness(note: next.note, from: .semas) else {
            Issue.record("the real leaves were not cosigned")
            return
        }
    }

    @Test("audit leaves parse back; origins name their agency; keys' listed form round-trips; anything else is refused")
    func formats() throws {
        let hash = (0..<32).map { UInt8($0) }
        let entry = TransparencyLog.auditEntry(seq: 42, hash: hash)
        #expect(TransparencyLog.parseAuditEntry(entry)?.seq == 42 && TransparencyLog.parseAuditEntry(entry)?.hash == hash)
        #expect(TransparencyLog.parseAuditEntry(Array(entry.dropLast())) == nil)
        #expect(TransparencyLog.agency(ofOrigin: "hanaro/kamco/abc") == .kamco)
        for bad in ["hanaro/kamco/", "hanaro/nobody/x", "other/kamco/x", "hanaro/kamco/x/y", "hanaro/kamco/a b"] {
            #expect(TransparencyLog.agency(ofOrigin: bad) == nil, "\(bad)")
        }
        // A key's listed form (agency files, bundles) round-trips, retirement included.
        var retired = keys[0].verifier
        retired.retiredAtMilliseconds = 1_780_000_000_000
        #expect(retired.listed.hasSuffix(" retired 2026-05-28T20:26:40Z"))
        #expect(try AgencyVerifierKey(listed: retired.listed) == retired)
        #expect(try AgencyVerifierKey(listed: keys[1].verifier.listed) == keys[1].verifier)
        #expect(throws: SigningKeyError.self) { try AgencyVerifierKey(listed: keys[0].verifier.text + " retired yesterday") }
        #expect(throws: SigningKeyError.self) { try AgencyVerifierKey(listed: keys[0].verifier.text + " gone") }
    }

    @Test("a bundle forged whole with keys of one's own is consistent under the keys it lists, and valid under none: the published keys name the signer's key as unknown")
    func forgedBundle() async throws {
        // Given a federation of impostors: every agency's key made up, a log cosigned by the fake kodit.
        let fakes = AgencyID.allCases.map { AgencySigningKey(agency: $0) }
        func impostor(_ agency: AgencyID) throws -> Replica {
            var options = Replica.Options()
            options.authentication = VersionAuthentication(signer: fakes.first { $0.agency == agency }, keys: fakes.map(\.verifier))
            return try Replica.inMemory(options: options)
        }
        let semas = try impostor(.semas), kodit = try impostor(.kodit)
        var data = SyntheticData(seed: 14)
        let program = data.program(owner: .semas, nativeID: "S-1")
        try await semas.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        let note = try #require(try await semas.makeCheckpoint())
        _ = try await kodit.mirrorLeaves(origin: note.origin, agency: .semas, from: 0, leaves: try await semas.logLeaves(origin: note.origin, from: 0, limit: 10))
        guard case .cosigned(let line) = try await kodit.witness(note: note.note, from: .semas) else {
            Issue.record("the fake kodit did not cosign")
            return
        }
        #expect(try await semas.addCosignature(to: note.id, line: line, witness: .kodit))
        let bundle = try await semas.exportEvidence(program.key)
        // When it is checked with no keys pinned, it is consistent, but not valid.
        let unpinned = Replica.verifyEvidence(bundle, keys: nil)
        #expect(unpinned.unpinned && !unpinned.valid && unpinned.problem?.contains("--agencies DIR") == true && unpinned.problem?.contains("--config FILE") == true,
                "\(unpinned.problem ?? "valid")")
        // Under the federation's published keys, it is invalid, and the reason names the unknown key.
        let fakeID = NoteVerifier.text(ofKeyID: fakes.first { $0.agency == .semas }!.verifier.noteVerifier.keyID)
        let pinned = Replica.verifyEvidence(bundle, keys: keys.map(\.verifier))
        #expect(!pinned.valid && !pinned.unpinned)
        #expect(pinned.problem?.contains("semas's key \(fakeID), which is not among semas's published keys: agencies/semas.yaml") == true, "\(pinned.problem ?? "valid")")
        #expect(pinned.problem?.contains("altered after export") == false)
    }

    @Test("a bundle exported from the store verifies offline under pinned keys; under only the keys it lists it is consistent but not valid; a stranger's keys refuse it")
    func bundleFromTheStore() async throws {
        let (semas, kodit, _) = try await cosignedPair()
        let key = RecordKey(kind: .program, owner: .semas, localID: "S-2")
        let bundle = try await semas.exportEvidence(key)
        let verdict = Replica.verifyEvidence(bundle, keys: nil)
        #expect(!verdict.valid && verdict.unpinned && verdict.problem?.contains("prove nothing") == true, "\(verdict.problem ?? "")")
        #expect(verdict.facts.contains { $0.contains("cosigned by kodit") })
        #expect(Replica.verifyEvidence(bundle, keys: keys.map(\.verifier)).valid)
        let strangers = AgencyID.allCases.map { AgencySigningKey(agency: $0).verifier }
        #expect(!Replica.verifyEvidence(bundle, keys: strangers).valid)
        // The fuzz corpus's seeds come from here: HANARO_FUZZ_SEEDS=<dir> writes them.
        if let dir = ProcessInfo.processInfo.environment["HANARO_FUZZ_SEEDS"] {
            try bundle.write(toFile: dir + "/evidence-bundle/store-bundle", atomically: true, encoding: .utf8)
            let note = try #require(try await semas.ownCheckpoints(limit: 1).first?.note)
            try note.write(toFile: dir + "/log-checkpoint/cosigned-checkpoint", atomically: true, encoding: .utf8)
            let leaves = try await semas.logLeaves(origin: try #require(try await semas.ownCheckpoints(limit: 1).first?.origin), from: 0, limit: 10)
            let body = "{\"origin\":\"\(try #require(try await semas.logStatus().origin))\",\"from\":0,\"leaves\":[" + leaves.map {
                "{\"kind\":\"\($0.kind)\",\"ref\":\"\($0.ref)\",\"hash\":\"\(Data($0.hash).base64EncodedString())\"}"
            }.joined(separator: ",") + "]}"
            try body.write(toFile: dir + "/log-checkpoint/leaves-body", atomically: true, encoding: .utf8)
        }
        _ = kodit
    }
}

/// The witness round over real mutual TLS: a node offers its checkpoint to a peer, sends the
/// leaves it lacks, keeps the cosignature; told of a contradiction, it continues under a new log.
@Suite("Witnessing over mTLS")
struct WitnessingOverTLSTests {
    @Test("a round gets the checkpoint cosigned; a witness holding a contradicting checkpoint makes the node start a new log, which is cosigned")
    func roundAndRestart() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var logger = Logger(label: "test.witnessing")
        logger.logLevel = .critical
        let witnessing = LogWitnessing(replica: semas.replica, client: semas.client, witnesses: [.init(agency: .kodit, url: kodit.url)],
                                       interval: .seconds(60), logger: logger)
        var data = SyntheticData(seed: 51)
        for i in 0..<3 {
            let program = data.program(owner: .semas, nativeID: "W-\(i)")
            try await semas.replica.author(.publishProgram(program), key: program.key, by: .semas)
        }
        await witnessing.round()
        let first = try await semas.replica.logStatus()
        #expect(first.cosigners == [.kodit] && first.checkpointSize == 3, "\(witnessing.problems.withLock { $0 })")
        #expect(try await kodit.replica.logStatus().witnessed.first?.size == 3)

        // kodit holds a cosigned checkpoint this log cannot extend (as after a restore from an old
        // copy that then wrote something else): two more leaves, not semas's, cosigned.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", dir.file("kodit.sqlite"), """
            INSERT INTO log_leaf(origin, idx, hash, kind, ref, entry) SELECT origin, 3, randomblob(32), 'version', 'other', x'' FROM log_witness;
            INSERT INTO log_leaf(origin, idx, hash, kind, ref, entry) SELECT origin, 4, randomblob(32), 'version', 'other', x'' FROM log_witness;
            UPDATE log_witness SET cosigned_size = 5
            """]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let program = data.program(owner: .semas, nativeID: "W-9")
        try await semas.replica.author(.publishProgram(program), key: program.key, by: .semas)
        await witnessing.round()
        #expect(witnessing.problems.withLock { $0[.kodit] }?.contains("equivocation: two roots for 4 leaves") == true, "\(witnessing.problems.withLock { $0 })")
        #expect(try await kodit.replica.logStatus().equivocations == 1)
        let restart = try #require(try await semas.replica.audit().first { $0.action == "log.restart" })
        let now = try await semas.replica.logStatus()
        #expect(now.origin == restart.target && now.origin != first.origin)
        // The new log is cosigned at the next round.
        await witnessing.round()
        #expect(try await semas.replica.logStatus().cosigners == [.kodit], "\(witnessing.problems.withLock { $0 })")
        await semas.stop()
        await kodit.stop()
    }
}

extension WitnessingOverTLSTests {
    @Test("a witness address that answers with another agency's certificate is sent nothing, and the problem says whose certificate it is")
    func witnessAnswersAsAnother() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit, .kamco] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit, .kamco])
        let kamco = try await TestNode(agency: .kamco, dir: dir, peers: [.semas])
        var logger = Logger(label: "test.witnessing")
        logger.logLevel = .critical
        // kodit's address, as semas's agency file says it, is kamco's node.
        let witnessing = LogWitnessing(replica: semas.replica, client: semas.client, witnesses: [.init(agency: .kodit, url: kamco.url)],
                                       interval: .seconds(60), logger: logger)
        var data = SyntheticData(seed: 52)
        let program = data.program(owner: .semas, nativeID: "W-1")
        try await semas.replica.author(.publishProgram(program), key: program.key, by: .semas)
        await witnessing.round()
        let problem = witnessing.problems.withLock { $0[.kodit] } ?? ""
        #expect(problem.contains("presents the certificate of kamco, not of kodit"), "\(problem)")
        #expect(try await kamco.replica.logStatus().witnessed.isEmpty, "kamco was sent semas's log as if it were kodit")
        #expect(try await semas.replica.logStatus().cosigners.isEmpty)
        await semas.stop()
        await kamco.stop()
    }
}

extension WitnessingOverTLSTests {
    @Test("a node restored from a copy whose newest checkpoint the witness has passed is told so (no equivocation, no alert at the witness) and starts a new log")
    func restoredBehindTheWitness() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var logger = Logger(label: "test.witnessing")
        logger.logLevel = .critical
        func witnessing(_ node: TestNode) -> LogWitnessing {
            LogWitnessing(replica: node.replica, client: node.client, witnesses: [.init(agency: .kodit, url: kodit.url)], interval: .seconds(60), logger: logger)
        }
        var data = SyntheticData(seed: 53)
        func write(_ node: TestNode) async throws {
            let program = data.program(owner: .semas, nativeID: "R-\(UUID().uuidString.prefix(8))")
            try await node.replica.author(.publishProgram(program), key: program.key, by: .semas)
        }
        // Given semas's log cosigned by kodit, then a checkpoint signed but not yet offered,
        var semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        try await write(semas)
        await witnessing(semas).round()
        try await write(semas)
        let uncosigned = try #require(try await semas.replica.makeCheckpoint())
        #expect(uncosigned.cosigners.isEmpty)
        // and a copy of the file taken then,
        await semas.stop()
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: dir.file("semas.sqlite" + suffix)) {
            try FileManager.default.copyItem(atPath: dir.file("semas.sqlite" + suffix), toPath: dir.file("semas-backup.sqlite" + suffix))
        }
        try FileManager.default.copyItem(atPath: dir.file("semas.key"), toPath: dir.file("semas-backup.key"))
        // and the node going on: that checkpoint and a newer one cosigned,
        semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        await witnessing(semas).round()
        try await write(semas)
        await witnessing(semas).round()
        let held = try #require(try await kodit.replica.logStatus().witnessed.first?.size)
        #expect(held > uncosigned.size)
        await semas.stop()
        // When semas is restored from the copy and offers its newest checkpoint (genuine, older),
        let restored = try await TestNode(agency: .semas, dir: dir, peers: [.kodit], replicaName: "semas-backup")
        let round = witnessing(restored)
        await round.round()
        // Then kodit answers with the size it cosigned: no equivocation, no proof, no audit entry;
        #expect(try await kodit.replica.logStatus().equivocations == 0)
        #expect(try await kodit.replica.audit(limit: 50).allSatisfy { $0.action != "log.equivocation" })
        // and semas, behind what kodit cosigned, continues under a new log, which is cosigned.
        let problem = round.problems.withLock { $0[.kodit] } ?? ""
        #expect(problem.contains("holds a cosigned checkpoint of \(held) leaves") && problem.contains("behind what the witness cosigned"), "\(problem)")
        let restart = try #require(try await restored.replica.audit().first { $0.action == "log.restart" })
        #expect(try await restored.replica.logStatus().origin == restart.target && restart.target != uncosigned.origin)
        // The new log has no checkpoint until the next round: its audit log is not broken for that.
        let before = try await restored.replica.verifyAuditAnchored()
        #expect(before.intact, "\(before.problem ?? "")")
        await round.round()
        #expect(try await restored.replica.logStatus().cosigners == [.kodit], "\(round.problems.withLock { $0 })")
        await restored.stop()
        await kodit.stop()
    }
}
