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
        guard try db.tableExists("log_leaf"), let origin = try TransparencyLog.ownOrigin(db), let agency = TransparencyLog.agency(ofOrigin: origin) else {
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
        let notes = try Row.fetchAll(db, sql: "SELECT size, note, created_at FROM log_note WHERE origin = ? AND role = 'own' ORDER BY size DESC, id DESC", arguments: [origin])
        guard !notes.isEmpty else {
            result.notes.append("no checkpoint of the log is in the file yet: nothing anchors the audit log")
            return result
        }
        // Every checkpoint must verify; the newest fixes the most leaves.
        var newest: (size: Int64, root: [UInt8], audit: (seq: Int64, hash: [UInt8]), at: Int64)?
        for row in notes {
            let size: Int64 = row[0], text: String = row[1]
            let opened: OpenedNote
            do {
                opened = try SignedNote.open(text, verifiers: authorKeys + witnessKeys)
            } catch {
                report(1, "a checkpoint of the log (\(size) leaves) does not verify (\(error)): the file's anchors were altered")
                return result
            }
            guard opened.verifiers.contains(where: { $0.type == .ed25519 && $0.name == agency.rawValue }),
                  let checkpoint = try? HanaroEvidence.Checkpoint(parsing: opened.text), checkpoint.origin == origin, checkpoint.size == UInt64(size),
                  let audit = TransparencyLog.parseAuditLine(checkpoint) else {
                report(1, "a checkpoint of the log (\(size) leaves) is not signed by \(agency.rawValue) or is not a checkpoint of \(origin)")
                return result
            }
            if newest == nil {
                newest = (size, checkpoint.rootHash, audit, row[2])
                result.cosigners = opened.verifiers.filter { $0.type == .cosignatureV1 }.compactMap { AgencyID(rawValue: $0.name) }
            }
        }
        guard let newest else { return result }
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(newest.at) / 1000))
        let witnessed = result.cosigners.isEmpty ? "not cosigned" : "cosigned by \(result.cosigners.map(\.rawValue).joined(separator: ", "))"
        if result.cosigners.isEmpty {
            result.notes.append("the newest checkpoint is not cosigned by any witness: its anchors are only as good as this node's own key")
        }
        // The leaves in the file must be the ones the checkpoint signed.
        let held = try Int64.fetchOne(db, sql: "SELECT count(*) FROM log_leaf WHERE origin = ? AND idx < ?", arguments: [origin, newest.size]) ?? 0
        let tree = try TransparencyLog.tree(db, origin: origin, size: newest.size)
        if held < newest.size || tree.rootHash != newest.root {
            report(max(1, newest.audit.seq), "the log in the file is not the one the checkpoint of \(when) (\(witnessed)) signed: \(held < newest.size ? "\(newest.size - held) of its leaves were deleted" : "its leaves were rewritten"); the audit log cannot be trusted beyond what that checkpoint anchors")
            return result
        }
        // Every audit entry the log holds must be in the file, as it was.
        let cursor = try Row.fetchCursor(db, sql: "SELECT entry FROM log_leaf WHERE origin = ? AND kind = 'audit' AND idx < ? ORDER BY idx", arguments: [origin, newest.size])
        let hashOf = try db.cachedStatement(sql: "SELECT hash FROM audit WHERE seq = ?")
        var last: Int64 = 0
        while let row = try cursor.next() {
            guard let anchored = TransparencyLog.parseAuditEntry(Array(row[0] as Data)) else { continue }
            last = max(last, anchored.seq)
            guard let stored = try Data.fetchOne(hashOf, arguments: [anchored.seq]) else {
                let maxSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit") ?? 0
                report(anchored.seq, anchored.seq > maxSeq
                       ? "the audit log ends at entry \(maxSeq), but the checkpoint of \(when) (\(witnessed)) anchors entries up to \(newest.audit.seq): entries from \(anchored.seq) on were cut"
                       : "entry \(anchored.seq) is anchored by the checkpoint of \(when) (\(witnessed)) and is missing: it was deleted")
                break
            }
            if Array(stored) != anchored.hash {
                report(anchored.seq, "entry \(anchored.seq) is not the entry the checkpoint of \(when) (\(witnessed)) anchored: the chain was rewritten from there")
                break
            }
        }
        result.anchoredThrough = last
        return result
    }
}
