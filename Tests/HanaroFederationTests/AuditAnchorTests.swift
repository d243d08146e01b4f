import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Logging
import Synchronization
import Testing

/// `hanaro audit verify --db` at the store: a copy of a replica whose log a real witness cosigned
/// over mTLS, tampered with from outside (sqlite3). Only a witness's cosignature anchors entries;
/// every audit leaf the file holds is checked, not only those under the newest checkpoint.
@Suite("Audit anchors offline")
struct AuditAnchorTests {
    /// semas, its log cosigned by kodit through entry `anchored`, then `tail` more entries in a
    /// checkpoint semas signed but no witness cosigned. The file is copied by `copy`.
    struct Setup {
        let dir: TemporaryDirectory
        let keys: [AgencyVerifierKey]
        let anchored: Int64
        let last: Int64

        func copy(_ name: String) throws -> String {
            let source = dir.file("semas.sqlite"), target = dir.file(name + ".sqlite")
            try FileManager.default.copyItem(atPath: source, toPath: target)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: source + suffix) {
                try FileManager.default.copyItem(atPath: source + suffix, toPath: target + suffix)
            }
            return target
        }

        func tampered(_ name: String, _ sql: String) throws -> AuditVerification {
            let file = try copy(name)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", file, sql]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "sqlite3 \(sql)")
            return try Replica.verifyAuditAnchored(ofFile: file, keys: keys)
        }
    }

    func setUp(tail: Int) async throws -> Setup {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var logger = Logger(label: "test.anchors")
        logger.logLevel = .critical
        let witnessing = LogWitnessing(replica: semas.replica, client: semas.client, witnesses: [.init(agency: .kodit, url: kodit.url)],
                                       interval: .seconds(60), logger: logger)
        var data = SyntheticData(seed: 61)
        let program = data.program(owner: .semas, nativeID: "A-1")
        try await semas.replica.author(.publishProgram(program), key: program.key, by: .semas)
        for i in 1...3 { try await semas.replica.appendAudit(actor: "admin:test", action: "test", target: "t\(i)", outcome: "ok", detail: "anchored \(i)") }
        await witnessing.round()
        #expect(try await semas.replica.logStatus().cosigners == [.kodit], "\(witnessing.problems.withLock { $0 })")
        let anchored = try #require(try await semas.replica.audit(limit: 1).first?.seq)
        for i in 0..<tail { try await semas.replica.appendAudit(actor: "admin:test", action: "test", target: "u\(i)", outcome: "ok", detail: "not yet witnessed") }
        if tail > 0 { _ = try await semas.replica.makeCheckpoint() }
        let last = try #require(try await semas.replica.audit(limit: 1).first?.seq)
        await semas.stop()
        await kodit.stop()
        let keys = try testAuthentication(for: .semas, in: dir).allKeys
        return Setup(dir: dir, keys: keys, anchored: anchored, last: last)
    }

    @Test("entries after the last cosigned checkpoint are not anchored (a checkpoint signed only by the node's own key anchors nothing), yet not broken")
    func unwitnessedTail() async throws {
        let setup = try await setUp(tail: 2)
        let result = try Replica.verifyAuditAnchored(ofFile: try setup.copy("tail"), keys: setup.keys)
        #expect(result.intact, "\(result.problem ?? "")")
        #expect(result.anchoredThrough == setup.anchored && result.unwitnessedFrom == setup.anchored + 1 && result.cosigners == [.kodit], "\(result)")
        #expect(result.notes.contains { $0.contains("entries from \(setup.anchored + 1) on are not anchored by a witness") }, "\(result.notes)")
    }

    @Test("a cut tail is broken even when the checkpoints that signed it are deleted too: the file's own leaves and compact range still count it")
    func cutWithItsCheckpoints() async throws {
        let setup = try await setUp(tail: 2)
        // The uncosigned checkpoint and the tail it signed, deleted: the audit leaves remain.
        let notes = try setup.tampered("notes", "DELETE FROM log_note WHERE note NOT LIKE '%' || char(10) || '— kodit %'; DELETE FROM audit WHERE seq > \(setup.anchored)")
        #expect(notes.firstBroken == setup.anchored + 1 && notes.problem?.contains("were cut") == true, "\(notes)")
        // Every checkpoint deleted, and one entry in the middle.
        let all = try setup.tampered("all", "DELETE FROM log_note; DELETE FROM audit WHERE seq > 1")
        #expect(all.firstBroken == 2 && all.problem?.contains("were cut") == true, "\(all)")
        // The audit leaves of the tail deleted as well: the compact range kept at the last checkpoint counts them.
        let leaves = try setup.tampered("leaves", """
            DELETE FROM log_note WHERE note NOT LIKE '%' || char(10) || '— kodit %'; DELETE FROM audit WHERE seq > \(setup.anchored);
            DELETE FROM log_leaf WHERE idx >= (SELECT max(size) FROM log_note)
            """)
        #expect(leaves.firstBroken == setup.anchored + 1 && leaves.problem?.contains("leaves were deleted") == true, "\(leaves)")
        // The log rolled back to the cosigned checkpoint (newer checkpoints, leaves and compact
        // range cut back with it) under audit entries kept: they were written after the log began,
        // so each is a leaf of it; these are not.
        let rolledBack = try setup.tampered("rolled-back", """
            DELETE FROM log_note WHERE note NOT LIKE '%' || char(10) || '— kodit %';
            DELETE FROM log_leaf WHERE idx >= (SELECT max(size) FROM log_note);
            UPDATE log_range SET size = (SELECT max(size) FROM log_note) WHERE origin = (SELECT value FROM meta WHERE name = 'log.origin')
            """)
        #expect(rolledBack.firstBroken == setup.anchored + 1 && rolledBack.problem?.contains("is no leaf of the log") == true, "\(rolledBack)")
        // Checkpoints gone, audit intact: nothing anchors the leaves the file holds.
        let none = try setup.tampered("none", "DELETE FROM log_note")
        #expect(!none.intact && none.problem?.contains("no checkpoint in the file is cosigned by a witness") == true, "\(none)")
    }

    @Test("checkpoints stripped of their witnesses' cosignatures (as after a rewrite signed again with the node's key) anchor nothing: offline that is broken")
    func ownSignatureOnly() async throws {
        let setup = try await setUp(tail: 0)
        #expect(try Replica.verifyAuditAnchored(ofFile: try setup.copy("intact"), keys: setup.keys).unwitnessedFrom == nil)
        // Keep the text, the blank line and semas's signature line (8 + 92 characters and a newline).
        let stripped = try setup.tampered("stripped", "UPDATE log_note SET note = substr(note, 1, instr(note, char(10) || char(10)) + 1 + 101)")
        #expect(stripped.firstBroken != nil && stripped.problem?.contains("cannot be shown intact") == true, "\(stripped)")
        #expect(stripped.anchoredThrough == nil)
    }
}
