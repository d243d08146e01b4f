import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Program search's relevance: FTS5's bm25 (same formula, k1 = 1.2, b = 0.75, column weights),
/// with each phrase's document count supplied by the caller instead of counted on every query.
///
/// FTS5's built-in `bm25()` counts, once per statement, every row of the whole index that holds
/// each query phrase (to weigh rare phrases above common ones). For a word in most programs that
/// count walked a doclist of 100,000 rows, or ran a phrase query over all of them, on every
/// search: 8-13 ms of a 23 ms search over 100,000 programs, whatever the size of the window
/// ranked. `hanaro_bm25(program_fts, titleWeight, summaryWeight, hits0, hits1, …)` takes the
/// counts as arguments (``PhraseFrequencies`` keeps them, recounted when stale), and ranks a row
/// exactly as `bm25()` over the title and summary columns would with those counts: the third
/// column (`facets`, search filters as tokens) weighs nothing and is left out of the lengths.
/// Rows' lengths are kept in memory by rowid (``RowLengths``), which spares FTS5's lookup of each
/// in `program_fts_docsize`. FTS5 offers no way to feed its bm25 the counts,
/// and no library ships such a function, hence these lines.
enum SearchRank {
    static let functionName = "hanaro_bm25"

    /// The filter `hanaro_open(program_fts, day)`: whether the row's program is open on `day` (a
    /// `LocalDate` ordinal), from ``RowPeriods``; see ``openOn``.
    static let openFunctionName = "hanaro_open"

    /// `hanaro_stats(program_fts)`: the index's row count and its text columns' total size in
    /// tokens, as `"rows tokens"` — bm25's `N` and `avgdl` as FTS5 itself gives them (the search
    /// reads the same from the averages record, ``statistics(_:)``, once for a first page) and
    /// carried by its cursor, so that programs indexed while a client pages (which move both)
    /// do not reorder the matches of the window being paged (outside review, session 16: pages
    /// repeated and skipped programs).
    static let statsFunctionName = "hanaro_stats"

    /// Registers ``functionName`` on a connection (every connection: the readers search), with the
    /// lengths its replica's connections share — on read-only connections only: a writer ranking
    /// inside a transaction that rolls back could keep the length of an id that is then reused.
    /// The function ranks `program_fts` only (the lengths are its rows'). Registers
    /// ``openFunctionName`` too, on every connection: its periods are loaded by searches, which
    /// read committed rows only.
    static func register(_ db: Database, memo: SearchMemo) {
        assert(SearchText.maxTerms <= 16, "hanaro_bm25 keeps the frequencies of at most 16 phrases")
        let api = FTS5.api(db)
        // The connection holds a reference to the periods until it closes (xDestroy).
        let periods = Unmanaged.passRetained(memo.periods).toOpaque()
        let registered = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), openFunctionName, periods, openOn) { userData in
            if let userData { Unmanaged<RowPeriods>.fromOpaque(userData).release() }
        }
        if registered != SQLITE_OK { Unmanaged<RowPeriods>.fromOpaque(periods).release() }
        _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), statsFunctionName, nil, stats, nil)
        guard db.configuration.readonly else {
            _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, nil, bm25, nil)
            return
        }
        // The connection holds a reference to the lengths until it closes (xDestroy).
        let userData = Unmanaged.passRetained(memo.lengths).toOpaque()
        let created = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, userData, bm25) { userData in
            if let userData { Unmanaged<RowLengths>.fromOpaque(userData).release() }
        }
        if created != SQLITE_OK { Unmanaged<RowLengths>.fromOpaque(userData).release() }
    }

    /// `hanaro_open(program_fts, day)`: 1 if the row's program is open on `day` by the periods
    /// its search loaded (``RowPeriods/refresh(_:)``, in the same read), else 0. A join of each
    /// match to `program_index` cost ~1.4 µs a row, and most matches of a common word fail a day.
    static let openOn: fts5_extension_function = { api, context, result, count, values in
        guard let api = api?.pointee, let context, count == 1, let values, let value = values[0], let userData = api.xUserData(context) else {
            sqlite3_result_error(result, "hanaro_open: expects (program_fts, day)", -1)
            return
        }
        let periods = Unmanaged<RowPeriods>.fromOpaque(userData).takeUnretainedValue()
        let day = sqlite3_value_int64(value)
        sqlite3_result_int(result, periods.isOpen(api.xRowid(context), on: day) ? 1 : 0)
    }

    /// bm25's N and token total as `"rows tokens"` (the text columns': title and summary), read
    /// from FTS5's averages record (`program_fts_data` row 1: the row count, then each column's
    /// total size, as SQLite varints — what `xRowCount` and `xColumnTotalSize` read): one indexed
    /// row, where asking ``statsFunctionName`` needs a MATCH whose first row a prefix query pays
    /// for by merging every doclist it names. `SearchIndexTests` checks the two agree.
    static func statistics(_ db: Database) throws -> String? {
        guard let record = try Data.fetchOne(db.cachedStatement(sql: "SELECT block FROM program_fts_data WHERE id = 1")) else { return nil }
        let bytes = Array(record)
        var position = 0
        var values: [Int64] = []
        while position < bytes.count, values.count < 3, let (value, length) = varint(bytes, at: position) {
            values.append(value)
            position += length
        }
        guard values.count >= 3, values[0] >= 1 else { return nil }
        return "\(values[0]) \(values[1] + values[2])"
    }

    /// A SQLite varint at `start` (big-endian 7-bit groups, a ninth byte of 8 bits) and its length.
    static func varint(_ bytes: [UInt8], at start: Int) -> (Int64, Int)? {
        var value: UInt64 = 0
        for index in 0..<9 {
            guard start + index < bytes.count else { return nil }
            let byte = bytes[start + index]
            if index == 8 { return (Int64(bitPattern: value << 8 | UInt64(byte)), 9) }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return (Int64(bitPattern: value), index + 1) }
        }
        return nil
    }

    static let stats: fts5_extension_function = { api, context, result, _, _ in
        guard let api = api?.pointee, let context else { return }
        var rows: sqlite3_int64 = 0, title: sqlite3_int64 = 0, summary: sqlite3_int64 = 0
        guard api.xRowCount(context, &rows) == SQLITE_OK, api.xColumnTotalSize(context, 0, &title) == SQLITE_OK,
              api.xColumnTotalSize(context, 1, &summary) == SQLITE_OK else {
            sqlite3_result_error(result, "hanaro_stats: FTS5 refused a statistic", -1)
            return
        }
        let text = "\(rows) \(title + summary)"
        sqlite3_result_text(result, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    /// The function: `-Σ idf(p) · f(p)(k1 + 1) / (f(p) + k1(1 - b + b·D/avgdl))` over the phrases
    /// `p` of the query, where `f(p)` is the phrase's weighted frequency in the row, `D` the row's
    /// length in tokens, `avgdl` the index's mean, and `idf(p) = ln((N - n + 0.5) / (n + 0.5))`
    /// (1e-6 when not positive, as FTS5 does) with `n` the phrase's count from the arguments (a
    /// phrase without one counts as in every row). Smaller is better, as with `bm25()`.
    static let bm25: fts5_extension_function = { api, context, result, count, values in
        guard let api = api?.pointee, let context else { return }
        let k1 = 1.2, b = 0.75
        var rows: sqlite3_int64 = 0
        var tokens: sqlite3_int64 = 0
        var instances: Int32 = 0
        var length: Int32 = 0
        // Lengths are the text columns' (title, summary): the facets are filters, not text. Kept
        // by rowid (`RowLengths`): FTS5 looks a length up with a statement per row.
        let rowid = api.xRowid(context)
        let lengths = api.xUserData(context).map { Unmanaged<RowLengths>.fromOpaque($0).takeUnretainedValue() }
        if let kept = lengths?.length(of: rowid) {
            length = kept
        } else {
            var title: Int32 = 0, summary: Int32 = 0
            guard api.xColumnSize(context, 0, &title) == SQLITE_OK, api.xColumnSize(context, 1, &summary) == SQLITE_OK else {
                sqlite3_result_error(result, "hanaro_bm25: FTS5 refused a row's length", -1)
                return
            }
            length = title + summary
            lengths?.keep(length, of: rowid)
        }
        var titleTokens: sqlite3_int64 = 0, summaryTokens: sqlite3_int64 = 0
        guard api.xRowCount(context, &rows) == SQLITE_OK, api.xColumnTotalSize(context, 0, &titleTokens) == SQLITE_OK,
              api.xColumnTotalSize(context, 1, &summaryTokens) == SQLITE_OK, api.xInstCount(context, &instances) == SQLITE_OK else {
            sqlite3_result_error(result, "hanaro_bm25: FTS5 refused a statistic", -1)
            return
        }
        tokens = titleTokens + summaryTokens
        let phrases = Int(api.xPhraseCount(context))
        let argumentCount = Int(count)
        func argument(_ index: Int) -> Double? {
            guard index < argumentCount, let values, let value = values[index] else { return nil }
            let type = sqlite3_value_type(value)
            guard type == SQLITE_INTEGER || type == SQLITE_FLOAT else { return nil }
            return sqlite3_value_double(value)
        }
        // Last, optionally, the text "rows tokens" a first page ranked with
        // (``statsFunctionName``): a cursor's next page ranks with the same N and avgdl.
        if argumentCount > 2, let values, let last = values[argumentCount - 1], sqlite3_value_type(last) == SQLITE_TEXT,
           let text = sqlite3_value_text(last) {
            let parts = String(cString: text).split(separator: " ").compactMap { Int64($0) }
            if parts.count == 2, parts[0] >= 1, parts[1] >= 0 {
                rows = parts[0]
                tokens = parts[1]
            }
        }
        // As bm25(): a column's weight is its argument (NULL reads as 0), 1 without one; the
        // third column (facets) weighs nothing.
        func weight(_ column: Int32) -> Double {
            guard column < 2 else { return 0 }
            guard Int(column) < min(argumentCount, 2), let values, let value = values[Int(column)] else { return 1 }
            return sqlite3_value_double(value)
        }
        // Queries hold at most ``SearchText/maxTerms`` phrases: a fixed buffer, no allocation per row.
        var frequencies: (Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let score: Double? = withUnsafeMutableBytes(of: &frequencies) { raw in
            let frequency = raw.bindMemory(to: Double.self)
            let used = min(phrases, frequency.count)
            for index in 0 ..< instances {
                var phrase: Int32 = 0, column: Int32 = 0, offset: Int32 = 0
                guard api.xInst(context, index, &phrase, &column, &offset) == SQLITE_OK else { return nil }
                if phrase >= 0, Int(phrase) < used { frequency[Int(phrase)] += weight(column) }
            }
            // The arithmetic in bm25()'s order (fts5_aux.c), so the scores are the same bits.
            let n = Double(max(rows, 1))
            let averageLength = Double(tokens) / n
            var score = 0.0
            for phrase in 0 ..< used {
                let hits = min(max(argument(2 + phrase) ?? n, 0), n)
                var idf = log((n - hits + 0.5) / (hits + 0.5))
                if idf <= 0 { idf = 1e-6 }
                let f = frequency[phrase]
                score += idf * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * Double(length) / averageLength)))
            }
            return score
        }
        guard let score else {
            sqlite3_result_error(result, "hanaro_bm25: FTS5 refused a phrase instance", -1)
            return
        }
        sqlite3_result_double(result, -1.0 * score)
    }
}

/// How many indexed programs hold each search phrase: bm25's document counts, kept between
/// searches. A count is reused for up to ``maxAge`` while programs are being written (a rank then
/// moves by the fraction of a percent those writes change the count) and indefinitely while the
/// replica has not changed; a cursor carries the counts its page was ranked with, so the next page
/// ranks with the same ones.
final class PhraseFrequencies: Sendable {
    static let maxAge: Duration = .seconds(5)
    static let capacity = 4_096

    struct Entry: Sendable {
        var hits: Int64
        var generation: UInt64
        var at: ContinuousClock.Instant
    }

    let entries = Mutex<[String: Entry]>([:])

    /// The kept count of `phrase` if still good at `generation`.
    func hits(_ phrase: String, generation: UInt64) -> Int64? {
        entries.withLock { entries in
            guard let entry = entries[phrase] else { return nil }
            guard entry.generation == generation || ContinuousClock.now - entry.at < Self.maxAge else { return nil }
            return entry.hits
        }
    }

    func keep(_ phrase: String, hits: Int64, generation: UInt64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[phrase] = Entry(hits: hits, generation: generation, at: .now)
        }
    }
}

/// The lengths of `program_fts` rows (title and summary tokens), by rowid, as `hanaro_bm25` first
/// read them from FTS5: ~1.7 µs a row there (a statement on `program_fts_docsize`), a third of
/// ranking a match. Nothing to invalidate: a rowid's row never changes (`SearchIndex.indexProgram`
/// gives a changed program a new id, and ids are never reused). Rowids above ``capacity`` are
/// not kept; 2 bytes a program otherwise (0 = not known yet).
final class RowLengths: Sendable {
    static let capacity = 1 << 22
    let lengths = Mutex<[UInt16]>([])

    func length(of rowid: Int64) -> Int32? {
        guard rowid > 0, rowid < Self.capacity else { return nil }
        return lengths.withLock { lengths in
            guard Int(rowid) < lengths.count, lengths[Int(rowid)] != 0 else { return nil }
            return Int32(lengths[Int(rowid)] - 1)
        }
    }

    func keep(_ length: Int32, of rowid: Int64) {
        guard rowid > 0, rowid < Self.capacity, length >= 0, length < Int32(UInt16.max) else { return }
        lengths.withLock { lengths in
            if Int(rowid) >= lengths.count { lengths.append(contentsOf: repeatElement(0, count: max(Int(rowid) + 1 - lengths.count, lengths.count / 2))) }
            lengths[Int(rowid)] = UInt16(length + 1)
        }
    }
}

/// What search keeps in memory across a replica's connections, by `program_fts` rowid.
final class SearchMemo: Sendable {
    let lengths = RowLengths()
    let periods = RowPeriods()
}

/// The days each indexed program is open (`program_index.open_from...open_until`), by index id,
/// for `hanaro_open`. An id's period never changes: a program whose period changes is re-indexed
/// under a new id (`SearchIndex.indexProgram`), and ids are never reused. A search with a day
/// loads the ids indexed since the last load (`refresh`), in its own read transaction, so every
/// row it can match is known; an id missing from what was loaded (withdrawn before the load) is
/// never open. A reader on an older snapshot than the load's can see an id withdrawn or
/// re-indexed since (a program whose period changed between the two snapshots): that program is
/// left out of the older reader's search, never shown when closed; the window is one commit.
/// 8 bytes an id, at most ``capacity`` ids (then the join, as before).
final class RowPeriods: Sendable {
    static let capacity: Int64 = 1 << 20

    struct State {
        /// The highest id loaded: every id up to it is known.
        var through: Int64 = 0
        /// Ids reached ``capacity``: every later search joins, without trying again.
        var overflowed = false
        var from: [Int32] = []
        var until: [Int32] = []
    }

    let state = Mutex(State())

    /// Loads the periods of ids above what is loaded; false when the ids outgrow ``capacity``
    /// (the caller filters by the join instead).
    func refresh(_ db: Database) throws -> Bool {
        let (through, overflowed) = state.withLock { ($0.through, $0.overflowed) }
        guard !overflowed else { return false }
        var loaded: [(id: Int64, from: Int32, until: Int32)] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT id, open_from, open_until FROM program_index WHERE id > ? ORDER BY id", arguments: [through])
        while let row = try rows.next() {
            let id: Int64 = row[0]
            guard id < Self.capacity else {
                state.withLock { $0.overflowed = true }
                return false
            }
            let from: Int64? = row[1], until: Int64? = row[2]
            loaded.append((id, Self.clamp(from) ?? Int32.min, Self.clamp(until) ?? Int32.max))
        }
        guard let last = loaded.last?.id else { return true }
        state.withLock { state in
            guard last > state.through else { return }
            // Ids between those loaded are withdrawn programs: never open.
            let count = Int(last) + 1
            if state.from.count < count {
                state.from.append(contentsOf: repeatElement(Int32.max, count: count - state.from.count))
                state.until.append(contentsOf: repeatElement(Int32.min, count: count - state.until.count))
            }
            for entry in loaded where entry.id > state.through {
                state.from[Int(entry.id)] = entry.from
                state.until[Int(entry.id)] = entry.until
            }
            state.through = last
        }
        return true
    }

    func isOpen(_ rowid: Int64, on day: Int64) -> Bool {
        state.withLock { state in
            guard rowid > 0, rowid <= state.through, Int(rowid) < state.from.count else { return false }
            return Int64(state.from[Int(rowid)]) <= day && day <= Int64(state.until[Int(rowid)])
        }
    }

    static func clamp(_ value: Int64?) -> Int32? {
        value.map { Int32(clamping: $0) }
    }
}
