public import Foundation
public import HanaroCore
import GRDB
import Crypto
import Synchronization

/// A program search (`GET /v1/programs`).
public struct ProgramQuery: Sendable, Hashable {
    /// Korean or other text over title (weighted ×3) and summary; nil: every program, by key.
    public var text: String?
    public var region: RegionCode?
    /// A KSIC code or prefix (`G`, `G47`); programs for a broader or narrower industry match.
    public var industry: String?
    public var category: SupportCategory?
    public var agency: AgencyID?
    /// Programs taking applications that day (those without dates count as always open).
    public var openOn: LocalDate?
    public var limit = 20
    /// A cursor from the previous page.
    public var cursor: String?
    /// How many matches are ranked together (see ``Replica/searchPrograms(_:)``; tests narrow it).
    public var rankWindow = 2_000

    public init() {}
}

/// One program found, with its relevance (bm25: smaller is better; nil without text).
public struct ProgramHit: Sendable {
    public var version: RecordVersion
    public var program: ProgramRecord
    public var score: Double?
}

/// A page of ``ProgramHit``s and the cursor of the next (nil on the last).
public struct ProgramPage: Sendable {
    public var items: [ProgramHit]
    public var nextCursor: String?
}

/// A program's criteria, as eligibility reads them.
public struct ProgramCriteria: Sendable {
    public var key: RecordKey
    public var title: String
    public var eligibility: Eligibility
    public var category: SupportCategory?
    /// The application period as `yyyymmdd` ordinals (nil: open-ended).
    public var openFrom: Int?
    public var openUntil: Int?
}

/// Every indexed program's criteria, kept in memory between eligibility answers (decoding 100,000
/// of them took ~0.8 s per answer) and brought up to date from the records changed since: a
/// program withdrawn since is dropped (its record changed, its index row is gone).
final class CriteriaCache: Sendable {
    struct State: Sendable {
        var byKey: [String: ProgramCriteria] = [:]
        var sorted: CriteriaSet?
        var maxSeq: Int64 = -1
        var generation: UInt64 = .max
    }
    let state = Mutex(State())
}

/// Every indexed program's criteria in key order, with their eligibility packed for answers
/// (``EligibilityTable``) and the answer's filters in plain rows beside them.
struct CriteriaSet: Sendable {
    struct Filter: Sendable {
        var owner: UInt8
        /// The 지원분야 code as a number (0: none).
        var category: UInt8
        var openFrom: Int32
        var openUntil: Int32
    }

    var programs: [ProgramCriteria]
    var table: EligibilityTable
    var filters: [Filter]

    init(_ programs: [ProgramCriteria]) {
        self.programs = programs
        table = EligibilityTable(programs.lazy.map(\.eligibility))
        filters = programs.map { program in
            Filter(owner: UInt8(program.key.owner.index), category: Self.number(program.category),
                   openFrom: Int32(clamping: program.openFrom ?? Int(Int32.min)), openUntil: Int32(clamping: program.openUntil ?? Int(Int32.max)))
        }
    }

    /// A 지원분야 as its code's number (0: none).
    static func number(_ category: SupportCategory?) -> UInt8 { category.flatMap { UInt8($0.rawValue) } ?? 0 }
}

/// An eligibility answer's classes over every program that passed its filters: indices into
/// `programs`, each list in key order.
public struct EligibilityScan: Sendable {
    public var programs: [ProgramCriteria]
    public var eligible: [Int] = []
    public var unknown: [Int] = []
    public var ineligible: [Int] = []
}

/// Which referrals a list shows, as seen by this node's agency.
public enum ReferralDirection: String, Sendable, Hashable, CaseIterable {
    case incoming
    case outgoing
}

/// A page of referrals and the cursor of the next (nil on the last).
public struct ReferralPage: Sendable {
    public var items: [(seq: Int64, version: RecordVersion)]
    public var nextCursor: String?
}

extension Replica {
    /// Searches the programs of every agency (see ``ProgramQuery``), in a stable order: by
    /// relevance then index id with text, by record key without.
    /// - Throws: ``StoreError`` `.invalidRequest` for a cursor this replica did not issue or a
    ///   query with nothing searchable.
    public func searchPrograms(_ query: ProgramQuery) async throws(StoreError) -> ProgramPage {
        // A cursor is bound to the query that issued it (text and filters; the limit may change):
        // followed with another query it would page silently through the wrong results.
        let tag = Self.cursorTag(["programs", query.text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", query.region?.code ?? "",
                                  query.industry?.uppercased() ?? "", query.category?.rawValue ?? "", query.agency?.rawValue ?? "",
                                  query.openOn.map { String($0.ordinal) } ?? ""])
        var query = query
        if let cursor = query.cursor { query.cursor = try Self.unbind(cursor, tag: tag) }
        var page = try await searchProgramsUnbound(query)
        page.nextCursor = page.nextCursor.map { Self.bind($0, tag: tag) }
        return page
    }

    func searchProgramsUnbound(_ query: ProgramQuery) async throws(StoreError) -> ProgramPage {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        // A text search filters in FTS5 (`SearchIndex.facets(of:)`) what a list filters in
        // `program_index`, but the day a program is open on (a range): `program_index`.
        var facets: [String] = []
        var joined: (conditions: [String], arguments: [(any DatabaseValueConvertible)?]) = ([], [])
        /// A list's filter, and a text search's too unless FTS5 holds it as tokens (`facet`).
        func filter(_ condition: String, _ values: [(any DatabaseValueConvertible)?], facet: String?) {
            conditions.append(condition)
            arguments += values
            if let facet {
                facets.append(facet)
            } else {
                joined.conditions.append(condition)
                joined.arguments += values
            }
        }
        if let agency = query.agency {
            filter("p.agency = ?", [agency.rawValue], facet: SearchIndex.facetFilter(["a" + agency.rawValue]))
        }
        if let category = query.category {
            filter("p.category = ?", [category.rawValue], facet: SearchIndex.facetFilter(["c" + category.rawValue]))
        }
        if let region = query.region {
            // A 시도 query finds programs for it and for any 시군구 in it; a 시군구 query finds
            // programs for it and for its 시도. Nationwide programs always.
            if region.code.count == 2 {
                filter("(p.regions = '' OR instr(p.regions, ?) > 0)", [" " + region.code], facet: SearchIndex.regionFilter(region))
            } else {
                filter("(p.regions = '' OR instr(p.regions, ?) > 0 OR instr(p.regions, ?) > 0)", [" \(region.code) ", " \(region.province) "],
                       facet: SearchIndex.regionFilter(region))
            }
        }
        if let industry = query.industry?.uppercased(), !industry.isEmpty {
            // Codes beginning with it, or codes it begins with; every industry always.
            let prefixes = (1 ..< industry.count).map { " \(industry.prefix($0)) " }
            filter("(p.industries = ''" + String(repeating: " OR instr(p.industries, ?) > 0", count: 1 + prefixes.count) + ")",
                   [" " + industry] + prefixes, facet: SearchIndex.industryFilter(industry))
        }
        // The day: a list's SQL; a text search's `hanaro_open` (open periods kept in memory by
        // index id, `RowPeriods`), or the same SQL by a join when they cannot be kept.
        let openCondition = "(p.open_from IS NULL OR p.open_from <= ?) AND (p.open_until IS NULL OR p.open_until >= ?)"
        let openDay = query.openOn.map { Int64($0.ordinal) }
        if let openDay {
            conditions.append(openCondition)
            arguments += [openDay, openDay]
        }
        let limit = max(1, min(query.limit, 100))
        let key = self.key
        let text = query.text.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        guard let text else {
            if let cursor = query.cursor {
                guard let after = Self.keyCursor(cursor) else { throw Self.badCursor }
                conditions.append("p.key > ?")
                arguments.append(after)
            }
            let sql = """
                SELECT p.key, NULL, p.id FROM program_index p \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY p.key LIMIT \(limit + 1)
                """
            let statementArguments = StatementArguments(arguments)
            return try await read("list programs") { db in
                let rows = try Row.fetchAll(db, sql: sql, arguments: statementArguments)
                let items = try rows.prefix(limit).compactMap { row in try Self.hit(db, recordKey: row[0], score: nil, key: key) }
                return ProgramPage(items: items, nextCursor: rows.count > limit ? rows.prefix(limit).last.map { Self.keyCursor(key: $0[0]) } : nil)
            }
        }
        guard text.count <= SearchText.maxQueryLength else {
            throw StoreError(.invalidRequest, "q is \(text.count) characters long; at most \(SearchText.maxQueryLength)")
        }
        guard let phrases = SearchText.matchPhrases(text) else {
            throw StoreError(.invalidRequest, "q holds no letters or digits to search for")
        }
        // The text's phrases first: `hanaro_bm25`'s counts are theirs, in this order.
        let match = (phrases + facets).joined(separator: " AND ")
        var window = Self.firstWindow
        if let cursor = query.cursor {
            guard let parsed = Self.windowCursor(cursor), parsed.hits.isEmpty || parsed.hits.count == phrases.count else { throw Self.badCursor }
            window = parsed
        }
        let generation = commitGeneration
        let frequencies = phraseFrequencies
        let periods = searchMemo.periods
        let joinedConditions = joined.conditions
        let joinedArguments: [DatabaseValue] = joined.arguments.map { $0?.databaseValue ?? .null }
        let windowSize = max(1, query.rankWindow)
        let startWindow = window
        return try await read("search programs") { db in
            var conditions = joinedConditions
            var filterArguments = joinedArguments
            var joinsIndex = !conditions.isEmpty
            if let openDay {
                if try periods.refresh(db) {
                    conditions.append("\(SearchRank.openFunctionName)(program_fts, ?)")
                    filterArguments.append(openDay.databaseValue)
                } else {
                    conditions.append(openCondition)
                    filterArguments += [openDay.databaseValue, openDay.databaseValue]
                    joinsIndex = true
                }
            }
            let filters = conditions.isEmpty ? "" : " AND " + conditions.joined(separator: " AND ")
            let join = joinsIndex ? " JOIN program_index p ON p.id = program_fts.rowid" : ""
            var window = startWindow
            // bm25's document counts: the cursor's (the previous page's), else kept or counted.
            if window.hits.isEmpty {
                window.hits = try phrases.map { phrase in
                    if let hits = frequencies.hits(phrase, generation: generation) { return hits }
                    let hits = try Int64.fetchOne(db, sql: "SELECT count(*) FROM program_fts WHERE program_fts MATCH ?", arguments: [phrase]) ?? 0
                    frequencies.keep(phrase, hits: hits, generation: generation)
                    return hits
                }
            }
            // Relevance (bm25, title ×3) is ranked within windows of the `rankWindow` most
            // recently indexed matches, newest window first: FTS5 scores every match it ranks
            // (~1.9 µs each here, and ~1.4 µs more to join a match to its filters), so ranking all
            // 100,000 matches of a common word took ~170 ms. A query with fewer matches than a
            // window is ranked exactly. One pass reads a window's ids and scores, newest first
            // (FTS5 walks its doclist backwards, no sort); the page is ordered here.
            // bm25's N and avgdl: the cursor's, else read now (in this read, as the counts are).
            if window.stats == nil { window.stats = try SearchRank.statistics(db) }
            let rank = "\(SearchRank.functionName)(program_fts, 3.0, 1.0\(String(repeating: ", ?", count: window.hits.count + (window.stats == nil ? 0 : 1))))"
            let rankArguments = window.hits.map(\.databaseValue) + (window.stats.map { [$0.databaseValue] } ?? [])
            var items: [ProgramHit] = []
            var next: String?
            while items.count < limit {
                let range: String
                let rangeArguments: [DatabaseValue]
                if let floor = window.floor {
                    range = "program_fts.rowid BETWEEN ? AND ?"
                    rangeArguments = [floor.databaseValue, window.ceiling.databaseValue]
                } else {
                    range = "program_fts.rowid <= ?"
                    rangeArguments = [window.ceiling.databaseValue]
                }
                var scored: [(score: Double, id: Int64)] = []
                scored.reserveCapacity(min(windowSize, 4_096))
                // A window already read holds `windowSize` matches, give or take the programs
                // retitled since; the limit bounds what a forged cursor can make a request rank.
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT program_fts.rowid, \(rank) FROM program_fts\(join) WHERE program_fts MATCH ? AND \(range)\(filters)
                    ORDER BY program_fts.rowid DESC LIMIT \(window.floor == nil ? windowSize : 2 * windowSize)
                    """, arguments: StatementArguments(rankArguments + [match.databaseValue] + rangeArguments + filterArguments))
                while let row = try rows.next() { scored.append((row[1], row[0])) }
                if window.floor == nil {
                    guard let lowest = scored.last?.id, let highest = scored.first?.id else { break }
                    // The window is the ids it held when first read: programs indexed later (higher
                    // ids) do not join it on the next page (they are found by a new search).
                    window.floor = lowest
                    window.ceiling = highest
                } else if scored.isEmpty {
                    // Every match of this window was withdrawn or retitled since the last page.
                    guard window.floor! > 1 else { break }
                    window = Window(ceiling: window.floor! - 1, hits: window.hits, stats: window.stats)
                    continue
                }
                scored.sort { ($0.score, $0.id) < ($1.score, $1.id) }
                var first = scored.startIndex
                if let score = window.score, let id = window.id {
                    first = scored.firstIndex { ($0.score, $0.id) > (score, id) } ?? scored.endIndex
                }
                let want = limit - items.count
                let page = scored[first...].prefix(want + 1)
                for entry in page.prefix(want) {
                    if let hit = try Self.hit(db, id: entry.id, score: entry.score, key: key) { items.append(hit) }
                    window.score = entry.score
                    window.id = entry.id
                }
                if page.count > want {
                    next = Self.windowCursor(window)
                    break
                }
                // This window is done: the next one lies below it.
                guard window.floor! > 1 else { break }
                window = Window(ceiling: window.floor! - 1, hits: window.hits, stats: window.stats)
                if items.count == limit {
                    // The page is full exactly at a window's end: the next page starts below it.
                    let more = try Int64.fetchOne(db, sql: """
                        SELECT program_fts.rowid FROM program_fts\(join) WHERE program_fts MATCH ? AND program_fts.rowid <= ?\(filters) LIMIT 1
                        """, arguments: StatementArguments([match.databaseValue, window.ceiling.databaseValue] + filterArguments))
                    if more != nil { next = Self.windowCursor(window) }
                }
            }
            return ProgramPage(items: items, nextCursor: next)
        }
    }

    /// Where a text search stands: the window (ids `floor...ceiling`, floor found when first
    /// read), the last (score, id) returned in it, and the document counts the scores were
    /// computed with (empty until counted; a page's cursor carries them to the next).
    struct Window {
        var ceiling: Int64
        var floor: Int64?
        var score: Double?
        var id: Int64?
        var hits: [Int64] = []
        /// The index's row count and token total the window is ranked with (`"rows tokens"`,
        /// ``SearchRank/statsFunctionName``): nil until read.
        var stats: String?
    }

    static let firstWindow = Window(ceiling: Int64.max)

    static func windowCursor(_ window: Window) -> String {
        var parts = [String(window.ceiling), window.floor.map(String.init) ?? "", window.score.map { String($0.bitPattern, radix: 16) } ?? "", window.id.map(String.init) ?? ""]
        if !window.hits.isEmpty {
            parts.append(window.hits.map(String.init).joined(separator: ","))
            if let stats = window.stats { parts.append(stats.replacingOccurrences(of: " ", with: ",")) }
        }
        return Data(("w:" + parts.joined(separator: ":")).utf8).base64URLEncoded
    }

    static func windowCursor(_ cursor: String) -> Window? {
        guard let text = Data(base64URLEncoded: cursor).flatMap({ String(data: $0, encoding: .utf8) }), text.hasPrefix("w:") else { return nil }
        let parts = text.dropFirst(2).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // Four parts: a cursor of an earlier version, without counts (they are counted anew).
        // Six: with the index's statistics (a cursor of this version).
        guard (4...6).contains(parts.count), let ceiling = Int64(parts[0]) else { return nil }
        var window = Window(ceiling: ceiling)
        if parts.count == 6 {
            let stats = parts[5].split(separator: ",", omittingEmptySubsequences: false).map { Int64($0) }
            guard stats.count == 2, let rows = stats[0], let tokens = stats[1], rows >= 1, tokens >= 0 else { return nil }
            window.stats = "\(rows) \(tokens)"
        }
        if parts.count >= 5 {
            guard parts[4].utf8.count <= SearchText.maxTerms * 20 else { return nil }
            let hits = parts[4].split(separator: ",", omittingEmptySubsequences: false).map { Int64($0) }
            guard !hits.isEmpty, hits.count <= SearchText.maxTerms, hits.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            window.hits = hits.map { $0! }
        }
        if !parts[1].isEmpty { guard let floor = Int64(parts[1]) else { return nil }; window.floor = floor }
        if !parts[2].isEmpty { guard let bits = UInt64(parts[2], radix: 16) else { return nil }; window.score = Double(bitPattern: bits) }
        if !parts[3].isEmpty { guard let id = Int64(parts[3]) else { return nil }; window.id = id }
        // Index ids start at 1: anything else was not issued here (and `floor - 1` must not wrap).
        guard window.ceiling >= 1, (window.floor ?? 1) >= 1, (window.floor ?? 1) <= window.ceiling, (window.id ?? 1) >= 1,
              window.score?.isFinite ?? true else { return nil }
        return window
    }

    /// The program of index id `id`, read and decoded, with its score.
    static func hit(_ db: Database, id: Int64, score: Double, key: ReplicaKey) throws -> ProgramHit? {
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT key FROM program_index WHERE id = ?"), arguments: [id]) else { return nil }
        return try hit(db, recordKey: text, score: score, key: key)
    }

    /// The program of record key `recordKey` (text), read and decoded, with its score.
    static func hit(_ db: Database, recordKey: String, score: Double?, key: ReplicaKey) throws -> ProgramHit? {
        guard let version = try readRecord(db, try RecordKey(parsing: recordKey), key: key), let program = version.program else { return nil }
        return ProgramHit(version: version, program: program, score: score)
    }

    /// The class of every indexed program's answer for `profile` (optionally of one agency or
    /// category, open on a day): what `POST /v1/eligibility` computes before it spells out the
    /// page it returns. Withdrawn programs are not indexed. The criteria are served from memory
    /// (``CriteriaCache``), brought up to date from the change feed's sequence first; the answer is
    /// one pass over packed rows (``EligibilityTable``).
    public func classifyPrograms(for profile: BusinessProfile, agency: AgencyID? = nil, category: SupportCategory? = nil, openOn: LocalDate? = nil) async throws(StoreError) -> EligibilityScan {
        let set = try await currentCriteria()
        var scan = EligibilityScan(programs: set.programs)
        // The filters in the rows' own terms, once per answer.
        let owner = agency.map { UInt8($0.index) }, categoryNumber = category.map { CriteriaSet.number($0) }, day = openOn.map { Int32(clamping: $0.ordinal) }
        let filtered = owner != nil || categoryNumber != nil || day != nil
        set.filters.withUnsafeBufferPointer { filters in
            set.table.classifyAll(PackedProfile(profile), where: { !filtered || Self.admits(filters[$0], owner: owner, category: categoryNumber, day: day) }) { index, result in
                switch result {
                case .eligible: scan.eligible.append(index)
                case .unknown: scan.unknown.append(index)
                case .ineligible: scan.ineligible.append(index)
                }
            }
        }
        return scan
    }

    @inline(__always)
    static func admits(_ filter: CriteriaSet.Filter, owner: UInt8?, category: UInt8?, day: Int32?) -> Bool {
        if let owner, filter.owner != owner { return false }
        if let category, filter.category != category { return false }
        if let day, filter.openFrom > day || filter.openUntil < day { return false }
        return true
    }

    func currentCriteria() async throws(StoreError) -> CriteriaSet {
        let generation = commitGeneration
        let snapshot = criteriaCache.state.withLock { $0 }
        if snapshot.generation == generation, let sorted = snapshot.sorted { return sorted }
        let since = snapshot.maxSeq
        let changed = try await read("read program criteria") { db in
            var rows: [(key: String, seq: Int64, criteria: ProgramCriteria?)] = []
            let cursor = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT r.key, r.seq, p.title, p.category, p.eligibility, p.open_from, p.open_until
                FROM record r LEFT JOIN program_index p ON p.key = r.key WHERE r.kind = 1 AND r.seq > ? ORDER BY r.seq
                """), arguments: [since])
            while let row = try cursor.next() {
                let text: String = row[0]
                guard let bytes = row[4] as Data? else {
                    rows.append((text, row[1], nil))
                    continue
                }
                let key = try RecordKey(parsing: text)
                rows.append((text, row[1], ProgramCriteria(key: key, title: row[2], eligibility: try Eligibility(canonicalBytes: bytes),
                                                           category: (row[3] as String?).flatMap(SupportCategory.init(rawValue:)),
                                                           openFrom: row[5], openUntil: row[6])))
            }
            return rows
        }
        var next = snapshot
        for row in changed {
            next.byKey[row.key] = row.criteria
            next.maxSeq = max(next.maxSeq, row.seq)
        }
        if !changed.isEmpty || next.sorted == nil {
            next.sorted = CriteriaSet(next.byKey.keys.sorted().map { next.byKey[$0]! })
        }
        next.generation = generation
        let result = next.sorted ?? CriteriaSet([])
        criteriaCache.state.withLock { current in
            if next.maxSeq >= current.maxSeq { current = next }
        }
        return result
    }

    /// The referrals `agency` sends (outgoing), receives (incoming) or both, optionally in one
    /// status, by record key (stable under updates), after a cursor.
    public func referrals(for agency: AgencyID, direction: ReferralDirection?, status: ReferralStatus?, limit: Int, cursor: String?) async throws(StoreError) -> ReferralPage {
        let tag = Self.cursorTag(["referrals", agency.rawValue, direction?.rawValue ?? "", status?.name ?? ""])
        var page = try await referralsUnbound(for: agency, direction: direction, status: status, limit: limit, cursor: try cursor.map { cursor throws(StoreError) in try Self.unbind(cursor, tag: tag) })
        page.nextCursor = page.nextCursor.map { Self.bind($0, tag: tag) }
        return page
    }

    func referralsUnbound(for agency: AgencyID, direction: ReferralDirection?, status: ReferralStatus?, limit: Int, cursor: String?) async throws(StoreError) -> ReferralPage {
        var conditions: [String]
        var arguments: [(any DatabaseValueConvertible)?]
        switch direction {
        case .incoming?: (conditions, arguments) = (["target = ?"], [agency.rawValue])
        case .outgoing?: (conditions, arguments) = (["origin = ?"], [agency.rawValue])
        case nil: (conditions, arguments) = (["(origin = ? OR target = ?)"], [agency.rawValue, agency.rawValue])
        }
        if let status { conditions.append("status = ?"); arguments.append(status.name) }
        if let cursor {
            guard let after = Self.keyCursor(cursor) else { throw Self.badCursor }
            conditions.append("key > ?")
            arguments.append(after)
        }
        let limit = max(1, min(limit, 100))
        let sql = "SELECT key, seq FROM referral_index WHERE \(conditions.joined(separator: " AND ")) ORDER BY key LIMIT \(limit + 1)"
        let key = self.key
        let statementArguments = StatementArguments(arguments)
        return try await read("list referrals") { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: statementArguments)
            var items: [(Int64, RecordVersion)] = []
            for row in rows.prefix(limit) {
                let recordKey = try RecordKey(parsing: row[0] as String)
                if let version = try Self.readRecord(db, recordKey, key: key) { items.append((row[1], version)) }
            }
            let next = rows.count > limit ? rows.prefix(limit).last.map { Self.keyCursor(key: $0[0]) } : nil
            return ReferralPage(items: items, nextCursor: next)
        }
    }

    /// The key of the referral `localID` that `agency` takes part in (as origin or target), if
    /// exactly one; several when origins reused an id (the caller then asks for `origin:id`).
    public func referralKeys(localID: String, involving agency: AgencyID) async throws(StoreError) -> [RecordKey] {
        try await read("find a referral") { db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT key FROM referral_index WHERE local_id = ? AND (origin = ? OR target = ?) ORDER BY key"),
                                arguments: [localID, agency.rawValue, agency.rawValue]).map { try RecordKey(parsing: $0) }
        }
    }

    /// The feed sequence of a record's current state (what `updated_seq` reports).
    public func sequence(of recordKey: RecordKey) async throws(StoreError) -> Int64? {
        try await read("read \(recordKey)") { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM record WHERE key = ?"), arguments: [recordKey.description])
        }
    }

    static func readRecord(_ db: Database, _ recordKey: RecordKey, key: ReplicaKey) throws -> RecordVersion? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT vector, body, sealed FROM record WHERE key = ?"),
                                         arguments: [recordKey.description]) else { return nil }
        return try StoredRow(vector: Array(row[0] as Data), body: Array(row[1] as Data), sealed: row[2]).decode(recordKey, with: key).version
    }

    // MARK: Cursors: opaque to clients (base64url), checked on the way back in.

    static let badCursor = StoreError(.invalidRequest, "cursor is not one this API issued; start again without it")

    /// A short digest of what a list or search was asked (`parts`), which its cursors carry.
    static func cursorTag(_ parts: [String]) -> String {
        SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    static func bind(_ cursor: String, tag: String) -> String { Data("b:\(tag):\(cursor)".utf8).base64URLEncoded }

    /// The cursor inside `cursor` when it was issued for the query of `tag`.
    static func unbind(_ cursor: String, tag: String) throws(StoreError) -> String {
        guard cursor.utf8.count <= 4096, let text = Data(base64URLEncoded: cursor).flatMap({ String(data: $0, encoding: .utf8) }), text.hasPrefix("b:") else {
            throw badCursor
        }
        let parts = text.dropFirst(2).split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { throw badCursor }
        guard parts[0] == tag else {
            throw StoreError(.invalidRequest, "cursor belongs to another query: page with the same q and filters as the first page (only limit may change), or start again without it")
        }
        return String(parts[1])
    }

    static func keyCursor(key: String) -> String { Data(("k:" + key).utf8).base64URLEncoded }
    static func keyCursor(_ cursor: String) -> String? {
        guard let text = Data(base64URLEncoded: cursor).flatMap({ String(data: $0, encoding: .utf8) }), text.hasPrefix("k:") else { return nil }
        return String(text.dropFirst(2))
    }
}

extension Data {
    /// Base64url without padding (RFC 4648 §5).
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init?(base64URLEncoded text: String) {
        guard text.count <= 1024 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
