import ArgumentParser
import GRDBSQLite
import HanaroCore

/// The baseline: the SQLite C API inserting the same rows into the same table (same columns, same
/// `seq` index) with the same pragmas and transaction size — everything SQLite must do for these
/// rows, and nothing Hanaro adds (validation, merge, encoding, encryption, digest, conflict log).
final class RawSQLite {
    /// A pre-encoded row. The referral's personal bytes go in as they are (Hanaro stores them
    /// sealed, 28 bytes longer): the baseline pays no encryption.
    struct Row {
        var key: String
        var kind: Int64
        var owner: String
        var seq: Int64
        var vector: [UInt8]
        var body: [UInt8]
        var sealed: [UInt8]?

        init(_ version: RecordVersion, seq: Int64) {
            key = version.key.description
            kind = Int64(version.key.kind.rawValue)
            owner = version.key.owner.rawValue
            self.seq = seq
            var writer = CanonicalWriter()
            writer.write(version.vector)
            vector = writer.bytes
            writer = CanonicalWriter()
            version.encodeBody(to: &writer)
            body = writer.bytes
            writer = CanonicalWriter()
            version.encodePersonal(to: &writer)
            sealed = version.key.kind == .referral ? writer.bytes : nil
        }
    }

    private var db: OpaquePointer?
    private var insertStatement: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            throw ValidationError("cannot open \(path)")
        }
        try exec("PRAGMA journal_mode = WAL")
        try exec("PRAGMA synchronous = NORMAL")
        try exec("PRAGMA cache_size = -49152")  // the replica writer's default (Replica.Options.cacheKiB)
        try exec("""
            CREATE TABLE record (
                key TEXT PRIMARY KEY NOT NULL, kind INTEGER NOT NULL CHECK (kind IN (1, 2)), owner TEXT NOT NULL,
                seq INTEGER NOT NULL, vector BLOB NOT NULL, body BLOB NOT NULL, sealed BLOB,
                deleted INTEGER NOT NULL DEFAULT 0, conflicted INTEGER NOT NULL DEFAULT 0, echo_of TEXT
            ) STRICT;
            CREATE UNIQUE INDEX record_by_seq ON record(seq);
            """)
        guard sqlite3_prepare_v2(db, "INSERT INTO record(key, kind, owner, seq, vector, body, sealed, deleted, conflicted, echo_of) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 'peer:bench')", -1, &insertStatement, nil) == SQLITE_OK else {
            throw ValidationError("prepare failed: \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw ValidationError("\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    /// Inserts rows in one transaction.
    func insert(_ rows: [Row]) throws {
        try exec("BEGIN")
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for row in rows {
            sqlite3_bind_text(insertStatement, 1, row.key, -1, transient)
            sqlite3_bind_int64(insertStatement, 2, row.kind)
            sqlite3_bind_text(insertStatement, 3, row.owner, -1, transient)
            sqlite3_bind_int64(insertStatement, 4, row.seq)
            row.vector.withUnsafeBytes { _ = sqlite3_bind_blob(insertStatement, 5, $0.baseAddress, Int32($0.count), transient) }
            row.body.withUnsafeBytes { _ = sqlite3_bind_blob(insertStatement, 6, $0.baseAddress, Int32($0.count), transient) }
            if let sealed = row.sealed {
                sealed.withUnsafeBytes { _ = sqlite3_bind_blob(insertStatement, 7, $0.baseAddress, Int32($0.count), transient) }
            } else {
                sqlite3_bind_null(insertStatement, 7)
            }
            guard sqlite3_step(insertStatement) == SQLITE_DONE else {
                throw ValidationError("insert failed: \(String(cString: sqlite3_errmsg(db)))")
            }
            sqlite3_reset(insertStatement)
        }
        try exec("COMMIT")
    }

    func close() {
        sqlite3_finalize(insertStatement)
        sqlite3_close(db)
    }
}
