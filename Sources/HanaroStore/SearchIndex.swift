import Foundation
import HanaroCore
import GRDB
import Crypto

/// What a write transaction needs besides the records: the subscriptions to match what it
/// stores against, and this node's agency (a referral whose target it is arrives as incoming).
struct SessionEvents: Sendable {
    var matcher: SubscriptionMatcher?
    var localAgency: AgencyID?
    /// Whether to keep the Agency API's tables at all (see `Replica.Options.agencyAPI`).
    var indexing = true
    /// Whether pages are worked on for the index before the writer stores them (``IndexPrework``).
    var prework = true
}

/// The Agency API's derived tables (see `ReplicaSchema.v5`), written in the transaction that
/// stores the record they derive from, so the index never lags or leads the replica.
enum SearchIndex {
    /// Bumped when the index's content changes shape: an open replica with another value
    /// rebuilds it. 2 (2026-12-02): the `facets` column (``facets(of:)``), and a new index id
    /// whenever a program's `program_fts` row changes. 3 (2026-12-03): fullwidth letters and digits
    /// indexed as their ASCII forms (``SearchText/grams(_:)``).
    static let version: Int64 = 3

    /// `' 11 26110 '` (empty for none): a list a `LIKE`/`instr` filter can test whole codes in.
    static func framed(_ codes: [String]) -> String {
        codes.isEmpty ? "" : " " + codes.joined(separator: " ") + " "
    }

    /// Indexes a program's new state. `previous` is the state stored before (nil: none), whose
    /// grams the contentless FTS5 table needs to delete its row. A state whose title and summary
    /// equal the previous one's keeps its FTS5 row (a status or period change rewrites only
    /// `program_index`). Change ``SearchText/grams(_:)`` only with a new ``version``: a delete
    /// with other grams than were inserted would corrupt the index, so a new version rebuilds it.
    /// `prework`, when given, is this very state's (``IndexPrework``).
    static func indexProgram(_ db: Database, key: RecordKey, program: ProgramRecord, previous: ProgramRecord?, seq: Int64, prework: ProgramPrework? = nil) throws {
        let text = key.description
        let indexed = previous.flatMap { $0.isDeleted ? nil : $0 }
        if program.isDeleted {
            // Withdrawn: out of search and eligibility (the record itself stays, a tombstone).
            if let indexed, let row = try Row.fetchOne(db.cachedStatement(sql: "DELETE FROM program_index WHERE key = ? RETURNING id, facets"), arguments: [text]) {
                try deleteText(db, id: row[0], indexed, facets: row[1])
            }
            return
        }
        let facets = prework?.facets ?? facets(of: program)
        // The facets as they were indexed (stored: recomputing them from the decoded previous
        // state would give other tokens if a code's mapping ever changed).
        if let indexed, let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, facets, open_from, open_until FROM program_index WHERE key = ?"), arguments: [text]) {
            let (id, stored, from, until): (Int64, String, Int64?, Int64?) = (row[0], row[1], row[2], row[3])
            if indexed.title == program.title && indexed.summary == program.summary && stored == facets
                && from == program.period.start.map({ Int64($0.ordinal) }) && until == program.period.end.map({ Int64($0.ordinal) }) {
                // A status or similar change: `program_index` only, under the same id.
                try upsert(db, key: key, program: program, facets: facets, seq: seq)
                return
            }
            // The FTS5 row or the open period changes: it goes, and the program comes back under
            // a new id. An id's row and period never change (ids are never reused: AUTOINCREMENT),
            // so a row's length and period can be kept by id (`RowLengths`, `RowPeriods`) with
            // nothing to invalidate. The program moves to the newest ranking window (and out of a
            // paging in progress, as a new program would be).
            try db.cachedStatement(sql: "DELETE FROM program_index WHERE id = ?").execute(arguments: [id])
            try deleteText(db, id: id, indexed, facets: stored)
        }
        let id = try upsert(db, key: key, program: program, facets: facets, seq: seq)
        let title = prework?.titleGrams ?? SearchText.grams(program.title), summary = prework?.summaryGrams ?? SearchText.grams(program.summary)
        try db.cachedStatement(sql: "INSERT INTO program_fts(rowid, title_grams, summary_grams, facets) VALUES (?, ?, ?, ?)")
            .execute(arguments: [id, title, summary, facets])
    }

    /// Writes a program's `program_index` row (its id kept if it has one), returning its id.
    @discardableResult
    static func upsert(_ db: Database, key: RecordKey, program: ProgramRecord, facets: String, seq: Int64) throws -> Int64 {
        let text = key.description
        return try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO program_index(key, agency, native_id, title, category, eligibility, regions, industries, open_from, open_until, status, seq, facets)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET title = excluded.title, category = excluded.category, eligibility = excluded.eligibility,
              regions = excluded.regions, industries = excluded.industries, open_from = excluded.open_from,
              open_until = excluded.open_until, status = excluded.status, seq = excluded.seq, facets = excluded.facets
            RETURNING id
            """), arguments: [
                text, key.owner.rawValue, key.localID, program.title, program.category?.rawValue, Data(program.eligibility.canonicalBytes),
                framed(program.eligibility.regions.map(\.code)), framed(program.eligibility.industries.map(\.code)),
                program.period.start.map { Int64($0.ordinal) }, program.period.end.map { Int64($0.ordinal) },
                Int64(program.status.rawValue), seq, facets,
            ])!
    }

    /// Removes a program's row from the contentless FTS5 table, giving the tokens it was indexed with.
    static func deleteText(_ db: Database, id: Int64, _ indexed: ProgramRecord, facets: String) throws {
        let title = SearchText.grams(indexed.title), summary = SearchText.grams(indexed.summary)
        try db.cachedStatement(sql: "INSERT INTO program_fts(program_fts, rowid, title_grams, summary_grams, facets) VALUES ('delete', ?, ?, ?, ?)")
            .execute(arguments: [id, title, summary, facets])
    }

    /// The `facets` column of a program's `program_fts` row: what search filters on, as tokens,
    /// so that FTS5 intersects a filter with the text in its doclists (a filter checked by joining
    /// each match to `program_index` cost ~1.4 µs a match, and most matches failed a region).
    /// Scored with weight 0 and left out of the row's length (`SearchRank`).
    ///
    /// - `§a<agency>`, `§c<category>`;
    /// - `§rall` for a nationwide program, else `§r<code>` for each region and `§rp<시도>` for the
    ///   시도 of each 시군구 (a 시도 query finds its 시군구's programs: ``regionFilter(_:)``);
    /// - `§iall` for a program of every industry, else `§i<code>` for each KSIC code (a query
    ///   finds codes beginning with its own by an FTS5 prefix query: ``industryFilter(_:)``).
    ///
    /// Few tokens: each costs the index as much as a gram (12 a program, with months and
    /// industry prefixes spelled out too, made the apply 10 % slower). The day a program is open
    /// on is a range and stays in `program_index`.
    ///
    /// Codes are letters and digits (`RegionCode`, `KSICCode`), lower-cased as the tokenizer would.
    /// `§` is in no gram (``SearchText/grams(_:)`` keeps letters and digits), so no text query
    /// can match a facet, and a filter matches nothing but facets: neither needs a column filter
    /// (which costs FTS5 a pass over every match's positions).
    ///
    /// Runs for every program an apply stores, so it writes bytes (Strings, sets and sorts made
    /// it 15 % of an apply's samples under `perf`). Regions and industries come sorted and unique.
    static func facets(of program: ProgramRecord) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(192)
        func begin(_ kind: StaticString) {
            if !out.isEmpty { out.append(0x20) }
            out.append(contentsOf: marker.utf8)
            kind.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        func code(_ bytes: some Collection<UInt8>) {
            for byte in bytes { out.append((0x41...0x5A).contains(byte) ? byte | 0x20 : byte) }
        }
        begin("a"); code(program.owner.rawValue.utf8)
        if let category = program.category { begin("c"); code(category.rawValue.utf8) }
        let eligibility = program.eligibility
        if eligibility.regions.isEmpty {
            begin("rall")
        } else {
            for region in eligibility.regions { begin("r"); code(region.code.utf8) }
            var last: (UInt8, UInt8) = (0, 0)
            for region in eligibility.regions where region.code.utf8.count > 2 {
                let digits = Array(region.code.utf8.prefix(2))
                guard (digits[0], digits[1]) != last else { continue }
                last = (digits[0], digits[1])
                begin("rp"); code(digits)
            }
        }
        if eligibility.industries.isEmpty {
            begin("iall")
        } else {
            for industry in eligibility.industries { begin("i"); code(industry.code.utf8) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The FTS5 filter for programs of `region`, as the `program_index.regions` test reads: a
    /// 시도 finds its own programs and those of any 시군구 in it; a 시군구 finds its own and its
    /// 시도's; nationwide programs always.
    static func regionFilter(_ region: RegionCode) -> String {
        let tokens = region.code.count == 2 ? ["rall", "r" + region.code, "rp" + region.code] : ["rall", "r" + region.code, "r" + region.province]
        return facetFilter(tokens)
    }

    /// The FTS5 filter for programs open to `industry` (upper-cased letters and digits): programs
    /// of every industry, of a code beginning with it, or of a code it begins with. Nil when the
    /// text holds other characters (no token can spell it; the caller filters `program_index`).
    static func industryFilter(_ industry: String) -> String? {
        guard !industry.isEmpty, industry.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }) else { return nil }
        return facetFilter(["iall"] + (1 ..< industry.count).map { "i" + industry.prefix($0) }, prefix: "i" + industry)
    }

    /// What begins every facet token.
    static let marker = "§"

    /// `("§t1" OR "§t2" … OR "§p"*)`: any of the tokens, or any token beginning with `prefix`.
    static func facetFilter(_ tokens: [String], prefix: String? = nil) -> String {
        var terms = tokens.map { "\"\(marker)\($0.lowercased())\"" }
        if let prefix { terms.append("\"\(marker)\(prefix.lowercased())\"*") }
        return "(" + terms.joined(separator: " OR ") + ")"
    }

    static func indexReferral(_ db: Database, key: RecordKey, referral: ReferralRecord, seq: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO referral_index(key, origin, local_id, target, status, seq) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET status = excluded.status, seq = excluded.seq
            """).execute(arguments: [key.description, referral.origin.rawValue, referral.referralID, referral.target.rawValue, referral.status.name, seq])
    }

    /// Fills the derived tables from the records when they are missing or of another
    /// ``version`` (a replica made before the Agency API, or an index changed since): one
    /// transaction, at open.
    static func rebuildIfNeeded(_ writer: any DatabaseWriter, key replicaKey: ReplicaKey) throws {
        try writer.write { db in
            let built = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'search.index'")
            guard built != version else { return }
            // Ids start again from 1 (nothing has ranked yet: this runs at open), so rebuilds
            // do not push them past what `RowLengths` keeps.
            try db.execute(sql: """
                DELETE FROM program_index; INSERT INTO program_fts(program_fts) VALUES ('delete-all'); DELETE FROM referral_index;
                DELETE FROM sqlite_sequence WHERE name = 'program_index'
                """)
            let rows = try Row.fetchCursor(db, sql: "SELECT key, seq, vector, body, sealed FROM record")
            while let row = try rows.next() {
                let recordKey = try RecordKey(parsing: row[0] as String)
                let stored = StoredRow(vector: Array(row[2] as Data), body: Array(row[3] as Data), sealed: row[4] as Data?)
                let version = try stored.decode(recordKey, with: replicaKey).version
                switch version.body {
                case .program(let register): try indexProgram(db, key: recordKey, program: register.value, previous: nil, seq: row[1])
                case .referral(let referral): try indexReferral(db, key: recordKey, referral: referral, seq: row[1])
                }
            }
            try db.execute(sql: "INSERT INTO meta(name, value) VALUES ('search.index', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                           arguments: [version])
        }
    }
}

extension WriteSession {
    /// Indexes a stored version and queues the webhooks it owes.
    mutating func index(_ version: RecordVersion, previous: RecordVersion?, seq: Int64) throws {
        let isNew = previous == nil
        switch version.body {
        case .program(let register):
            let program = register.value
            let work = prework.take(version.key, for: program)
            try SearchIndex.indexProgram(db, key: version.key, program: program, previous: previous?.program, seq: seq, prework: work)
            if !program.isDeleted, let matcher = events.matcher, matcher.hasProgramSubscriptions {
                try enqueue(work?.matches(in: matcher) ?? matcher.matches(program), type: .programMatched, version: version)
            }
        case .referral(let referral):
            try SearchIndex.indexReferral(db, key: version.key, referral: referral, seq: seq)
            // A referral arriving for the first time, sent to this node's agency.
            if isNew, referral.target == events.localAgency, let matcher = events.matcher, !matcher.referralSubscriptions.isEmpty {
                try enqueue(matcher.referralSubscriptions, type: .referralReceived, version: version)
            }
        }
    }

    /// One outbox row per subscription, record and version: a version delivered twice (a retried
    /// pull) owes nothing more.
    func enqueue(_ subscriptions: [String], type: WebhookEventType, version: RecordVersion) throws {
        guard !subscriptions.isEmpty else { return }
        let vector = "\(version.vector)"
        let text = version.key.description
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outbox(subscription, event_id, type, record_key, version, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(event_id) DO NOTHING
            """)
        for id in subscriptions {
            try insert.execute(arguments: [id, WebhookEventType.eventID(subscription: id, key: text, version: vector), type.rawValue, text, vector, Int64(now), Int64(now)])
        }
    }
}
