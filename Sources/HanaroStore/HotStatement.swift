import GRDB
import GRDBSQLite

/// Binds and steps a GRDB cached statement through the SQLite C API, for the two statements on
/// the apply path that run once per record (look up by key, insert/update a record).
///
/// Written by hand on purpose: GRDB's `StatementArguments` boxes every value into a
/// `DatabaseValue` and its `Row` cursor allocates per row; on a million-record apply that was
/// about a quarter of the store's time (perf, see docs/BENCHMARKS.md). Everything else keeps
/// using GRDB. Errors become GRDB's `DatabaseError`, so they map like any other
/// (`Replica.databaseError`: a full disk stays a full disk).
struct HotStatement {
    let statement: Statement
    var handle: SQLiteStatement { statement.sqliteStatement }

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else {
                _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                _ = sqlite3_bind_text(handle, index, $0, Int32(utf8.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bind(_ index: Int32, _ value: Bool) { sqlite3_bind_int64(handle, index, value ? 1 : 0) }

    func bind(_ index: Int32, _ bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(handle, index)
            return
        }
        bytes.withUnsafeBytes { raw in
            // A zero-length blob still needs a non-null pointer to be a blob rather than NULL.
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), Self.transient)
        }
    }

    /// Steps once. Returns true when a row is available; throws SQLite's error.
    func step(_ db: Database) throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
    }

    /// A blob column of the current row (empty for NULL or an empty blob).
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A text column of the current row.
    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    /// Whether a column of the current row is NULL.
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// Resets for the next use (keeps the statement cached).
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }
}

/// An integer column of the current row.
func sqlite3ColumnInt64(_ statement: HotStatement, _ column: Int32) -> Int64 {
    sqlite3_column_int64(statement.handle, column)
}
