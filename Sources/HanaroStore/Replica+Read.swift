public import Foundation
public import HanaroCore
import GRDB

/// One entry of the change feed: a record's state and the local sequence at which this replica
/// last changed it.
public struct Change: Sendable, Hashable {
    public var seq: Int64
    public var version: RecordVersion
}

/// A page of the change feed.
public struct ChangePage: Sendable {
    /// The replica's epoch: a cursor from another epoch is void.
    public var epoch: String
    /// Changes in ascending `seq` order.
    public var changes: [Change]
    /// The cursor for the next page: the last `seq` returned, or the request's when empty.
    public var nextCursor: Int64
    /// Whether more changes follow.
    public var hasMore: Bool
}

/// Replica totals, for the status port and the CLI.
public struct ReplicaSummary: Sendable, Hashable, Codable {
    public var epoch: String
    public var programs: Int64
    public var referrals: Int64
    public var openConflicts: Int64
    /// Conflicts ever logged (all states).
    public var conflictsLogged: Int64 = 0
    public var quarantined: Int64
    public var headSeq: Int64
    public var digest: String
}

/// Where a logged collision stands.
public enum ConflictState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Both values are kept; the deterministic winner shows; an admin may override.
    case open
    /// A later write by an entitled agency replaced the colliding values.
    case superseded
    /// An admin chose the value to keep.
    case resolved
}

/// Where a quarantined item stands.
public enum QuarantineState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Refused and kept, waiting for a fix or a retry.
    case held
    /// A retry applied it.
    case released
    /// Dropped by an admin.
    case discarded
}

/// A row of the conflict log.
public struct ConflictEntry: Sendable, Hashable {
    public var id: Int64
    public var conflictID: String
    public var recordKey: String
    public var field: String
    public var dots: [String]
    public var differingFields: [String]
    public var kept: String
    /// The stream whose write made the collision appear (`peer:kodit`, `local`).
    public var source: String
    public var detectedAt: Date
    public var state: ConflictState
    public var closedBy: String?
}

/// A row of the quarantine (the payload stays sealed; see ``Replica/quarantinedPayload(id:)``).
public struct QuarantineEntry: Sendable, Hashable {
    public var id: Int64
    /// The stream that delivered it.
    public var source: StreamID
    public var recordKey: String?
    public var code: String
    public var reason: String
    public var attempts: Int64
    public var firstSeen: Date
    public var lastSeen: Date
    public var state: QuarantineState
}

extension Replica {
    /// The current state of a record, or nil.
    /// - Throws: ``StoreError``.
    public func record(_ recordKey: RecordKey) async throws(StoreError) -> RecordVersion? {
        let key = self.key
        return try await read("read \(recordKey)") { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT vector, body, sealed FROM record WHERE key = ?"),
                                             arguments: [recordKey.description]) else { return nil }
            return try StoredRow(vector: Array(row[0] as Data), body: Array(row[1] as Data), sealed: row[2]).decode(recordKey, with: key).version
        }
    }

    /// Changes after `cursor` (exclusive), at most `limit`, in stable ascending order. A record
    /// changed several times appears once, at its latest sequence.
    /// - Throws: ``StoreError``.
    public func changes(after cursor: Int64, limit: Int) async throws(StoreError) -> ChangePage {
        let key = self.key, epoch = self.epoch
        return try await read("read the change feed") { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT seq, key, vector, body, sealed FROM record WHERE seq > ? ORDER BY seq LIMIT ?
                """), arguments: [cursor, limit + 1])
            var changes: [Change] = []
            changes.reserveCapacity(min(rows.count, limit))
            for row in rows.prefix(limit) {
                let recordKey = try RecordKey(parsing: row[1])
                let stored = StoredRow(vector: Array(row[2] as Data), body: Array(row[3] as Data), sealed: row[4])
                changes.append(Change(seq: row[0], version: try stored.decode(recordKey, with: key).version))
            }
            return ChangePage(epoch: epoch, changes: changes, nextCursor: changes.last?.seq ?? cursor, hasMore: rows.count > limit)
        }
    }

    /// The greatest sequence issued so far.
    public func headSeq() async throws(StoreError) -> Int64 {
        try await read("read the head sequence") { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'last_seq'") ?? 0
        }
    }

    /// A stream's checkpoint value, or nil if it never delivered anything.
    public func checkpoint(_ stream: StreamID) async throws(StoreError) -> String? {
        try await read("read checkpoint \(stream)") { db in
            try String.fetchOne(db, sql: "SELECT value FROM checkpoint WHERE stream = ?", arguments: [stream.rawValue])
        }
    }

    /// The running digest of the replica's merged state (O(1)).
    public func digest() async throws(StoreError) -> ReplicaDigest {
        try await read("read the digest") { db in
            let data = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'digest'") ?? Data(ReplicaDigest.empty.bytes)
            return ReplicaDigest(bytes: Array(data))
        }
    }

    /// The digest computed from scratch over every record (O(n)): checks the running digest.
    public func recomputeDigest() async throws(StoreError) -> ReplicaDigest {
        let key = self.key
        return try await read("recompute the digest") { db in
            var digest = ReplicaDigest.empty
            let cursor = try Row.fetchCursor(db, sql: "SELECT key, vector, body, sealed FROM record")
            while let row = try cursor.next() {
                let text: String = row[0]
                let sealed: Data? = row[3]
                let personal = try sealed.map { sealed throws(StoreError) in try key.open(sealed, context: text) } ?? []
                digest.toggle(ReplicaDigest.recordHash(key: text, vector: Array(row[1] as Data), body: Array(row[2] as Data),
                                                       personal: try WriteSession.shareablePersonal(personal)))
            }
            return digest
        }
    }

    /// Totals for the status port.
    public func summary() async throws(StoreError) -> ReplicaSummary {
        let epoch = self.epoch
        return try await read("read the replica summary") { db in
            var values: [String: DatabaseValue] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM meta") { values[row[0]] = row[1] as DatabaseValue }
            let digest = (Data.fromDatabaseValue(values["digest"] ?? .null)).map { ReplicaDigest(bytes: Array($0)) } ?? .empty
            return ReplicaSummary(
                epoch: epoch,
                programs: Int64.fromDatabaseValue(values["count.program"] ?? .null) ?? 0,
                referrals: Int64.fromDatabaseValue(values["count.referral"] ?? .null) ?? 0,
                openConflicts: try Int64.fetchOne(db, sql: "SELECT count(*) FROM conflict WHERE state = 'open'") ?? 0,
                conflictsLogged: try Int64.fetchOne(db, sql: "SELECT count(*) FROM conflict") ?? 0,
                quarantined: try Int64.fetchOne(db, sql: "SELECT count(*) FROM quarantine WHERE state = 'held'") ?? 0,
                headSeq: Int64.fromDatabaseValue(values["last_seq"] ?? .null) ?? 0,
                digest: digest.description)
        }
    }

    /// The conflict log, newest first; `state` filters (nil: every state).
    public func conflicts(state: ConflictState? = nil, limit: Int = 100) async throws(StoreError) -> [ConflictEntry] {
        try await read("read the conflict log") { db in
            let filter = state == nil ? "" : "WHERE state = ?"
            let arguments: StatementArguments = state.map { [$0.rawValue, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: "SELECT \(Self.conflictColumns) FROM conflict \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map(Self.conflictEntry)
        }
    }

    /// One conflict, by its row id (what `hanaro conflicts list` shows) or its conflict id.
    public func conflict(_ id: String) async throws(StoreError) -> ConflictEntry? {
        try await read("read conflict \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.conflictColumns) FROM conflict WHERE id = ? OR conflict_id = ?",
                             arguments: [Int64(id) ?? -1, id]).map(Self.conflictEntry)
        }
    }

    private static let conflictColumns = "id, conflict_id, record_key, field, dots, differing, kept, source, detected_at, state, closed_by"

    private static func conflictEntry(_ row: Row) -> ConflictEntry {
        ConflictEntry(
            id: row[0], conflictID: row[1], recordKey: row[2], field: row[3],
            dots: (row[4] as String).split(separator: ",").map(String.init),
            differingFields: (row[5] as String).split(separator: ",").map(String.init),
            kept: row[6], source: row[7], detectedAt: Date(timeIntervalSince1970: Double(row[8] as Int64) / 1000),
            state: ConflictState(rawValue: row[9]) ?? .open, closedBy: row[10])
    }

    /// The quarantine, newest first; `state` and `source` filter (nil: all).
    public func quarantine(state: QuarantineState? = .held, source: StreamID? = nil, code: String? = nil, limit: Int = 100) async throws(StoreError) -> [QuarantineEntry] {
        try await read("read the quarantine") { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let code {
                conditions.append("code = ?")
                arguments += [code]
            }
            if let state {
                conditions.append("state = ?")
                arguments += [state.rawValue]
            }
            if let source {
                conditions.append("source = ?")
                arguments += [source.rawValue]
            }
            arguments += [limit]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT \(Self.quarantineColumns) FROM quarantine \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map(Self.quarantineEntry)
        }
    }

    /// One quarantined item (without its payload).
    public func quarantineEntry(id: Int64) async throws(StoreError) -> QuarantineEntry? {
        try await read("read quarantined item \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.quarantineColumns) FROM quarantine WHERE id = ?", arguments: [id]).map(Self.quarantineEntry)
        }
    }

    private static let quarantineColumns = "id, source, record_key, code, reason, attempts, first_seen, last_seen, state"

    private static func quarantineEntry(_ row: Row) -> QuarantineEntry {
        QuarantineEntry(
            // Every name was written by a `StreamID`; one this version cannot parse reads as a tool's.
            id: row[0], source: StreamID(rawValue: row[1]) ?? .tool(row[1]), recordKey: row[2], code: row[3], reason: row[4], attempts: row[5],
            firstSeen: Date(timeIntervalSince1970: Double(row[6] as Int64) / 1000),
            lastSeen: Date(timeIntervalSince1970: Double(row[7] as Int64) / 1000), state: QuarantineState(rawValue: row[8]) ?? .held)
    }

    /// The raw payload of a quarantined item, decrypted (for an admin's inspection or retry).
    public func quarantinedPayload(id: Int64) async throws(StoreError) -> [UInt8]? {
        let key = self.key
        return try await read("read quarantined item \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT source, sealed_payload FROM quarantine WHERE id = ?", arguments: [id]) else { return nil }
            return try key.open(row[1], context: "quarantine:\(row[0] as String)")
        }
    }

    /// `PRAGMA integrity_check`: "ok" on a healthy file.
    public func integrityCheck() async throws(StoreError) -> String {
        try await read("check the file's integrity") { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
        }
    }
}
