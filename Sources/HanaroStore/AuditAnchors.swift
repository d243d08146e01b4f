public import Foundation
public import HanaroCore
import HanaroEvidence
import GRDB

/// What checking an audit log found: its hash chain, and the checkpoints of the agency's log that
/// anchor it (each audit entry's chain hash is a leaf of the log; a checkpoint signed by the agency
/// and cosigned by its witnesses fixes every leaf before it).
public struct AuditVerification: Sendable, Hashable {
    /// Entries in the file.
    public var entries: Int
    /// The first entry that does not verify (nil: intact).
    public var firstBroken: Int64?
    /// Why, in a sentence that names the entry.
    public var problem: String?
    /// The last audit entry a checkpoint anchors (nil: none).
    public var anchoredThrough: Int64?
    /// Witnesses whose cosignature is on the newest anchoring checkpoint.
    public var cosigners: [AgencyID]
    /// Things the auditor should know that do not make the log broken.
    public var notes: [String]

    public var intact: Bool { firstBroken == nil }
}

extension Replica {
    /// Checks this replica's audit log: its chain and its anchors, with this node's keys.
    public func verifyAuditAnchored() async throws(StoreError) -> AuditVerification {
        let keys = authentication?.allKeys
        return try await read("verify the audit log") { db in try AuditAnchors.verify(db, keys: keys) }
    }

    /// Checks a copy of a replica file offline (read-only; no node, no private key): the audit
    /// chain, then every anchor. `keys` are the federation's public keys (`agencies/*.yaml`);
    /// without them the keys recorded in the file are used, and the result says so.
    /// - Throws: ``StoreError`` `.database` when the file cannot be read as a replica.
    public static func verifyAuditAnchored(ofFile path: String, keys: [AgencyVerifierKey]?) throws(StoreError) -> AuditVerification {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw StoreError(.database, "cannot read \(path); give the path of a replica file (a copy of <data_dir>/replica.sqlite)")
        }
        do {
            var configuration = GRDB.Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                guard try db.tableExists("audit") else {
                    throw StoreError(.database, "\(path) holds no audit log: is it a Hanaro replica?")
                }
                return try AuditAnchors.verify(db, keys: keys)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "cannot read \(path) as a replica: \(error)")
        }
    }
}

enum AuditAnchors {
    static func verify(_ db: Database, keys pinned: [AgencyVerifierKey]?) throws -> AuditVerification {
        let chain = try AuditChain.verify(db)
        let entries = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit") ?? 0
        var result = AuditVerification(entries: entries, firstBroken: chain.firstBroken, anchoredThrough: nil, cosigners: [], notes: [])
        if let broken = chain.firstBroken {
            result.problem = "entry \(broken) does not chain to the one before (\(chain.entries) entries before it verify): it was altered or an entry before it was deleted"
        }
        func report(_ seq: Int64, _ problem: String) {
            if result.firstBroken.map({ seq < $0 }) ?? true {
                result.firstBroken = seq
                result.problem = problem
            }
        }
        let anyNotes = try db.tableExists("log_note") && (try Int.fetchOne(db, sql: "SELECT count(*) FROM log_note") ?? 0) > 0
        guard try db.tableExists("log_leaf"), let ownOrigin = try TransparencyLog.ownOrigin(db), let agency = TransparencyLog.agency(ofOrigin: ownOrigin) else {
            if anyNotes {
                report(1, "the file holds checkpoints but no log origin of its own (meta log.origin was removed): its anchors cannot be matched to its audit log")
                return result
            }
            result.notes.append("this replica keeps no log (no signing key), so nothing anchors its audit log: a cut tail or a recomputed chain cannot be detected")
            return result
        }
        var keys = pinned ?? []
        if pinned == nil {
            result.notes.append("keys taken from the file itself; give --agencies DIR to check the anchors against the federation's published keys")
            for row in try Row.fetchAll(db, sql: "SELECT key, retired_at FROM log_key") {
                if let key = try? AgencyVerifierKey(text: row[0], retiredAtMilliseconds: (row[1] as Int64?).map { UInt64($0) }) { keys.append(key) }
            }
        }
        let authorKeys = keys.filter { $0.agency == agency }.map(\.noteVerifier)
        let witnessKeys = keys.filter { $0.agency != agency }.map(\.cosignatureVerifier)
        // Every checkpoint of this agency's logs, whatever role or origin a row claims (a node
        // never witnesses its own agency): each must verify; per log, the newest fixes the most leaves.
        // (Chosen by origin, which each note signs: a row's other columns are not trusted.)
        let notes = try Row.fetchAll(db, sql: "SELECT origin, size, note, created_at FROM log_note WHERE origin >= ? AND origin < ? ORDER BY size DESC, id DESC",
                                     arguments: ["hanaro/\(agency.rawValue)/", "hanaro/\(agency.rawValue)0"])
        guard !notes.isEmpty else {
            result.notes.append("no checkpoint of the log is in the file yet: nothing anchors the audit log")
            return result
        }
        struct Newest { var size: Int64; var root: [UInt8]; var audit: (seq: Int64, hash: [UInt8]); var at: Int64; var cosigners: [AgencyID] }
        var newest: [String: Newest] = [:]
        for row in notes {
            let origin: String = row[0], size: Int64 = row[1], text: String = row[2]
            let opened: OpenedNote
            do {
                opened = try SignedNote.open(text, verifiers: authorKeys + witnessKeys)
            } catch {
                report(1, "a checkpoint of the log (\(size) leaves) does not verify (\(error)): the file's anchors were altered")
                return result
            }
            guard opened.verifiers.contains(where: { $0.type == .ed25519 && $0.name == agency.rawValue }),
                  let checkpoint = try? HanaroEvidence.Checkpoint(parsing: opened.text), checkpoint.origin == origin, checkpoint.size == UInt64(size),
                  TransparencyLog.agency(ofOrigin: origin) == agency, let audit = TransparencyLog.parseAuditLine(checkpoint) else {
                report(1, "a checkpoint of the log (\(size) leaves) is not signed by \(agency.rawValue) or is not a checkpoint of \(origin)")
                return result
            }
            if newest[origin] == nil {
                newest[origin] = Newest(size: size, root: checkpoint.rootHash, audit: audit, at: row[3],
                                        cosigners: opened.verifiers.filter { $0.type == .cosignatureV1 }.compactMap { AgencyID(rawValue: $0.name) })
            }
        }
        if newest[ownOrigin] == nil, !newest.isEmpty {
            report(1, "the file's log origin \(ownOrigin) has no checkpoint, but older logs of \(agency.rawValue) have: meta log.origin was changed")
            return result
        }
        let hashOf = try db.cachedStatement(sql: "SELECT hash FROM audit WHERE seq = ?")
        let maxSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit") ?? 0
        var last: Int64 = 0
        for (origin, anchor) in newest.sorted(by: { $0.key < $1.key }) {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(anchor.at) / 1000))
            let witnessed = anchor.cosigners.isEmpty ? "not cosigned" : "cosigned by \(anchor.cosigners.map(\.rawValue).joined(separator: ", "))"
            if origin == ownOrigin {
                result.cosigners = anchor.cosigners
                if anchor.cosigners.isEmpty {
                    result.notes.append("the newest checkpoint is not cosigned by any witness: its anchors are only as good as this node's own key")
                }
            }
            func missing(_ seq: Int64) -> String {
                seq > maxSeq
                    ? "the audit log ends at entry \(maxSeq), but the checkpoint of \(when) (\(witnessed)) anchors entries up to \(anchor.audit.seq): entries from \(seq) on were cut"
                    : "entry \(seq) is anchored by the checkpoint of \(when) (\(witnessed)) and is missing: it was deleted"
            }
            // The signed audit line names the audit head when the checkpoint was made.
            if anchor.audit.seq > 0 {
                switch try Data.fetchOne(hashOf, arguments: [anchor.audit.seq]) {
                case nil: report(anchor.audit.seq, missing(anchor.audit.seq))
                case let stored? where Array(stored) != anchor.audit.hash:
                    report(anchor.audit.seq, "entry \(anchor.audit.seq) is not the audit head the checkpoint of \(when) (\(witnessed)) signed: the chain was rewritten")
                default: break
                }
            }
            // One pass over the leaves the checkpoint covers: the root they make (a compact range,
            // not the whole tree in memory), each leaf's data against its hash, and every audit
            // entry against the file's audit log — a leaf's data read by what it is (its prefix),
            // not by the kind a row claims. Audit findings count once the leaves are the signed ones.
            var range = CompactRange()
            var badLeaf: (index: Int64, why: String)?
            var finding: (seq: Int64, problem: String)?
            let cursor = try Row.fetchCursor(db, sql: "SELECT idx, entry, hash FROM log_leaf WHERE origin = ? AND idx < ? ORDER BY idx", arguments: [origin, anchor.size])
            while let row = try cursor.next() {
                let entry = Array(row[1] as Data), hash = Array(row[2] as Data)
                range.append(hash)
                guard badLeaf == nil, finding == nil else { continue }
                guard MerkleHash.leaf(entry) == hash else { badLeaf = (row[0], "is not the data its signed hash commits to"); continue }
                guard entry.starts(with: TransparencyLog.auditPrefix) else { continue }
                guard let anchored = TransparencyLog.parseAuditEntry(entry) else { badLeaf = (row[0], "is an audit leaf that does not read"); continue }
                last = max(last, anchored.seq)
                if let stored = try Data.fetchOne(hashOf, arguments: [anchored.seq]) {
                    if Array(stored) != anchored.hash {
                        finding = (anchored.seq, "entry \(anchored.seq) is not the entry the checkpoint of \(when) (\(witnessed)) anchored: the chain was rewritten from there")
                    }
                } else {
                    finding = (anchored.seq, missing(anchored.seq))
                }
            }
            if range.size < anchor.size || range.root != anchor.root {
                report(max(1, anchor.audit.seq), "the log in the file is not the one the checkpoint of \(when) (\(witnessed)) signed: \(range.size < anchor.size ? "\(anchor.size - range.size) of its leaves were deleted" : "its leaves were rewritten"); the audit log cannot be trusted beyond what that checkpoint anchors")
            } else if let badLeaf {
                report(max(1, anchor.audit.seq), "leaf \(badLeaf.index) of the log in the file \(badLeaf.why): the log was rewritten")
            } else if let finding {
                report(finding.seq, finding.problem)
            }
        }
        result.anchoredThrough = last
        return result
    }
}
