import Foundation
import Crypto
import GRDB
public import HanaroCore
public import HanaroEvidence

/// An agency's append-only log of what it authored (docs/EVIDENCE.md): an RFC 6962 Merkle tree
/// whose leaves are, in order, the envelope of every version the agency signed and the chain hash
/// of every entry of its audit log. Checkpoints of the tree (C2SP tlog-checkpoint) are signed with
/// the agency's key and cosigned by its peers acting as witnesses, who mirror the leaves and check
/// that each new checkpoint extends the last one they cosigned.
///
/// The log is named by its origin, `hanaro/<agency>/<replica epoch>`: a replica rebuilt from
/// nothing starts a new log under a new origin (the old one stays with its witnesses).
public enum TransparencyLog {
    /// The first line of a version leaf's data (the signed envelope begins with it).
    static let versionPrefix = Array("hanaro/version/v1\n".utf8)
    /// The first line of an audit leaf's data, followed by `<seq>\n` and the entry's 32-byte chain hash.
    static let auditPrefix = Array("hanaro/audit/v1\n".utf8)

    /// The origin of `agency`'s log in the replica of `epoch`.
    public static func origin(agency: AgencyID, epoch: String) -> String { "hanaro/\(agency.rawValue)/\(epoch)" }

    /// The agency a log origin names (nil: not a Hanaro log origin).
    public static func agency(ofOrigin origin: String) -> AgencyID? {
        let parts = origin.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "hanaro", !parts[2].isEmpty, parts[2].utf8.count <= 64,
              parts[2].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else { return nil }
        return AgencyID(rawValue: String(parts[1]))
    }

    /// An audit leaf's data.
    public static func auditEntry(seq: Int64, hash: [UInt8]) -> [UInt8] {
        auditPrefix + Array("\(seq)\n".utf8) + hash
    }

    /// Reads an audit leaf's data.
    public static func parseAuditEntry(_ entry: [UInt8]) -> (seq: Int64, hash: [UInt8])? {
        guard entry.starts(with: auditPrefix), entry.count > auditPrefix.count + 33 else { return nil }
        let rest = entry[auditPrefix.count...]
        guard let newline = rest.firstIndex(of: 0x0A), let seq = Int64(String(decoding: rest[..<newline], as: UTF8.self)),
              entry.count - newline - 1 == 32 else { return nil }
        return (seq, Array(entry[(newline + 1)...]))
    }

    /// The audit line of a checkpoint: `audit <seq> <base64 chain hash>` (seq 0 and 32 zero bytes
    /// for an empty audit log).
    public static func auditLine(seq: Int64, hash: [UInt8]) -> String {
        "audit \(seq) \(Data(hash).base64EncodedString())"
    }

    /// Reads a checkpoint's audit line.
    public static func parseAuditLine(_ checkpoint: HanaroEvidence.Checkpoint) -> (seq: Int64, hash: [UInt8])? {
        for line in checkpoint.extensionLines {
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "audit", let seq = Int64(parts[1]), seq >= 0,
                  let hash = Data(base64Encoded: String(parts[2])), hash.count == 32 else { continue }
            return (seq, Array(hash))
        }
        return nil
    }

    /// Appends a leaf to `origin`'s log, in the caller's transaction.
    /// - Returns: the leaf's index.
    @discardableResult
    static func append(_ db: Database, origin: String, kind: String, ref: String, entry: [UInt8]) throws -> Int64 {
        try append(db, origin: origin, kind: kind, ref: ref, hash: MerkleHash.leaf(entry), entry: entry)
    }

    /// Appends a leaf by its hash (a witness's mirror keeps no leaf data: `entry` empty).
    @discardableResult
    static func append(_ db: Database, origin: String, kind: String, ref: String, hash: [UInt8], entry: [UInt8] = []) throws -> Int64 {
        let next = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(idx) FROM log_leaf WHERE origin = ?"), arguments: [origin]).map { $0 + 1 } ?? 0
        try db.cachedStatement(sql: "INSERT INTO log_leaf(origin, idx, hash, kind, ref, entry) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [origin, next, Data(hash), kind, ref, Data(entry)])
        return next
    }

    /// This replica's own log origin (nil: a replica without a signing key keeps no log).
    static func ownOrigin(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE name = 'log.origin'"))
    }

    /// The tree of the first `size` leaves of `origin` (for proofs; a root alone: ``root(_:origin:size:keep:)``).
    static func tree(_ db: Database, origin: String, size: Int64) throws -> MerkleTree {
        var tree = MerkleTree()
        let cursor = try Data.fetchCursor(db, sql: "SELECT hash FROM log_leaf WHERE origin = ? AND idx < ? ORDER BY idx",
                                          arguments: [origin, size])
        while let hash = try cursor.next() { _ = try tree.append(leafHash: Array(hash)) }
        return tree
    }

    /// The number of leaves of `origin`'s log (an index seek, not a count).
    static func size(_ db: Database, origin: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(idx) + 1 FROM log_leaf WHERE origin = ?"), arguments: [origin]) ?? 0
    }

    /// The root of the first `size` leaves of `origin`, from the compact range kept at the last
    /// checkpoint (when it is not beyond `size`) plus the leaves after it; keeps the new range
    /// when `keep` (call it only for a size that is being signed or cosigned).
    static func root(_ db: Database, origin: String, size: Int64, keep: Bool) throws -> [UInt8] {
        var range = CompactRange()
        if let row = try Row.fetchOne(db, sql: "SELECT size, hashes FROM log_range WHERE origin = ?", arguments: [origin]),
           let stored = CompactRange(size: row[0], hashes: Array(row[1] as Data)), stored.size <= size {
            range = stored
        }
        let cursor = try Data.fetchCursor(db, sql: "SELECT hash FROM log_leaf WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx",
                                          arguments: [origin, range.size, size])
        while let hash = try cursor.next() { range.append(Array(hash)) }
        guard range.size == size else { return [] }
        if keep {
            try db.execute(sql: "INSERT INTO log_range(origin, size, hashes) VALUES (?, ?, ?) ON CONFLICT(origin) DO UPDATE SET size = excluded.size, hashes = excluded.hashes",
                           arguments: [origin, size, Data(range.hashes.joined())])
        }
        return range.root
    }

    /// The newest audit entry that is a leaf of `origin` (0 and zeros when none is).
    static func loggedAuditHead(_ db: Database, origin: String) throws -> (seq: Int64, hash: [UInt8]) {
        let head = try auditHead(db)
        guard head.seq > 0,
              try Int.fetchOne(db, sql: "SELECT count(*) FROM log_leaf WHERE ref = ? AND origin = ?", arguments: ["audit:\(head.seq)", origin]) ?? 0 > 0 else {
            return (0, [UInt8](repeating: 0, count: 32))
        }
        return head
    }

    /// The last audit entry (sequence and chain hash; 0 and zeros when the log is empty).
    static func auditHead(_ db: Database) throws -> (seq: Int64, hash: [UInt8]) {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") else {
            return (0, [UInt8](repeating: 0, count: 32))
        }
        return (row[0], Array(row[1] as Data))
    }
}
