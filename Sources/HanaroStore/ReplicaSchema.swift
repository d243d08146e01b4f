import Foundation
import GRDB
import HanaroCore

/// The replica's migrations: append-only, never edited once shipped — raw SQL in ``migrations``,
/// then the ones that rewrite stored bytes in Swift (``compactSignatures(_:)``), registered after
/// them in ``migrator()``. A change is a new migration registered last in ``migrator()``
/// (after v7: a SQL one appended to ``migrations`` would run before it on a new file).
enum ReplicaSchema {
    /// Named migrations in order.
    static let migrations: [(name: String, sql: String)] = [
        ("v1-replica", v1),
        ("v2-echo", v2),
        ("v3-snapshot", v3),
        ("v4-signatures", v4),
        ("v5-agency-api", v5),
        ("v6-transparency-log", v6),
    ]

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (name, sql) in migrations {
            migrator.registerMigration(name) { db in try db.execute(sql: sql) }
        }
        migrator.registerMigration("v7-compact-signatures", migrate: compactSignatures)
        migrator.registerMigration("v8-search-facets") { db in try db.execute(sql: v8) }
        // An agency's item is held in one row whatever its content (`WriteSession.quarantine`):
        // found by source and key among the held rows.
        migrator.registerMigration("v9-quarantine-by-key") { db in
            try db.execute(sql: "CREATE INDEX quarantine_by_key ON quarantine(source, record_key, state)")
        }
        return migrator
    }

    /// Rewrites every stored signature from the first form (author dot with its counter, varint
    /// key ids, length-prefixed fixed-size fields) to the compact one of `VersionSignature`, so
    /// that what a node serves after an upgrade is what its peers decode. A signature whose dot was
    /// not the vector's entry (only a replica that does not verify could hold one) is rewritten
    /// too: it fails verification at every peer, as it did before, and this node still reads it.
    /// Bytes that are not a signature of the first form are left as they were (they did not decode
    /// before either).
    static func compactSignatures(_ db: Database) throws {
        // In batches along each table's primary key (the rows change under a query otherwise).
        var after = ""
        while true {
            let rows = try Row.fetchAll(db, sql: "SELECT key, signature FROM record WHERE key > ? AND signature IS NOT NULL ORDER BY key LIMIT 1000",
                                        arguments: [after])
            guard let last = rows.last else { break }
            after = last[0]
            for row in rows {
                guard let bytes = compacted(row[1]) else { continue }
                try db.execute(sql: "UPDATE record SET signature = ? WHERE key = ?", arguments: [bytes, row[0] as String])
            }
        }
        var position = ("", "")
        while true {
            let rows = try Row.fetchAll(db, sql: "SELECT key, author, signature FROM frontier WHERE (key, author) > (?, ?) ORDER BY key, author LIMIT 1000",
                                        arguments: [position.0, position.1])
            guard let last = rows.last else { break }
            position = (last[0], last[1])
            for row in rows {
                guard let bytes = compacted(row[2]) else { continue }
                try db.execute(sql: "UPDATE frontier SET signature = ? WHERE key = ? AND author = ?", arguments: [bytes, row[0] as String, row[1] as String])
            }
        }
    }

    /// A stored signature of the first form in the compact form (nil: not of the first form).
    private static func compacted(_ signature: Data) -> Data? {
        var reader = CanonicalReader(Array(signature))
        guard let decoded = try? VersionSignature(firstFormFrom: &reader), reader.isAtEnd else { return nil }
        return Data(decoded.canonicalBytes)
    }

    /// The Agency API's tables, kept by the store in the same transaction as the records they
    /// derive from (filled for existing records at open, see `SearchIndex.rebuildIfNeeded`).
    ///
    /// - `program_index` + `program_fts`: what program search filters and ranks on. Regions and
    ///   industries are space-framed lists (`' 11 26110 '`, `''` = nationwide / every industry);
    ///   dates are `yyyymmdd` ordinals. `program_fts` holds the Hangul gram form of title and
    ///   summary (SearchText) and the search filters as tokens (`SearchIndex.facets`, from v8),
    ///   rowid = `program_index.id`: contentless (the text is in the
    ///   record; a row is deleted by giving its indexed grams again) and with FTS5's `ascii`
    ///   tokenizer (the grams are already split and ASCII-lower-cased; unicode61's per-character
    ///   classification is work done twice). Withdrawn programs are not indexed.
    /// - `referral_index`: who a referral goes between and its status, for incoming/outgoing lists.
    /// - `subscription` + `outbox`: saved searches with webhook URLs, and the deliveries owed, one
    ///   row per subscription, record and version (`event_id` is the stable `webhook-id`). The
    ///   filter (a business profile, keywords) and the secret are sealed like personal fields.
    /// The transparency logs (docs/EVIDENCE.md): this agency's own, append-only, and every other
    /// agency's as this node mirrors it as their witness.
    ///
    /// - `log_leaf`: one row per leaf, in order. `entry` is the leaf's data (a version's signed
    ///   envelope, or an audit entry's sequence and chain hash), `hash` its RFC 6962 leaf hash.
    /// - `log_note`: signed checkpoints (C2SP signed-note text), this agency's own with every
    ///   witness cosignature gathered, and the others' as this node cosigned them.
    /// - `log_witness`: per mirrored log, how far this node has cosigned it.
    /// - `log_range`: per log, the compact range (the roots of the perfect subtrees, left to
    ///   right) at the last checkpoint made or cosigned, so the next root costs only the new leaves.
    /// - `log_equivocation`: two checkpoints of one log that cannot both be true, kept as proof.
    /// - `log_key`: every agency's public signing keys as this node knew them, so that a copy of the
    ///   file can be checked offline (`hanaro audit verify --db`).
    static let v6 = """
    CREATE TABLE log_leaf (
        origin TEXT NOT NULL,
        idx    INTEGER NOT NULL,
        hash   BLOB NOT NULL,
        kind   TEXT NOT NULL CHECK (kind IN ('version', 'audit')),
        ref    TEXT NOT NULL,
        entry  BLOB NOT NULL,
        PRIMARY KEY (origin, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX log_leaf_by_ref ON log_leaf(ref);

    CREATE TABLE log_note (
        id         INTEGER PRIMARY KEY,
        origin     TEXT NOT NULL,
        agency     TEXT NOT NULL,
        size       INTEGER NOT NULL,
        root       BLOB NOT NULL,
        note       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('own', 'witnessed')),
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX log_note_by_origin ON log_note(origin, size);

    CREATE TABLE log_witness (
        origin        TEXT PRIMARY KEY NOT NULL,
        agency        TEXT NOT NULL,
        cosigned_size INTEGER NOT NULL,
        cosigned_root BLOB NOT NULL,
        audit_seq     INTEGER NOT NULL,
        audit_hash    BLOB NOT NULL,
        updated_at    INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE log_range (
        origin TEXT PRIMARY KEY NOT NULL,
        size   INTEGER NOT NULL,
        hashes BLOB NOT NULL
    ) STRICT;

    CREATE TABLE log_equivocation (
        id           INTEGER PRIMARY KEY,
        agency       TEXT NOT NULL,
        origin       TEXT NOT NULL,
        reason       TEXT NOT NULL,
        held_note    TEXT NOT NULL,
        offered_note TEXT NOT NULL,
        detected_at  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE log_key (
        agency     TEXT NOT NULL,
        key        TEXT NOT NULL,
        retired_at INTEGER,
        PRIMARY KEY (agency, key)
    ) STRICT;
    """

    /// Search filters as tokens in `program_fts` (`SearchIndex.facets(of:)`): the table gains a
    /// `facets` column (kept in `program_index` too, to delete with the tokens inserted); index
    /// ids are never reused (AUTOINCREMENT: an id's `program_fts` row never
    /// changes, so its length can be kept by id, `RowLengths`). Both are rebuilt at open
    /// (`SearchIndex.rebuildIfNeeded`).
    static let v8 = """
    DROP TABLE program_fts;
    CREATE VIRTUAL TABLE program_fts USING fts5(title_grams, summary_grams, facets, content = '', tokenize = 'ascii');
    DROP TABLE program_index;
    CREATE TABLE program_index (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        key        TEXT NOT NULL UNIQUE,
        agency     TEXT NOT NULL,
        native_id  TEXT NOT NULL,
        title      TEXT NOT NULL,
        category   TEXT,
        eligibility BLOB NOT NULL,
        regions    TEXT NOT NULL,
        industries TEXT NOT NULL,
        open_from  INTEGER,
        open_until INTEGER,
        status     INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        facets     TEXT NOT NULL
    ) STRICT;
    DELETE FROM meta WHERE name = 'search.index';
    """

    static let v5 = """
    CREATE TABLE program_index (
        id         INTEGER PRIMARY KEY,
        key        TEXT NOT NULL UNIQUE,
        agency     TEXT NOT NULL,
        native_id  TEXT NOT NULL,
        title      TEXT NOT NULL,
        category   TEXT,
        eligibility BLOB NOT NULL,
        regions    TEXT NOT NULL,
        industries TEXT NOT NULL,
        open_from  INTEGER,
        open_until INTEGER,
        status     INTEGER NOT NULL,
        seq        INTEGER NOT NULL
    ) STRICT;
    CREATE VIRTUAL TABLE program_fts USING fts5(title_grams, summary_grams, content = '', tokenize = 'ascii');
    CREATE TABLE referral_index (
        key      TEXT PRIMARY KEY NOT NULL,
        origin   TEXT NOT NULL,
        local_id TEXT NOT NULL,
        target   TEXT NOT NULL,
        status   TEXT NOT NULL,
        seq      INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX referral_by_target ON referral_index(target, seq);
    CREATE INDEX referral_by_origin ON referral_index(origin, seq);
    CREATE INDEX referral_by_local_id ON referral_index(local_id);
    CREATE TABLE subscription (
        id              TEXT PRIMARY KEY NOT NULL,
        client          TEXT NOT NULL,
        url             TEXT NOT NULL,
        events          TEXT NOT NULL,
        sealed_filter   BLOB NOT NULL,
        sealed_secret   BLOB NOT NULL,
        state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'deleted')),
        disabled_reason TEXT,
        created_at      INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY,
        subscription TEXT NOT NULL,
        event_id     TEXT NOT NULL UNIQUE,
        type         TEXT NOT NULL,
        record_key   TEXT NOT NULL,
        version      TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        next_at      INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
        last_status  INTEGER,
        last_error   TEXT,
        last_at      INTEGER,
        delivered_at INTEGER
    ) STRICT;
    CREATE INDEX outbox_due ON outbox(state, next_at);
    CREATE INDEX outbox_by_subscription ON outbox(subscription, state);
    """

    /// Authors' signatures. `record.signature` is the signature (canonical `VersionSignature`) of
    /// the author whose version the state equals; NULL when the state merges concurrent versions,
    /// which are then kept, each with its signature, in `frontier` (sealed like the record's
    /// personal part) — the feed sends those, so that every receiver verifies each author's bytes
    /// and merges them itself. A state authored or received whole deletes its key's frontier rows.
    static let v4 = """
    ALTER TABLE record ADD COLUMN signature BLOB;
    CREATE TABLE frontier (
        key       TEXT NOT NULL,
        author    TEXT NOT NULL,
        vector    BLOB NOT NULL,
        body      BLOB NOT NULL,
        sealed    BLOB,
        signature BLOB NOT NULL,
        PRIMARY KEY (key, author)
    ) STRICT, WITHOUT ROWID;
    """

    /// The stream whose version a record's state equals exactly (NULL when the state was
    /// authored here or merged): the change feed does not send a peer back what it sent.
    /// Which programs each agency listed in its last complete snapshots (agencies whose lists
    /// carry no update stamp are read whole): `misses` counts consecutive complete snapshots that
    /// lacked the program; at two it is closed.
    static let v3 = """
    CREATE TABLE snapshot_member (
        agency    TEXT NOT NULL,
        native_id TEXT NOT NULL,
        misses    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (agency, native_id)
    ) STRICT, WITHOUT ROWID;
    """

    static let v2 = """
    ALTER TABLE record ADD COLUMN echo_of TEXT;
    """

    static let v1 = """
    -- Replica identity and running totals, maintained in the same transaction as the writes.
    -- Names: epoch, created_at, last_seq, clock, digest, count.program, count.referral.
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY NOT NULL,
        value ANY
    ) STRICT;

    -- One row per record: the merged state of every version this replica has seen.
    -- body is the canonical encoding without personal fields; sealed is AES-GCM(personal
    -- register) for referrals, bound to the key. seq orders the change feed.
    CREATE TABLE record (
        key        TEXT PRIMARY KEY NOT NULL,
        kind       INTEGER NOT NULL CHECK (kind IN (1, 2)),
        owner      TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        vector     BLOB NOT NULL,
        body       BLOB NOT NULL,
        sealed     BLOB,
        deleted    INTEGER NOT NULL DEFAULT 0,
        conflicted INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE UNIQUE INDEX record_by_seq ON record(seq);

    -- Where each inbound stream (a peer's feed, an adapter's native API) has been read up to,
    -- advanced in the same transaction as the records it delivered.
    CREATE TABLE checkpoint (
        stream     TEXT PRIMARY KEY NOT NULL,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;

    -- Every collision once: the colliding writes, the fields that differ, the kept write, and the
    -- merged version holding every colliding value (sealed: it may hold personal fields).
    CREATE TABLE conflict (
        id            INTEGER PRIMARY KEY,
        conflict_id   TEXT NOT NULL UNIQUE,
        record_key    TEXT NOT NULL,
        field         TEXT NOT NULL,
        dots          TEXT NOT NULL,
        differing     TEXT NOT NULL,
        kept          TEXT NOT NULL,
        sealed_state  BLOB NOT NULL,
        source        TEXT NOT NULL,
        detected_at   INTEGER NOT NULL,
        state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'superseded', 'resolved')),
        closed_at     INTEGER,
        closed_by     TEXT
    ) STRICT;
    CREATE INDEX conflict_by_state ON conflict(state, record_key);
    CREATE INDEX conflict_by_record ON conflict(record_key);

    -- Records refused by the domain rules, with the raw payload (sealed: it may hold personal
    -- fields) and the reason. The same payload from the same source counts attempts.
    CREATE TABLE quarantine (
        id             INTEGER PRIMARY KEY,
        source         TEXT NOT NULL,
        record_key     TEXT,
        fingerprint    BLOB NOT NULL,
        sealed_payload BLOB NOT NULL,
        code           TEXT NOT NULL,
        reason         TEXT NOT NULL,
        first_seen     INTEGER NOT NULL,
        last_seen      INTEGER NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 1,
        state          TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'discarded')),
        UNIQUE (source, fingerprint)
    ) STRICT;
    CREATE INDEX quarantine_by_state ON quarantine(state);

    -- Who did what, hash-chained: hash = SHA-256(prev_hash || the row's fields).
    CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        detail    TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash      BLOB NOT NULL
    ) STRICT;
    """
}
