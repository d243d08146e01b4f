import Foundation
import HanaroStore
import HanaroTesting
import Testing

/// `hanaro audit verify --db FILE`: the audit chain of a copy of a replica file, offline, with no
/// node and no key (CONTRACT.md). Tampering is done from outside, with the sqlite3 tool.
@Suite("Audit verify offline")
struct AuditOfflineTests {
    @Test("audit verify --db: an intact copy exits 0 and is left unchanged; an edited or deleted middle entry exits 1 naming it; no file exits 2")
    func offline() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("replica.sqlite")
        do {
            let replica = try Replica(path: path, key: .random())
            for i in 1...5 {
                try await replica.rewriteCheckpoints(selecting: { _ in false },
                                                     audit: AuditNote(actor: "admin:test", action: "test.entry", target: "t\(i)", outcome: "ok", detail: "entry \(i)")) { _, value in value }
            }
        }
        func copy(_ name: String) throws -> String {
            let target = dir.file(name)
            try FileManager.default.copyItem(atPath: path, toPath: target)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.copyItem(atPath: path + suffix, toPath: target + suffix)
            }
            return target
        }
        func sqlite(_ file: String, _ sql: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", file, sql]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }

        let intact = try copy("intact.sqlite")
        let before = try Data(contentsOf: URL(fileURLWithPath: intact))
        let ok = try Hanaro.run(["audit", "verify", "--db", intact])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("audit log intact: 5 entries"), "\(ok.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: intact)) == before)

        let edited = try copy("edited.sqlite")
        try sqlite(edited, "UPDATE audit SET detail = 'nothing happened' WHERE seq = (SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET 2)")
        let third = try Hanaro.run(["audit", "verify", "--db", edited])
        #expect(third.status == 1)
        #expect(third.stderr.contains("broken at entry") && third.stderr.contains("2 entries before it verify"), "\(third.stderr)")

        let deleted = try copy("deleted.sqlite")
        try sqlite(deleted, "DELETE FROM audit WHERE seq = (SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET 1)")
        let gap = try Hanaro.run(["audit", "verify", "--db", deleted])
        #expect(gap.status == 1 && gap.stderr.contains("1 entries before it verify"), "\(gap.stderr)")

        let missing = try Hanaro.run(["audit", "verify", "--db", dir.file("nope.sqlite")])
        #expect(missing.status == 2 && missing.stderr.contains("cannot read"), "\(missing.stderr)")
    }
}
