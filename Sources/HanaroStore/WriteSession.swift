import Foundation
import HanaroCore
import GRDB
import Crypto

/// The state of one write transaction: the running totals read from `meta` at its start and
/// written back at its end, and the statements every write needs. Lives only inside
/// `pool.write`, so nothing here is shared between threads.
struct WriteSession {
    let db: Database
    let key: ReplicaKey
    let path: String
    /// Who delivered what this transaction writes.
    let source: StreamID
    let now: UInt64
    /// How far in the future a peer's counters may be (see `checkClock`).
    let maxClockSkewMilliseconds: UInt64
    /// Signs what this node's agency authors (nil: versions are stored unsigned, as in the store's
    /// own tests).
    var signer: AgencySigningKey?
    /// The agency's log, which every signed version joins (nil without a signer).
    let logOrigin: String?
    /// Each agency's current keys, to seal a referral's personal part to its other party.
    let sealingKeys: [AgencyID: [SealingRecipient]]
    /// The subscriptions matched against what this transaction stores, and this node's agency.
    let events: SessionEvents
    var lastSeq: Int64
    let initialLastSeq: Int64
    let initialClock: HLCTimestamp
    /// Whether the last versions applied were new keys (see `apply`).
    var expectNewKeys = true
    var clock: HybridLogicalClock
    var digest: ReplicaDigest
    var programCount: Int64
    var referralCount: Int64
    /// Refused payloads held in this transaction, and those refused beyond the cap (counted only).
    var quarantinedInBatch = 0
    var notKept = 0
    /// The index's work on this transaction's programs, done on the cores beforehand
    /// (``IndexPrework``): looked up by `index`, never required.
    var prework = IndexPrework()
    /// At most this many refused payloads of one batch are kept in quarantine: a flood of refused
    /// frames costs bounded rows (the batch's audit entry counts the rest). Clock-skewed versions
    /// are always kept: they are not wrong, and are retried once the clock allows.
    static let maxQuarantinedPerBatch = 1_000

    init(db: Database, key: ReplicaKey, path: String, source: StreamID, now: UInt64, maxClockSkew: UInt64, events: SessionEvents? = nil, signer: AgencySigningKey? = nil,
         sealingKeys: [AgencyID: [SealingRecipient]] = [:]) throws {
        self.db = db
        self.sealingKeys = sealingKeys
        self.events = events ?? SessionEvents()
        self.signer = signer
        self.logOrigin = signer == nil ? nil : try TransparencyLog.ownOrigin(db)
        self.maxClockSkewMilliseconds = maxClockSkew
        self.key = key
        self.path = path
        self.source = source
        self.now = now
        var lastSeq: Int64 = 0, clockValue: Int64 = 0, programs: Int64 = 0, referrals: Int64 = 0
        var digest = ReplicaDigest.empty
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, value FROM meta WHERE name IN ('last_seq', 'clock', 'digest', 'count.program', 'count.referral')"))
        for row in rows {
            switch row[0] as String {
            case "last_seq": lastSeq = row[1]
            case "clock": clockValue = row[1]
            case "digest": digest = ReplicaDigest(bytes: Array(row[1] as Data))
            case "count.program": programs = row[1]
            case "count.referral": referrals = row[1]
            default: break
            }
        }
        self.lastSeq = lastSeq
        self.initialLastSeq = lastSeq
        self.clock = HybridLogicalClock(last: HLCTimestamp(rawValue: UInt64(clockValue)))
        self.initialClock = HLCTimestamp(rawValue: UInt64(clockValue))
        self.digest = digest
        self.programCount = programs
        self.referralCount = referrals
    }

    /// Whether this transaction changed any record (and so the feed).
    var changedRecords: Bool { lastSeq != initialLastSeq }

    /// Writes the running totals back. Call once, last. A transaction that changed no record
    /// writes nothing here (a re-read of an unchanged snapshot leaves the file as it was).
    func finish() throws {
        guard lastSeq != initialLastSeq || clock.last != initialClock else { return }
        let statement = try db.cachedStatement(sql: "UPDATE meta SET value = ? WHERE name = ?")
        try statement.execute(arguments: [lastSeq, "last_seq"])
        try statement.execute(arguments: [Int64(clock.last.rawValue), "clock"])
        try statement.execute(arguments: [Data(digest.bytes), "digest"])
        try statement.execute(arguments: [programCount, "count.program"])
        try statement.execute(arguments: [referralCount, "count.referral"])
    }

    /// The next change-feed sequence: strictly increasing, and at least the wall time in
    /// hybrid-logical-clock units, so that a replica restored from an old backup issues numbers
    /// above every one it issued before the restore (peers' cursors stay valid).
    mutating func nextSeq() -> Int64 {
        lastSeq = max(lastSeq + 1, Int64(now << 16))
        return lastSeq
    }

    // MARK: Records


    func storedRow(_ key: String) throws -> StoredRow? {
        let statement = try HotStatement(db, sql: "SELECT vector, body, sealed, signature FROM record WHERE key = ?")
        defer { statement.reset() }
        statement.bind(1, key)
        guard try statement.step(db) else { return nil }
        return StoredRow(vector: statement.blob(0), body: statement.blob(1), sealed: statement.isNull(2) ? nil : Data(statement.blob(2)),
                         signature: statement.isNull(3) ? nil : statement.blob(3))
    }

    /// The shareable form of stored personal bytes (each personal write withheld): what the
    /// digest covers. Empty for programs.
    static func shareablePersonal(_ plain: [UInt8]) throws(ValidationError) -> [UInt8] {
        guard !plain.isEmpty else { return [] }
        let register = try MVRegister<PersonalSlot>(canonicalBytes: plain)
        return register.mapValues(\.withholdingFields).canonicalBytes
    }

    /// The current version of a record, if any.
    func current(_ recordKey: RecordKey) throws -> (row: StoredRow, personal: [UInt8], version: RecordVersion)? {
        let text = recordKey.description
        guard let row = try storedRow(text) else { return nil }
        let decoded = try row.decode(recordKey, with: key)
        return (row, decoded.personal, decoded.version)
    }

    /// Writes `version` as the record's new state, keeping the digest, counts and conflict log
    /// in step. `previous` is what was stored (nil: a new record).
    /// `echoOf` names the stream whose version `version` equals exactly (nil when authored here or
    /// merged), so that the feed does not send that peer back what it sent.
    ///
    /// With `previous == nil` and `onlyIfAbsent`, the insert is `ON CONFLICT DO NOTHING` and
    /// everything is undone in memory when the key already exists: the caller then reads the
    /// stored version and merges. Saves the lookup for the common case of a new record.
    /// - Returns: whether the row was written.
    @discardableResult
    mutating func store(_ version: RecordVersion, previous: (row: StoredRow, personal: [UInt8], version: RecordVersion)?,
                        signature: VersionSignature?, frontier: [SignedVersion]? = nil,
                        resolvedBy admin: String? = nil, echoOf: StreamID? = nil, onlyIfAbsent: Bool = false) throws -> Bool {
        let text = version.key.description
        var writer = CanonicalWriter(reservingCapacity: 64)
        writer.write(version.vector)
        let vectorBytes = writer.bytes
        writer = CanonicalWriter()
        version.encodeBody(to: &writer)
        let body = writer.bytes
        writer = CanonicalWriter(reservingCapacity: 64)
        version.encodePersonal(to: &writer)
        let personal = writer.bytes
        let sealed: Data? = version.key.kind == .referral ? try key.seal(personal, context: text) : nil
        writer = CanonicalWriter(reservingCapacity: 64)
        version.encodeShareablePersonal(to: &writer)
        let shareable = writer.bytes
        let newConflicts = version.conflicts
        let seqBefore = lastSeq
        let seq = nextSeq()

        let recordHash = ReplicaDigest.recordHash(key: text, vector: vectorBytes, body: body, personal: shareable)
        digest.toggle(recordHash)
        let statement: HotStatement
        if let previous {
            var previousShareable = CanonicalWriter(reservingCapacity: 64)
            previous.version.encodeShareablePersonal(to: &previousShareable)
            digest.toggle(ReplicaDigest.recordHash(key: text, vector: previous.row.vector, body: previous.row.body, personal: previousShareable.bytes))
            statement = try HotStatement(db, sql: """
                UPDATE record SET seq = ?1, vector = ?4, body = ?5, sealed = ?6, deleted = ?7, conflicted = ?8, echo_of = ?10, signature = ?11 WHERE key = ?9
                """)
        } else {
            statement = try HotStatement(db, sql: onlyIfAbsent ? """
                INSERT INTO record(seq, kind, owner, vector, body, sealed, deleted, conflicted, key, echo_of, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT(key) DO NOTHING
                """ : """
                INSERT INTO record(seq, kind, owner, vector, body, sealed, deleted, conflicted, key, echo_of, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                """)
            statement.bind(2, Int64(version.key.kind.rawValue))
            statement.bind(3, version.key.owner.rawValue)
        }
        defer { statement.reset() }
        statement.bind(1, seq)
        statement.bind(4, vectorBytes)
        statement.bind(5, body)
        statement.bind(6, sealed.map { Array($0) })
        statement.bind(7, version.isDeleted)
        statement.bind(8, !newConflicts.isEmpty)
        statement.bind(9, text)
        if let echoOf { statement.bind(10, echoOf.rawValue) } else { statement.bind(10, nil as [UInt8]?) }
        statement.bind(11, signature?.canonicalBytes)
        _ = try statement.step(db)
        if previous == nil {
            guard db.changesCount == 1 else {
                // The key exists: undo and let the caller merge.
                digest.toggle(recordHash)
                lastSeq = seqBefore
                return false
            }
            switch version.key.kind {
            case .program: programCount += 1
            case .referral: referralCount += 1
            }
        }
        if let frontier {
            try replaceFrontier(of: text, with: frontier)
        } else if let previous, previous.row.signature == nil {
            // The state was a merge (or unsigned): whole again, its frontier goes.
            try db.cachedStatement(sql: "DELETE FROM frontier WHERE key = ?").execute(arguments: [text])
        }
        clock.observe(HLCTimestamp(rawValue: version.vector.maxCounter))
        try logConflicts(old: previous?.version.conflicts ?? [], new: newConflicts, state: version, resolvedBy: admin)
        // The Agency API's index and the webhooks owed, in the same transaction as the record.
        if events.indexing { try index(version, previous: previous?.version, seq: seq) }
        return true
    }

    /// The signed versions a merged state is made of (empty for a state that is one version).
    func frontier(of recordKey: RecordKey) throws -> [SignedVersion] {
        try Self.readFrontier(db, of: recordKey, key: key)
    }

    static func readFrontier(_ db: Database, of recordKey: RecordKey, key: ReplicaKey) throws -> [SignedVersion] {
        let text = recordKey.description
        return try Row.fetchAll(db.cachedStatement(sql: "SELECT author, vector, body, sealed, signature FROM frontier WHERE key = ? ORDER BY author"),
                                arguments: [text]).map { row in
            let author: String = row[0]
            let stored = StoredRow(vector: Array(row[1] as Data), body: Array(row[2] as Data), sealed: row[3] as Data?, signature: nil)
            let version = try stored.decode(recordKey, with: key, context: "frontier:\(text):\(author)").version
            return SignedVersion(version, signature: try VersionSignature(canonicalBytes: Array(row[4] as Data), vector: version.vector))
        }
    }

    private func replaceFrontier(of text: String, with versions: [SignedVersion]) throws {
        try db.cachedStatement(sql: "DELETE FROM frontier WHERE key = ?").execute(arguments: [text])
        let insert = try db.cachedStatement(sql: "INSERT INTO frontier(key, author, vector, body, sealed, signature) VALUES (?, ?, ?, ?, ?, ?)")
        for signed in versions {
            guard let signature = signed.signature else { continue }
            let version = signed.version
            let author = signature.author.description
            let sealed: Data? = version.key.kind == .referral
                ? try key.seal(version.personalBytes, context: "frontier:\(text):\(author)") : nil
            var vector = CanonicalWriter(reservingCapacity: 64)
            vector.write(version.vector)
            try insert.execute(arguments: [text, author, Data(vector.bytes), Data(version.bodyBytes), sealed, Data(signature.canonicalBytes)])
        }
    }

    /// Records collisions that appeared, and closes those that a later write superseded.
    private func logConflicts(old: [ConflictReport], new: [ConflictReport], state: RecordVersion, resolvedBy admin: String?) throws {
        if old.isEmpty && new.isEmpty { return }
        let oldIDs = Set(old.map(\.id))
        let newIDs = Set(new.map(\.id))
        let appeared = new.filter { !oldIDs.contains($0.id) }
        if !appeared.isEmpty {
            let sealedState = try key.seal(state.canonicalBytes, context: "conflict:\(state.key)")
            let insert = try db.cachedStatement(sql: """
                INSERT INTO conflict(conflict_id, record_key, field, dots, differing, kept, sealed_state, source, detected_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(conflict_id) DO NOTHING
                """)
            for report in appeared {
                try insert.execute(arguments: [
                    report.id, report.key.description, report.field, report.dots.map(\.description).joined(separator: ","),
                    report.differingFields.joined(separator: ","), report.kept.description, sealedState, source.rawValue, Int64(now),
                ])
            }
        }
        let close = try db.cachedStatement(sql: """
            UPDATE conflict SET state = ?, closed_at = ?, closed_by = ? WHERE conflict_id = ? AND state = 'open'
            """)
        for report in old where !newIDs.contains(report.id) {
            try close.execute(arguments: [admin == nil ? ConflictState.superseded.rawValue : ConflictState.resolved.rawValue, Int64(now), admin ?? source.rawValue, report.id])
        }
    }

    /// Advances a stream's checkpoint.
    func saveCheckpoint(_ checkpoint: Checkpoint) throws {
        if let expected = checkpoint.expected {
            // Compare-and-set: someone rewrote the stream meanwhile (a restart in full); keep theirs.
            let current = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM checkpoint WHERE stream = ?"), arguments: [checkpoint.stream.rawValue])
            guard current == expected || (current == nil && expected.isEmpty) else { return }
        }
        try db.cachedStatement(sql: """
            INSERT INTO checkpoint(stream, value, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """).execute(arguments: [checkpoint.stream.rawValue, checkpoint.value, Int64(now)])
    }

    /// Holds a refused payload with its reason; a repeat of the same payload counts an attempt.
    mutating func quarantine(recordKey: String?, payload: [UInt8], error: ValidationError) throws {
        if error.code != .clockSkew {
            guard quarantinedInBatch < Self.maxQuarantinedPerBatch else {
                notKept += 1
                return
            }
            quarantinedInBatch += 1
        }
        // Keyed, so that the file holds no plain hash of a payload that may carry personal data.
        let fingerprint = key.fingerprint(payload)
        let sealed = try key.seal(payload, context: "quarantine:\(source.rawValue)")
        let shownKey = recordKey.map(ResidentNumberDetector.withheld), reason = ResidentNumberDetector.withheld(error.description)
        // An agency's item is one row however its content moves between polls (a view counter,
        // a changed date): the row held for the same item — its record key, or for an item
        // without an id the same reason (which names its position) — takes the newest payload
        // and counts an attempt. Peers' versions stay one row per payload: two held versions of
        // one record (a clock skew) must each be retried.
        if source.adapterAgency != nil,
           let held = try Int64.fetchOne(db.cachedStatement(sql: shownKey == nil
                ? "SELECT id FROM quarantine WHERE source = ? AND record_key IS NULL AND code = ? AND reason = ? AND state = 'held' ORDER BY id DESC LIMIT 1"
                : "SELECT id FROM quarantine WHERE source = ? AND record_key = ? AND state = 'held' ORDER BY id DESC LIMIT 1"),
                                         arguments: shownKey == nil ? [source.rawValue, error.code.rawValue, reason] : [source.rawValue, shownKey]),
           try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM quarantine WHERE source = ? AND fingerprint = ? AND id != ?"),
                              arguments: [source.rawValue, fingerprint, held]) == nil {
            try db.cachedStatement(sql: """
                UPDATE quarantine SET fingerprint = ?, sealed_payload = ?, code = ?, reason = ?, attempts = attempts + 1, last_seen = ? WHERE id = ?
                """).execute(arguments: [fingerprint, sealed, error.code.rawValue, reason, Int64(now), held])
            return
        }
        try db.cachedStatement(sql: """
            INSERT INTO quarantine(source, record_key, fingerprint, sealed_payload, code, reason, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source, fingerprint) DO UPDATE SET attempts = attempts + 1, last_seen = excluded.last_seen,
              code = excluded.code, reason = excluded.reason, state = 'held'
            """).execute(arguments: [source.rawValue, shownKey, fingerprint, sealed, error.code.rawValue, reason, Int64(now), Int64(now)])
    }

    /// Appends one audit entry, chained to the previous one, in this transaction.
    func appendAudit(actor: String, action: String, target: String, outcome: String, detail: String) throws {
        try AuditChain.append(db, at: Int64(now), actor: actor, action: action, target: target, outcome: outcome, detail: detail)
    }

    /// Summarises the refusals of a batch in one audit entry (nothing when none was refused): the
    /// count per reason and the first keys — bounded whatever the batch holds.
    func auditRefusals(_ outcomes: [WriteOutcome], as audit: RefusalAudit) throws {
        var byCode: [String: Int] = [:]
        var keys: [String] = []
        var refused = 0
        for case .quarantined(let error) in outcomes {
            refused += 1
            byCode[error.code.rawValue, default: 0] += 1
            if keys.count < 5, let key = error.record.map(ResidentNumberDetector.withheld), !keys.contains(key) { keys.append(key) }
        }
        guard refused > 0 else { return }
        let reasons = byCode.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        let target = refused == 1 ? (keys.first ?? "-") : "\(refused) versions"
        let first = outcomes.lazy.compactMap { if case .quarantined(let error) = $0 { error } else { nil } }.first
        var detail = refused == 1 && first != nil
            ? "\(first!.code.rawValue): \(ResidentNumberDetector.withheld(first!.message))"
            : "\(refused) refused (\(reasons)); first keys: \(keys.isEmpty ? "none readable" : keys.joined(separator: ", "))"
        if notKept > 0 { detail += "; \(notKept) not kept in quarantine (more than \(Self.maxQuarantinedPerBatch) refused in one batch)" }
        try appendAudit(actor: audit.actor, action: audit.action, target: target, outcome: "refused", detail: detail)
    }

    /// One audit entry (`federation.stale`, outcome `ignored`) for the versions of a batch older
    /// than those held (``WriteOutcome/stale``): nothing was applied, but a relay replaying old
    /// versions shows in the log, bounded to one row a batch like the refusals.
    func auditStale(_ outcomes: [WriteOutcome], as audit: RefusalAudit, keys recordKey: (Int) -> String) throws {
        var stale = 0
        var keys: [String] = []
        for (index, outcome) in outcomes.enumerated() where outcome == .stale {
            stale += 1
            if keys.count < 5 { keys.append(ResidentNumberDetector.withheld(recordKey(index))) }
        }
        guard stale > 0 else { return }
        try appendAudit(actor: audit.actor, action: "federation.stale", target: stale == 1 ? keys[0] : "\(stale) versions", outcome: "ignored",
                        detail: "\(stale) version\(stale == 1 ? "" : "s") older than the one held, not applied (a peer behind this node, or a relay replaying old versions); first keys: \(keys.joined(separator: ", "))")
    }
}

/// A record row as stored: vector, body, sealed personal register and the author's signature.
struct StoredRow {
    var vector: [UInt8]
    var body: [UInt8]
    var sealed: Data?
    var signature: [UInt8]? = nil

    /// Decrypts the personal register and decodes the version — the one way every read path
    /// turns a row back into a record.
    /// - Throws: `.decryption` for the wrong key file, `.corrupt` for bytes that do not decode.
    func decode(_ recordKey: RecordKey, with key: ReplicaKey, context: String? = nil) throws(StoreError) -> (personal: [UInt8], version: RecordVersion) {
        let personal = try sealed.map { sealed throws(StoreError) in try key.open(sealed, context: context ?? recordKey.description) } ?? []
        do {
            var reader = CanonicalReader(vector)
            let vector = try reader.readVector()
            return (personal, try RecordVersion(key: recordKey, vector: vector, body: body, personal: personal))
        } catch {
            throw StoreError(.corrupt, "stored record \(recordKey) does not decode (\(error)); the replica file is damaged or from an incompatible version", cause: error)
        }
    }
}
