import Foundation
import HanaroCore
import HanaroTesting
import Testing

/// Evidence from outside, on three real nodes over mTLS (CONTRACT.md: `hanaro evidence`,
/// `hanaro audit verify --db`): checkpoints cosigned by the peers, a bundle exported on a node that
/// is not a party and verified offline (a flipped byte anywhere fails it), and copies of a stopped
/// node's replica tampered with from outside (sqlite3, a Python chain rewriter).
@Suite("Evidence on live nodes", .serialized)
struct EvidenceTests {
    static func statusJSON(_ federation: Federation, _ agency: AgencyID) -> [String: Any] {
        guard let (code, body) = try? http("GET", federation.statusURL(agency) + "/status"), code == 200 else { return [:] }
        return AgencyAPITests.json(body)
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func tamper(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", path, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sqlite3 \(sql)")
    }

    @Test("three nodes: every log cosigned by its peers; a referral's bundle exported on a non-party verifies offline, holds no personal data, and fails on any flipped byte")
    func bundles() async throws {
        let federation = try Federation(agencies: [.semas, .kodit, .kamco], nodeExtra: AgencyAPITests.apiSection)
        defer { federation.remove() }
        let token = try AgencyAPITests.addClient(federation.dir, name: "crm", scopes: "read,refer")
        var nodes: [ChildProcess] = []
        defer { for node in nodes { node.signal(SIGKILL) } }
        for agency in [AgencyID.semas, .kodit, .kamco] { nodes.append(try await federation.start(agency)) }

        let create = #"{"id":"E-1","target":"kamco","centre":"서울중부센터","business":{"trade_name":"하나로상회","business_number":"220-81-62517","region":"11"},"consent":{"scope":["contact","business"],"recipient":"kamco","purpose":"채무조정 상담","retain_until":"2027-12-31"},"contact":{"owner_name":"\#(AgencyAPITests.ownerName)","phone":"010-1234-5678"}}"#
        let (created, body) = try http("POST", federation.apiURL(.semas) + "/v1/referrals",
                                       headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: create)
        #expect(created == 201, "\(body)")

        // Each node's log ends up cosigned by both peers (the default quorum is 2).
        let cosigned = await eventually(60) {
            [AgencyID.semas, .kodit, .kamco].allSatisfy { agency in
                let log = Self.statusJSON(federation, agency)["log"] as? [String: Any] ?? [:]
                return (log["cosigned_by"] as? [String])?.count == 2 && log["quorum_met"] as? Bool == true
                    && (log["witnessing"] as? [Any])?.count == 2 && log["equivocations"] as? Int == 0
            }
        }
        #expect(cosigned, "\(Self.statusJSON(federation, .semas)["log"] ?? "no log section")")
        let metrics = try http("GET", federation.statusURL(.semas) + "/metrics").1
        #expect(metrics.contains("hanaro_log_cosigners 2") && metrics.contains("hanaro_log_equivocations 0"), "\(metrics.split(separator: "\n").filter { $0.contains("hanaro_log") })")

        // kodit relays the referral but is not a party: its bundle proves it all the same.
        let bundle = "\(federation.dir)/evidence.note"
        var export = Hanaro.Result(status: -1, stdout: "", stderr: "")
        let exported = try await eventually(60) {
            export = try Hanaro.run(["evidence", "export", "referral/semas/E-1", "--out", bundle, "--config", federation.config(.kodit)])
            return export.status == 0
        }
        #expect(exported, "\(export.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: bundle)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Under only the keys it lists a bundle proves nothing: exit 1, saying how to pin them.
        let unpinned = try Hanaro.run(["evidence", "verify", bundle])
        #expect(unpinned.status == 1 && unpinned.stderr.contains("is not shown valid") && unpinned.stderr.contains("prove nothing")
                && unpinned.stderr.contains("--agencies DIR") && unpinned.stderr.contains("--config FILE"), "\(unpinned.stdout)\(unpinned.stderr)")
        #expect(unpinned.stdout.contains("signed by semas") && unpinned.stdout.contains("cosigned by"), "\(unpinned.stdout)")
        let pinned = try Hanaro.run(["evidence", "verify", bundle, "--agencies", federation.dir + "/agencies"])
        #expect(pinned.status == 0 && pinned.stdout.contains("is valid under the federation's published keys"), "\(pinned.stdout)\(pinned.stderr)")
        // A node's configuration pins the keys too (its agency files).
        let configured = try Hanaro.run(["evidence", "verify", bundle, "--config", federation.config(.kamco)])
        #expect(configured.status == 0 && configured.stdout.contains("is valid under the federation's published keys"), "\(configured.stdout)\(configured.stderr)")
        // The independent verifier (Python, from the formats in docs/EVIDENCE.md) agrees.
        let outside = try python(["ops/evidence/verify_bundle.py", bundle, "--agencies", federation.dir + "/agencies"])
        #expect(outside.status == 0, "\(outside.output)")
        #expect(try python(["ops/evidence/verify_bundle.py", bundle]).status == 1)

        // No personal field in it, not even inside the base64 frames.
        let text = try String(contentsOfFile: bundle, encoding: .utf8)
        var decoded = Data(text.utf8)
        for match in text.matches(of: /"([A-Za-z0-9+\/=]{40,})"/) {
            if let data = Data(base64Encoded: String(match.1)) { decoded.append(data) }
        }
        for secret in [AgencyAPITests.ownerName, "010-1234-5678", "01012345678"] {
            #expect(decoded.range(of: Data(secret.utf8)) == nil, "\(secret) found in the bundle")
        }

        // Any flipped byte makes it invalid (exit 1, saying what failed).
        let original = Array(text.utf8)
        for position in stride(from: 0, to: original.count, by: max(1, original.count / 15)) {
            var flipped = original
            flipped[position] ^= 0x01
            try Self.write(bundle + ".flipped", flipped)
            let result = try Hanaro.run(["evidence", "verify", bundle + ".flipped", "--quiet", "--agencies", federation.dir + "/agencies"])
            #expect(result.status == 1 && result.stderr.contains("is invalid"), "byte \(position) flipped: \(result.stdout)\(result.stderr)")
        }
        // A program's bundle on its author's node; an unknown record; no file.
        let missing = try Hanaro.run(["evidence", "export", "referral/semas/NOPE", "--out", bundle + ".x", "--config", federation.config(.semas)])
        #expect(missing.status != 0 && missing.stderr.contains("no record"), "\(missing.stderr)")
        #expect(try Hanaro.run(["evidence", "verify", federation.dir + "/none"]).status == 2)
    }

    @Test("audit verify --db on copies of a stopped node's replica: intact → 0 and anchored; a cut tail, a deleted entry, a rewritten chain → 1 naming the entry")
    func auditAnchors() async throws {
        let federation = try Federation(agencies: [.semas, .kodit])
        defer { federation.remove() }
        let semas = try await federation.start(.semas)
        defer { semas.signal(SIGKILL) }
        let kodit = try await federation.start(.kodit)
        defer { kodit.signal(SIGKILL) }
        // Admin actions write audit entries (each one audited); the log's checkpoint gets cosigned.
        for _ in 0..<6 { #expect(try Hanaro.run(["audit", "verify", "--config", federation.config(.semas)]).status == 0) }
        let anchored = await eventually(60) {
            let log = Self.statusJSON(federation, .semas)["log"] as? [String: Any] ?? [:]
            return (log["cosigned_by"] as? [String]) == ["kodit"] && (log["checkpoint_size"] as? Int) == (log["size"] as? Int)
        }
        #expect(anchored, "\(Self.statusJSON(federation, .semas)["log"] ?? "")")
        // Each verify is itself audited, so on a loaded machine the newest entry may not be in a
        // cosigned checkpoint yet: ask again until the next round has anchored it.
        var online = try Hanaro.run(["audit", "verify", "--config", federation.config(.semas)])
        _ = try await eventually(30) {
            online = try Hanaro.run(["audit", "verify", "--config", federation.config(.semas)])
            return online.stdout.contains("anchored through entry")
        }
        #expect(online.status == 0 && online.stdout.contains("anchored through entry") && online.stdout.contains("kodit"), "\(online.stdout)\(online.stderr)")
        // The log is read with `audit list`: newest first, filtered by action (or a prefix) and actor, paged by seq.
        let listed = try Hanaro.run(["audit", "list", "--config", federation.config(.semas), "--action", "admin.audit.verify", "--json"])
        let verifies = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)\(listed.stderr)")
        #expect(listed.status == 0 && verifies.count >= 7 && verifies.allSatisfy { $0["action"] as? String == "admin.audit.verify" && $0["outcome"] as? String == "allowed" }, "\(listed.stdout)")
        let seqs = verifies.compactMap { $0["seq"] as? Int }
        #expect(seqs == seqs.sorted(by: >) && seqs.count == verifies.count)
        let actor = try #require(verifies.first?["actor"] as? String)
        let page = try Hanaro.run(["audit", "list", "--config", federation.config(.semas), "--action", "admin.audit.", "--actor", actor, "--limit", "2", "--before", String(seqs[0])])
        let lines = page.stdout.split(separator: "\n")
        #expect(page.status == 0 && lines.count == 2 && lines.allSatisfy { $0.contains("  admin.audit.") && $0.contains(actor) } && lines.allSatisfy { Int($0.prefix { $0 != " " })! < seqs[0] },
                "\(page.stdout)\(page.stderr)")
        #expect(try Hanaro.run(["audit", "list", "--config", federation.config(.semas), "--action", "no.such"]).stdout.contains("no audit entries"))
        #expect(try Hanaro.run(["audit", "list", "--config", federation.config(.semas), "--limit", "0"]).status != 0)
        // A clean stop signs a last checkpoint, so the copy is anchored to its end.
        #expect(await semas.terminate().status == 0)
        let entries = Int(try sqlite(federation.replicaPath(.semas), "SELECT count(*) FROM audit")) ?? 0
        #expect(entries >= 7)

        func copy(_ name: String) throws -> String {
            let target = "\(federation.dir)/\(name).sqlite"
            try FileManager.default.copyItem(atPath: federation.replicaPath(.semas), toPath: target)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: federation.replicaPath(.semas) + suffix) {
                try FileManager.default.copyItem(atPath: federation.replicaPath(.semas) + suffix, toPath: target + suffix)
            }
            return target
        }
        let keys = federation.dir + "/agencies"
        let intact = try copy("intact")
        let ok = try Hanaro.run(["audit", "verify", "--db", intact, "--agencies", keys])
        #expect(ok.status == 0 && ok.stdout.contains("audit log intact: \(entries) entries") && ok.stdout.contains("anchored through entry \(entries)"), "\(ok.stdout)\(ok.stderr)")

        let cut = try copy("cut")
        try Self.tamper(cut, "DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)")
        let cutResult = try Hanaro.run(["audit", "verify", "--db", cut, "--agencies", keys])
        #expect(cutResult.status == 1 && cutResult.stderr.contains("broken at entry \(entries - 1)") && cutResult.stderr.contains("were cut"), "\(cutResult.stderr)")

        let deleted = try copy("deleted")
        try Self.tamper(deleted, "DELETE FROM audit WHERE seq = 3")
        let deletedResult = try Hanaro.run(["audit", "verify", "--db", deleted, "--agencies", keys])
        #expect(deletedResult.status == 1 && deletedResult.stderr.contains("broken at entry 3"), "\(deletedResult.stderr)")

        let rewritten = try copy("rewritten")
        let tool = try python(["ops/evidence/rewrite_audit_chain.py", rewritten, "4", "nothing happened here"])
        #expect(tool.status == 0, "\(tool.output)")
        let rewrittenResult = try Hanaro.run(["audit", "verify", "--db", rewritten, "--agencies", keys])
        // The chain alone verifies (the tool recomputed it): only the anchors catch it.
        #expect(rewrittenResult.status == 1 && rewrittenResult.stderr.contains("broken at entry 4") && rewrittenResult.stderr.contains("rewritten"), "\(rewrittenResult.stderr)")

        // Covering tracks in the log's own rows does not help: the leaf data rewritten to match the
        // rewritten chain (its signed hash kept), audit leaves relabelled before a cut, the notes'
        // role flipped, or the file's log origin removed — each still exit 1.
        let covered = try copy("covered")
        #expect(try python(["ops/evidence/rewrite_audit_chain.py", covered, "4", "nothing happened here", "--cover-log"]).status == 0)
        let coveredResult = try Hanaro.run(["audit", "verify", "--db", covered, "--agencies", keys])
        #expect(coveredResult.status == 1 && coveredResult.stderr.contains("broken at entry"), "\(coveredResult.stderr)")
        for (name, sql) in [("relabelled", "UPDATE log_leaf SET kind = 'version' WHERE kind = 'audit'; DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)"),
                            ("role", "UPDATE log_note SET role = 'witnessed'; DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)"),
                            ("origin", "DELETE FROM meta WHERE name = 'log.origin'; DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)"),
                            // The whole log emptied, with the origin: nothing of it is left to contradict the chain (outside review, session 16).
                            ("no-log", "DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit); DELETE FROM log_leaf; DELETE FROM log_note; DELETE FROM log_range; DELETE FROM log_key; DELETE FROM log_witness; DELETE FROM meta WHERE name = 'log.origin'")] {
            let tampered = try copy(name)
            try Self.tamper(tampered, sql)
            let result = try Hanaro.run(["audit", "verify", "--db", tampered, "--agencies", keys])
            #expect(result.status == 1 && result.stderr.contains("broken at entry"), "\(name): \(result.stdout)\(result.stderr)")
        }

        // Without --agencies the keys recorded in the file are used, and the output says so.
        let unpinned = try Hanaro.run(["audit", "verify", "--db", intact])
        #expect(unpinned.status == 0 && unpinned.stderr.contains("keys taken from the file"), "\(unpinned.stderr)")
        // The keys of --config's agency files pin as --agencies does: the emptied log is caught the same way.
        let viaConfig = try Hanaro.run(["audit", "verify", "--db", "\(federation.dir)/no-log.sqlite", "--config", federation.config(.semas)])
        #expect(viaConfig.status == 1 && viaConfig.stderr.contains("no transparency log of its own"), "\(viaConfig.stdout)\(viaConfig.stderr)")

        // A cut tail whose checkpoints were deleted too (the file still holds the audit leaves),
        // and checkpoints that only the node's own key signs (no witness): exit 1, never "intact".
        for (name, sql) in [("cut-notes", "DELETE FROM log_note WHERE role = 'own' AND size > (SELECT min(size) FROM log_note WHERE role = 'own'); DELETE FROM audit WHERE seq >= 2"),
                            ("no-notes", "DELETE FROM log_note WHERE agency = 'semas'; DELETE FROM audit WHERE seq >= 4"),
                            ("own-key-only", "UPDATE log_note SET note = substr(note, 1, instr(note, char(10) || char(10)) + 1 + 101) WHERE agency = 'semas'")] {
            let tampered = try copy(name)
            try Self.tamper(tampered, sql)
            let result = try Hanaro.run(["audit", "verify", "--db", tampered, "--agencies", keys])
            #expect(result.status == 1 && result.stderr.contains("broken at entry") && !result.stdout.contains("intact"), "\(name): \(result.stdout)\(result.stderr)")
        }
    }

    @Test("three processes, semas and kamco not linked: a referral created on semas reaches kamco through kodit with the owner's contact (sealed to kamco), and kodit's API, not a party, never shows it")
    func sealedThroughARelay() async throws {
        let federation = try Federation(agencies: [.semas, .kodit, .kamco], nodeExtra: AgencyAPITests.apiSection)
        defer { federation.remove() }
        // kamco's node knows semas (its keys) but has no address for it: it hears of semas only through kodit.
        let own = federation.dir + "/agencies-kamco"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        for agency in [AgencyID.semas, .kodit, .kamco] {
            var text = try String(contentsOfFile: "\(federation.dir)/agencies/\(agency.rawValue).yaml", encoding: .utf8)
            if agency == .semas { text = text.replacing(#/federation:\n  url: [^\n]+\n/#, with: "") }
            try text.write(toFile: "\(own)/\(agency.rawValue).yaml", atomically: true, encoding: .utf8)
        }
        let config = try String(contentsOfFile: federation.config(.kamco), encoding: .utf8)
        try config.replacingOccurrences(of: "  agency: kamco\n", with: "  agency: kamco\n  agencies_dir: agencies-kamco\n")
            .write(toFile: federation.config(.kamco), atomically: true, encoding: .utf8)
        #expect(!(try String(contentsOfFile: "\(own)/semas.yaml", encoding: .utf8)).contains("url:"))
        #expect(try String(contentsOfFile: federation.config(.kamco), encoding: .utf8).contains("agencies_dir: agencies-kamco"))
        let token = try AgencyAPITests.addClient(federation.dir, name: "crm", scopes: "read,refer")
        var nodes: [ChildProcess] = []
        defer { for node in nodes { node.signal(SIGKILL) } }
        for agency in [AgencyID.semas, .kodit, .kamco] { nodes.append(try await federation.start(agency)) }
        let auth = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]

        let create = #"{"id":"S-1","target":"kamco","centre":"서울중부센터","business":{"trade_name":"하나로상회","business_number":"220-81-62517","region":"11"},"consent":{"scope":["contact","business"],"recipient":"kamco","purpose":"채무조정 상담","retain_until":"2027-12-31"},"contact":{"owner_name":"\#(AgencyAPITests.ownerName)","phone":"010-1234-5678"}}"#
        let (created, body) = try http("POST", federation.apiURL(.semas) + "/v1/referrals", headers: auth, body: create)
        #expect(created == 201, "\(body)")
        var incoming: [String: Any] = [:]
        let arrived = try await eventually(60) {
            let items = AgencyAPITests.json(try http("GET", federation.apiURL(.kamco) + "/v1/referrals?direction=incoming", headers: auth).1)["items"] as? [[String: Any]] ?? []
            incoming = items.first ?? [:]
            return (incoming["contact"] as? [String: Any])?["owner_name"] as? String == AgencyAPITests.ownerName
        }
        #expect(arrived, "kamco's incoming referral: \(incoming)")
        #expect((incoming["contact"] as? [String: Any])?["phone"] as? String == "010-1234-5678")
        // kamco has no link to semas: semas's row on kamco says how it is reached.
        let rows = Self.statusJSON(federation, .kamco)["agencies"] as? [[String: Any]] ?? []
        let semasRow = rows.first { $0["agency"] as? String == "semas" }
        #expect(semasRow?["via"] as? String != "federation", "kamco must not pull from semas: \(semasRow ?? [:])")
        // kodit relays it but is not a party: nothing of it on kodit's Agency API.
        let onKodit = try http("GET", federation.apiURL(.kodit) + "/v1/referrals/semas:S-1", headers: auth)
        #expect(onKodit.0 == 404 || !onKodit.1.contains(AgencyAPITests.ownerName), "\(onKodit)")
        // kamco does not witness semas's log (no link to it): its export says so and where to go,
        // instead of "retry after the next checkpoint round", which would never succeed.
        let export = try Hanaro.run(["evidence", "export", "referral/semas/S-1", "--out", federation.dir + "/s1.note", "--config", federation.config(.kamco)])
        #expect(export.status == 1 && export.stderr.contains("does not witness semas's log") && export.stderr.contains("export the bundle on semas's node"),
                "\(export.stdout)\(export.stderr)")
    }
}
