public import Foundation
import Crypto
import HanaroCore
import GRDB

/// One audit entry: who did what to what, and how it ended. Never holds personal data.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var seq: Int64
    public var at: Date
    /// `admin@semas`, `peer:kodit`, `adapter:kamco`, ...
    public var actor: String
    /// `resync`, `conflict.resolve`, `federation.reject`, ...
    public var action: String
    public var target: String
    /// `ok`, `refused`, `failed`.
    public var outcome: String
    public var detail: String
}

/// An audit entry to write together with another change, in its transaction.
public struct AuditNote: Sendable, Hashable {
    public var actor: String
    public var action: String
    public var target: String
    public var outcome: String
    public var detail: String

    public init(actor: String, action: String, target: String, outcome: String, detail: String) {
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.detail = detail
    }
}

extension Replica {
    /// Appends an audit entry, chained to the previous one: `hash = SHA-256(prev_hash ‖ fields)`.
    public func appendAudit(actor: String, action: String, target: String, outcome: String, detail: String) async throws(StoreError) {
        let now = Int64(clock.nowMilliseconds())
        try await write("append to the audit log") { db in
            try AuditChain.append(db, at: now, actor: actor, action: action, target: target, outcome: outcome, detail: detail)
        }
    }

    /// The audit log, newest first.
    /// The newest entries first, at most `limit`; optionally only those before entry `before`,
    /// of one `action` (or every action under a prefix that ends in a dot: `federation.`), or of
    /// one `actor`.
    public func audit(limit: Int = 100, before: Int64? = nil, action: String? = nil, actor: String? = nil) async throws(StoreError) -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let before { conditions.append("seq < ?"); arguments.append(before) }
        if let action {
            if action.hasSuffix(".") {
                conditions.append("substr(action, 1, ?) = ?")
                arguments += [action.count, action]
            } else {
                conditions.append("action = ?")
                arguments.append(action)
            }
        }
        if let actor { conditions.append("actor = ?"); arguments.append(actor) }
        arguments.append(max(0, limit))
        let sql = "SELECT seq, at, actor, action, target, outcome, detail FROM audit\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?"
        let statementArguments = StatementArguments(arguments)
        return try await read("read the audit log") { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map {
                AuditEntry(seq: $0[0], at: Date(timeIntervalSince1970: Double($0[1] as Int64) / 1000), actor: $0[2], action: $0[3],
                           target: $0[4], outcome: $0[5], detail: $0[6])
            }
        }
    }

    /// Checks the whole chain; returns the sequence of the first entry that does not verify, or
    /// nil when the log is intact.
    public func verifyAudit() async throws(StoreError) -> Int64? {
        try await read("verify the audit log") { db in try AuditChain.verify(db).firstBroken }
    }
}

/// The audit log's hash chain: `hash = SHA-256(prev_hash ‖ length-prefixed fields)`.
enum AuditChain {
    /// Appends an entry chained to the last one, inside the caller's transaction.
    static func append(_ db: Database, at now: Int64, actor: String, action: String, target: String, outcome: String, detail: String) throws {
        let previous = try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")) ?? Data(count: 32)
        let hash = Self.hash(previous: previous, at: now, actor: actor, action: action, target: target, outcome: outcome, detail: detail)
        try db.cachedStatement(sql: """
            INSERT INTO audit(at, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [now, actor, action, target, outcome, detail, previous, hash])
        // The entry's chain hash becomes a leaf of the agency's log: a checkpoint then anchors the
        // audit log, so that a cut tail or a recomputed chain no longer matches what witnesses cosigned.
        if let origin = try TransparencyLog.ownOrigin(db) {
            let seq = db.lastInsertedRowID
            try TransparencyLog.append(db, origin: origin, kind: "audit", ref: "audit:\(seq)", entry: TransparencyLog.auditEntry(seq: seq, hash: Array(hash)))
        }
    }

    /// Walks the chain from the first entry: each `prev_hash` must be the hash before it and each
    /// `hash` must be recomputed from the entry's fields.
    static func verify(_ db: Database) throws -> (entries: Int, firstBroken: Int64?) {
        var previous = Data(count: 32)
        var entries = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT seq, at, actor, action, target, outcome, detail, prev_hash, hash FROM audit ORDER BY seq")
        while let row = try cursor.next() {
            let expected = hash(previous: previous, at: row[1], actor: row[2], action: row[3], target: row[4], outcome: row[5], detail: row[6])
            guard row[7] as Data == previous, row[8] as Data == expected else { return (entries, row[0] as Int64) }
            previous = expected
            entries += 1
        }
        return (entries, nil)
    }

    static func hash(previous: Data, at: Int64, actor: String, action: String, target: String, outcome: String, detail: String) -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        for field in [String(at), actor, action, target, outcome, detail] {
            hasher.update(data: Data("\(field.utf8.count):".utf8))
            hasher.update(data: Data(field.utf8))
        }
        return Data(hasher.finalize())
    }
}

extension Replica {
    /// Marks a quarantined item released (an admin's retry applied it).
    /// - Returns: false when there is no held item with that id.
    @discardableResult
    public func releaseQuarantined(id: Int64) async throws(StoreError) -> Bool {
        try await write("release quarantined item \(id)") { db in
            try db.execute(sql: "UPDATE quarantine SET state = 'released' WHERE id = ? AND state = 'held'", arguments: [id])
            return db.changesCount > 0
        }
    }
}
