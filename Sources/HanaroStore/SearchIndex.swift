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
}

/// The Agency API's derived tables (see `ReplicaSchema.v5`), written in the transaction that
/// stores the record they derive from, so the index never lags or leads the replica.
enum SearchIndex {
    /// Bumped when the index's content changes shape: an open replica with another value
    /// rebuilds it.
    static let version: Int64 = 1

    /// `' 11 26110 '` (empty for none): a list a `LIKE`/`instr` filter can test whole codes in.
    static func framed(_ codes: [String]) -> String {
        codes.isEmpty ? "" : " " + codes.joined(separator: " ") + " "
    }

    /// Indexes a program's new state. `previous` is the state stored before (nil: none), whose
    /// grams the contentless FTS5 table needs to delete its row. A state whose title and summary
    /// equal the previous one's keeps its FTS5 row (a status or period change rewrites only
    /// `program_index`). Change ``SearchText/grams(_:)`` only with a new ``version``: a delete
    /// with other grams than were inserted would corrupt the index, so a new version rebuilds it.
    static func indexProgram(_ db: Database, key: RecordKey, program: ProgramRecord, previous: ProgramRecord?, seq: Int64) throws {
        let text = key.description
        let indexed = previous.flatMap { $0.isDeleted ? nil : $0 }
        if program.isDeleted {
            // Withdrawn: out of search and eligibility (the record itself stays, a tombstone).
            if let indexed, let id = try Int64.fetchOne(db.cachedStatement(sql: "DELETE FROM program_index WHERE key = ? RETURNING id"), arguments: [text]) {
                try deleteText(db, id: id, indexed)
            }
            return
        }
        let id = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO program_index(key, agency, native_id, title, category, eligibility, regions, industries, open_from, open_until, status, seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET title = excluded.title, category = excluded.category, eligibility = excluded.eligibility,
              regions = excluded.regions, industries = excluded.industries, open_from = excluded.open_from,
              open_until = excluded.open_until, status = excluded.status, seq = excluded.seq
            RETURNING id
            """), arguments: [
                text, key.owner.rawValue, key.localID, program.title, program.category?.rawValue, Data(program.eligibility.canonicalBytes),
                framed(program.eligibility.regions.map(\.code)), framed(program.eligibility.industries.map(\.code)),
                program.period.start.map { Int64($0.ordinal) }, program.period.end.map { Int64($0.ordinal) },
                Int64(program.status.rawValue), seq,
            ])!
        if let indexed {
            if indexed.title == program.title && indexed.summary == program.summary { return }
            try deleteText(db, id: id, indexed)
        }
        try db.cachedStatement(sql: "INSERT INTO program_fts(rowid, title_grams, summary_grams) VALUES (?, ?, ?)")
            .execute(arguments: [id, SearchText.grams(program.title), SearchText.grams(program.summary)])
    }

    /// Removes a program's row from the contentless FTS5 table, giving the grams it was indexed with.
    static func deleteText(_ db: Database, id: Int64, _ indexed: ProgramRecord) throws {
        try db.cachedStatement(sql: "INSERT INTO program_fts(program_fts, rowid, title_grams, summary_grams) VALUES ('delete', ?, ?, ?)")
            .execute(arguments: [id, SearchText.grams(indexed.title), SearchText.grams(indexed.summary)])
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
            try db.execute(sql: "DELETE FROM program_index; INSERT INTO program_fts(program_fts) VALUES ('delete-all'); DELETE FROM referral_index")
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
    func index(_ version: RecordVersion, previous: RecordVersion?, seq: Int64) throws {
        let isNew = previous == nil
        switch version.body {
        case .program(let register):
            let program = register.value
            try SearchIndex.indexProgram(db, key: version.key, program: program, previous: previous?.program, seq: seq)
            if !program.isDeleted, let matcher = events.matcher, matcher.hasProgramSubscriptions {
                try enqueue(matcher.matches(program), type: .programMatched, version: version)
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
