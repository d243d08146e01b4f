public import HanaroCore
import Foundation
import GRDB

/// Where an inbound stream has been read up to: written in the same transaction as the records
/// that stream delivered, so a crash never separates them.
public struct Checkpoint: Sendable, Hashable {
    /// The stream whose cursor this is.
    public var stream: StreamID
    /// The stream's own cursor, opaque to the store.
    public var value: String
    /// When set, the checkpoint advances only if the stored value still equals this (empty: none
    /// stored yet) — compare-and-set, so a concurrent rewrite is not lost.
    public var expected: String?

    public init(stream: StreamID, value: String, expected: String? = nil) {
        self.stream = stream
        self.value = value
        self.expected = expected
    }
}

/// How the refusals of a batch are audited: one entry per batch, written in the batch's own
/// transaction (so it never outlives a batch that rolled back), summarising what was refused —
/// the count per reason and the first keys. Its size is bounded whatever the batch holds.
public struct RefusalAudit: Sendable, Hashable {
    /// Who delivered the batch (`peer:kodit`).
    public var actor: String
    /// The audit action (`federation.reject`).
    public var action: String

    public init(actor: String, action: String) {
        self.actor = actor
        self.action = action
    }
}

/// What happened to one version or edit of a batch.
public enum WriteOutcome: Sendable, Hashable {
    /// A record the replica did not have.
    case inserted
    /// A newer version replaced the stored one (or a local edit was recorded).
    case replaced
    /// A concurrent version was merged in; the listed conflict ids appeared with it.
    case merged(newConflicts: [String])
    /// Nothing new: an equal or already-included version, or an edit that changes nothing.
    case unchanged
    /// Nothing new: a version older by its vector than the one held, all of whose events the held
    /// one already has. A peer that is behind sends one now and then; a relay that replays old
    /// versions sends many. Not applied; counted per peer and audited once per batch
    /// (`federation.stale`).
    case stale
    /// Refused by the domain rules and held in quarantine with this reason.
    case quarantined(ValidationError)

    /// Whether the replica's state changed.
    public var changedState: Bool {
        switch self {
        case .inserted, .replaced, .merged: true
        case .unchanged, .stale, .quarantined: false
        }
    }
}

/// A local edit for ``Replica/author(_:by:source:checkpoint:)``.
public struct AuthoredEdit: Sendable {
    public var key: RecordKey
    public var edit: RecordEdit
    /// The native payload the edit was mapped from, kept in quarantine if the edit is refused.
    public var raw: [UInt8]
    /// Why the native item could not even be mapped: it goes to quarantine, in the same
    /// transaction as the rest of its page and the page's cursor.
    public var refusal: ValidationError?
    /// The record key a quarantined item is filed under: its own, or nil when it has no id.
    public var quarantineKey: String?

    public init(key: RecordKey, edit: RecordEdit, raw: [UInt8] = []) {
        self.key = key
        self.edit = edit
        self.raw = raw
        quarantineKey = key.description
    }

    /// A native item that could not be mapped, filed under its own key (nil: it has no readable
    /// id; the error says where it was served).
    public init(key: RecordKey?, refused error: ValidationError, raw: [UInt8]) {
        // The key of an edit that is never made: only `quarantineKey` is read for a refusal.
        self.key = key ?? RecordKey(kind: .program, owner: .semas, localID: "-")
        edit = .addNote("")
        self.raw = raw
        refusal = error
        quarantineKey = key?.description
    }
}

extension Replica {
    /// Applies a batch of versions received from `source` and advances its checkpoint, in one
    /// transaction.
    ///
    /// For each version: validate (refused ones go to quarantine with the reason; the rest still
    /// apply), compare its vector with the stored one, and store the merge — new records insert,
    /// newer versions replace, older or equal ones change nothing, concurrent ones merge and log
    /// the collisions that appear. Applying the same batch twice changes nothing.
    ///
    /// - Returns: one outcome per version, in order.
    /// - Throws: ``StoreError`` when the transaction cannot commit (nothing of the batch, nor the
    ///   checkpoint, is then written).
    @discardableResult
    public func apply(_ batch: [RecordVersion], from source: StreamID, checkpoint: Checkpoint? = nil, withholdingFor receiver: AgencyID? = nil,
                      auditingRefusals audit: RefusalAudit? = nil) async throws(StoreError) -> [WriteOutcome] {
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds
        return notifyingIfChanged(try await write("apply a batch from \(source)") { db in
            var session = try WriteSession(db: db, key: key, path: path, source: source, now: now, maxClockSkew: skew, events: self.sessionEvents)
            session.prework = IndexPrework(batch, events: session.events)
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for incoming in batch {
                let version = receiver.map { incoming.shared(with: $0) } ?? incoming
                outcomes.append(try session.apply(SignedVersion(version, signature: nil), payload: version.canonicalBytes))
            }
            if let checkpoint { try session.saveCheckpoint(checkpoint) }
            if let audit {
                try session.auditRefusals(outcomes, as: audit)
                try session.auditStale(outcomes, as: audit) { batch[$0].key.description }
            }
            try session.finish()
            return (outcomes, session.changedRecords)
        })
    }

    /// Records local edits made by `agency` (an adapter's ingest for the agency this node is
    /// authoritative for, a counsellor's change, an admin's resolution) and advances the
    /// checkpoint, in one transaction. Each edit becomes a new version whose vector advances
    /// `agency`'s entry; an edit that changes nothing is skipped; a refused edit goes to
    /// quarantine with its raw payload and the reason.
    ///
    /// - Returns: one outcome per edit, in order, and the new versions (for those that changed).
    /// - Throws: ``StoreError`` when the transaction cannot commit.
    @discardableResult
    public func author(_ edits: [AuthoredEdit], by agency: AgencyID, source: StreamID = .local, checkpoint: Checkpoint? = nil) async throws(StoreError) -> [WriteOutcome] {
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds, signer = signer(for: agency), sealing = sealingKeys
        return notifyingIfChanged(try await write("record local edits by \(agency.rawValue)") { db in
            var session = try WriteSession(db: db, key: key, path: path, source: source, now: now, maxClockSkew: skew, events: self.sessionEvents, signer: signer, sealingKeys: sealing)
            let outcomes = try session.author(edits, by: agency)
            if let checkpoint { try session.saveCheckpoint(checkpoint) }
            try session.finish()
            return (outcomes, session.changedRecords)
        })
    }

    /// Records one local edit; a refused edit throws instead of going to quarantine (an
    /// interactive caller wants the reason now).
    /// - Throws: ``ValidationError`` (wrapped in ``StoreError`` `.invalidRequest`) or ``StoreError``.
    @discardableResult
    public func author(_ edit: RecordEdit, key recordKey: RecordKey, by agency: AgencyID, admin: String? = nil) async throws(StoreError) -> RecordVersion? {
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds, signer = signer(for: agency), sealing = sealingKeys
        // An interactive edit has no source that would deliver it again after a power loss, so
        // its commit syncs the write-ahead log (synchronous=FULL for this one transaction).
        let result: RecordVersion?
        do {
            result = try await writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var version: RecordVersion?
                try db.inTransaction {
                    var session = try WriteSession(db: db, key: key, path: path, source: admin.map { StreamID.admin($0) } ?? .local, now: now, maxClockSkew: skew, events: self.sessionEvents, signer: signer, sealingKeys: sealing)
                    version = try session.authorOne(AuthoredEdit(key: recordKey, edit: edit), by: agency, admin: admin)
                    try session.finish()
                    return .commit
                }
                return version
            }
        } catch {
            throw Self.databaseError(error, path: path, doing: "record an edit of \(recordKey)")
        }
        if result != nil { headWatch.notify() }
        return result
    }
}

extension WriteSession {
    /// Applies one received version. `payload` is what is held in quarantine if it is refused
    /// (the frame as it arrived, signature included, so that a retry verifies it again).
    mutating func apply(_ signed: SignedVersion, payload: @autoclosure () -> [UInt8]) throws -> WriteOutcome {
        let incoming = signed.version
        do {
            try incoming.validate()
            try checkClock(incoming)
        } catch {
            try quarantine(recordKey: incoming.key.description, payload: payload(), error: error)
            return .quarantined(error)
        }
        // New records are inserted without a lookup while the batch keeps bringing new keys; after
        // a key that exists, look up first (an update batch would otherwise encode twice).
        if expectNewKeys {
            if try store(incoming, previous: nil, signature: signed.signature, echoOf: source, onlyIfAbsent: true) { return .inserted }
            expectNewKeys = false
        }
        guard let previous = try current(incoming.key) else {
            expectNewKeys = true
            try store(incoming, previous: nil, signature: signed.signature, echoOf: source)
            return .inserted
        }
        let relation = incoming.relation(to: previous.version)
        if relation == .equal && incoming.body == previous.version.body {
            clock.observe(HLCTimestamp(rawValue: incoming.vector.maxCounter))
            return .unchanged
        }
        // A version older by its vector is merged all the same: a vector does not say that the
        // newer version holds every grow-only event of the older (a referral re-created under a
        // new dot by a rebuilt origin); the join decides, and usually changes nothing.
        let merged: RecordVersion
        do {
            merged = try previous.version.merged(with: incoming)
        } catch {
            try quarantine(recordKey: incoming.key.description, payload: payload(), error: error)
            return .quarantined(error)
        }
        if merged == previous.version {
            clock.observe(HLCTimestamp(rawValue: incoming.vector.maxCounter))
            return relation == .before ? .stale : .unchanged
        }
        let before = Set(previous.version.conflicts.map(\.id))
        if merged == incoming {
            // The state is the received version: its author's signature goes with it.
            try store(merged, previous: previous, signature: signed.signature, echoOf: source)
        } else {
            // A merge of concurrent versions: nobody signed it, so the signed versions it is made
            // of are kept (those the new one does not supersede, and the new one) and sent instead.
            var parts: [SignedVersion]
            if let bytes = previous.row.signature, let signature = try? VersionSignature(canonicalBytes: bytes, vector: previous.version.vector) {
                parts = [SignedVersion(previous.version, signature: signature)]
            } else {
                parts = try frontier(of: incoming.key)
            }
            if signed.signature != nil { parts.append(signed) }
            try store(merged, previous: previous, signature: nil, frontier: Self.minimalParts(parts, joiningTo: merged))
        }
        if relation == .after { return .replaced }
        return .merged(newConflicts: merged.conflicts.map(\.id).filter { !before.contains($0) })
    }

    /// The fewest of `parts` whose join is still `state`. A version vector does not say that one
    /// version holds everything of another: some parts of a record grow only (a referral's status
    /// history), so a version that dominates by vector may still lack an event of the one it
    /// dominates (an agency whose replica was rebuilt re-creating a referral under a new dot, found
    /// by the kill -9 campaign). A part is dropped only when the others join to the same state.
    static func minimalParts(_ parts: [SignedVersion], joiningTo state: RecordVersion) -> [SignedVersion] {
        func join(_ versions: [SignedVersion]) -> RecordVersion? {
            guard var result = versions.first?.version else { return nil }
            for part in versions.dropFirst() {
                guard let next = try? result.merged(with: part.version) else { return nil }
                result = next
            }
            return result
        }
        var kept = parts
        var index = 0
        while index < kept.count, kept.count > 1 {
            var others = kept
            others.remove(at: index)
            if join(others) == state { kept = others } else { index += 1 }
        }
        return kept
    }

    mutating func author(_ item: AuthoredEdit, by agency: AgencyID) throws -> WriteOutcome {
        try author([item], by: agency)[0]
    }

    /// Records edits in order; those that make versions are signed together (one batch signature,
    /// see `AgencySigningKey.sign(envelopes:)`). An edit of a key already edited in the batch
    /// first commits what came before, so it builds on the stored version.
    mutating func author(_ items: [AuthoredEdit], by agency: AgencyID) throws -> [WriteOutcome] {
        var outcomes = [WriteOutcome](repeating: .unchanged, count: items.count)
        var pending: [(position: Int, prepared: PreparedVersion)] = []
        var pendingKeys = Set<RecordKey>()
        func commitPending(_ session: inout WriteSession) throws {
            guard !pending.isEmpty else { return }
            try session.commit(pending.map(\.prepared), admin: nil)
            for (position, prepared) in pending { outcomes[position] = prepared.previous == nil ? .inserted : .replaced }
            pending.removeAll(keepingCapacity: true)
            pendingKeys.removeAll(keepingCapacity: true)
        }
        for (position, item) in items.enumerated() {
            if let refusal = item.refusal {
                try quarantine(recordKey: item.quarantineKey, payload: item.raw, error: refusal)
                outcomes[position] = .quarantined(refusal)
                continue
            }
            if pendingKeys.contains(item.key) { try commitPending(&self) }
            do {
                guard let prepared = try prepare(item, by: agency) else { continue }
                pending.append((position, prepared))
                pendingKeys.insert(item.key)
            } catch let error as StoreError where error.code == .invalidRequest {
                let validation = error.cause as? ValidationError ?? ValidationError(.malformed, error.message)
                try quarantine(recordKey: item.key.description, payload: item.raw.isEmpty ? Array(item.key.description.utf8) : item.raw, error: validation)
                outcomes[position] = .quarantined(validation)
            }
        }
        try commitPending(&self)
        try releaseRecovered(items, outcomes)
        return outcomes
    }

    /// Marks released the rows this source holds in quarantine for programs that have now applied
    /// from it (stored, or already held as served): the agency fixed the item, and its old row no
    /// longer stands for a refused item (the replica's `quarantined` count and `hanaro quarantine
    /// list` show what is still bad). Referral rows are left alone: a held status event waits for
    /// its referral and is retried by the daemon. One read of the source's held keys per batch.
    mutating func releaseRecovered(_ items: [AuthoredEdit], _ outcomes: [WriteOutcome]) throws {
        var recovered: Set<String> = []
        for (item, outcome) in zip(items, outcomes) where item.refusal == nil && item.key.kind == .program {
            if case .quarantined = outcome { continue }
            recovered.insert(item.key.description)
        }
        guard !recovered.isEmpty else { return }
        let held = try String.fetchAll(db.cachedStatement(sql: "SELECT record_key FROM quarantine WHERE state = 'held' AND source = ? AND record_key IS NOT NULL"),
                                       arguments: [source.rawValue])
        let release = try db.cachedStatement(sql: "UPDATE quarantine SET state = 'released' WHERE state = 'held' AND source = ? AND record_key = ?")
        for key in Set(held).intersection(recovered) { try release.execute(arguments: [source.rawValue, key]) }
    }

    /// Refuses a version stamped further in the future than the allowed clock skew: a peer with a
    /// runaway clock (or a forged counter near the top of the range) would otherwise drag every
    /// later counter with it, or wrap it round to zero.
    func checkClock(_ version: RecordVersion) throws(ValidationError) {
        let limit = (now + maxClockSkewMilliseconds) << 16
        guard version.vector.maxCounter <= limit else {
            let ahead = Int64(HLCTimestamp(rawValue: version.vector.maxCounter).millisecondsSince1970 / 1000) - Int64(now / 1000)
            throw ValidationError(.clockSkew, record: version.key.description, field: "vector",
                                  "clock skew \(ahead) s: version stamped \(ahead) s ahead of this node's clock (more than the allowed \(maxClockSkewMilliseconds / 1000) s); held and retried once the clock allows — check the author's clock (NTP)")
        }
    }

    /// - Returns: the new version, or nil when the edit changes nothing.
    mutating func authorOne(_ item: AuthoredEdit, by agency: AgencyID, admin: String?) throws -> RecordVersion? {
        guard let prepared = try prepare(item, by: agency) else { return nil }
        try commit([prepared], admin: admin)
        return prepared.version
    }

    /// An edit made into a version, not yet signed nor stored.
    struct PreparedVersion {
        var version: RecordVersion
        var previous: (row: StoredRow, personal: [UInt8], version: RecordVersion)?
        /// The envelope to sign and the signature's fields but its bytes (nil: stored unsigned).
        var unsigned: (signature: VersionSignature, envelope: [UInt8])?
    }

    /// Makes the version an edit produces on the stored one (stamped now), or nil when the edit
    /// changes nothing.
    /// - Throws: ``StoreError`` `.invalidRequest` wrapping the ``ValidationError`` of a refused edit.
    mutating func prepare(_ item: AuthoredEdit, by agency: AgencyID) throws -> PreparedVersion? {
        let previous = try current(item.key)
        if let existing = previous?.version, Self.isNoOp(item.edit, on: existing, by: agency) { return nil }
        let stamp = clock.tick(physicalMilliseconds: now)
        let version: RecordVersion
        do {
            version = try RecordVersion.authoring(item.edit, on: previous?.version, key: item.key, by: agency, clock: stamp)
        } catch {
            throw StoreError(.invalidRequest, error.description, cause: error)
        }
        return PreparedVersion(version: version, previous: previous, unsigned: signer?.envelope(of: version))
    }

    /// Signs prepared versions of distinct records together, logs and stores them, in order.
    mutating func commit(_ prepared: [PreparedVersion], admin: String?) throws {
        // No `IndexPrework` here: an adapter's reader keeps the other core busy parsing its next
        // page, so splitting the index's work with it made ingest 13 % slower (BENCHMARKS, session 13).
        let unsigned = prepared.compactMap(\.unsigned)
        let signatures = signer.map { $0.sign(envelopes: unsigned.map(\.envelope)) } ?? []
        var next = 0
        for item in prepared {
            let version = item.version
            var signature: VersionSignature? = nil
            if let signer, let unsigned = item.unsigned {
                let envelope = unsigned.envelope
                signature = unsigned.signature
                signature?.signature = signatures[next].signature
                signature?.batch = signatures[next].batch
                next += 1
                // A referral's personal part, sealed to the other party: it reaches it through any relay.
                if let referral = version.referral {
                    let other = signer.agency == referral.origin ? referral.target : referral.origin
                    // Only to a party the owner's consent entitles (as direct delivery withholds too).
                    if referral.mayHoldPersonalFields(other) {
                        signature?.sealed = signer.seal(version, envelope: envelope, to: sealingKeys[other] ?? [])
                    }
                }
                // What the agency signs, it logs, in the same transaction.
                if let logOrigin { try TransparencyLog.append(db, origin: logOrigin, kind: "version", ref: version.key.description, entry: envelope) }
            }
            try store(version, previous: item.previous, signature: signature, resolvedBy: admin)
        }
    }

    /// Whether an edit would only restate what the record already holds (an adapter reading the
    /// same page twice, or a duplicated delivery, must not mint new versions). Only edits by an
    /// agency entitled to make them can be no-ops — the program's owner, the referral's origin
    /// or target — so that anyone else's reach authorization and are refused there.
    static func isNoOp(_ edit: RecordEdit, on version: RecordVersion, by agency: AgencyID) -> Bool {
        switch (edit, version.body) {
        case (.publishProgram(let content), .program(let register)):
            return agency == version.key.owner && !register.isConflicted && register.value == content
        case (.deleteProgram, .program(let register)):
            return agency == version.key.owner && !register.isConflicted && register.value.isDeleted
        case (.createReferral, .referral):
            // The origin announced this referral before: the first announcement stands.
            return agency == version.key.owner
        case (.setStatus(let status), .referral(let referral)):
            return referral.role(of: agency) != nil && referral.history.elements.contains { $0.to == status && $0.dot.agency == agency }
        case (.addNote(let text), .referral(let referral)):
            // Notes are stored redacted (ContactDetector): compare what would be stored.
            let stored = ContactDetector.redacted(text)
            return referral.role(of: agency) != nil && referral.notes.elements.contains { $0.text == stored && $0.dot.agency == agency }
        default:
            return false
        }
    }
}

extension Replica {
    /// Applies a batch of canonically encoded versions (the federation wire form): payloads that
    /// do not decode are quarantined with the reason, the rest apply as in
    /// ``apply(_:from:checkpoint:)`` — all in one transaction with the checkpoint.
    ///
    /// With `receiver` (this node's agency), personal fields that agency may not hold are withheld
    /// before storing, whatever the sender did. With `audit`, the refused versions are summarised
    /// in one audit entry written in the same transaction, and those older than the ones held in
    /// another (`federation.stale`).
    @discardableResult
    public func apply(encoded payloads: [[UInt8]], from source: StreamID, checkpoint: Checkpoint? = nil, withholdingFor receiver: AgencyID? = nil,
                      auditingRefusals audit: RefusalAudit? = nil) async throws(StoreError) -> [WriteOutcome] {
        try await apply(prepared: prepare(payloads), from: source, checkpoint: checkpoint, withholdingFor: receiver, auditingRefusals: audit)
    }

    /// A page of wire frames decoded and checked against their authors' signatures, ready to be
    /// stored by ``apply(prepared:from:checkpoint:withholdingFor:auditingRefusals:)``.
    public struct PreparedPage: Sendable {
        let payloads: [[UInt8]]
        let page: DecodedPage
        /// The index's work on the page's programs (``IndexPrework``), against the subscriptions
        /// of the moment it was prepared.
        let prework: IndexPrework
    }

    /// Decodes `payloads` and checks their signatures, spread over the cores: everything of an
    /// apply that needs no database. A puller prepares the next page while the writer stores the
    /// one before it, so that verification and the single writer overlap.
    public func prepare(_ payloads: [[UInt8]]) -> PreparedPage {
        let page = Self.decodeAndVerify(payloads, authentication: authentication)
        let versions = page.decoded.indices.lazy.filter { page.checked[$0].refusal == nil }.compactMap { page.decoded[$0].signed?.version }
        return PreparedPage(payloads: payloads, page: page, prework: IndexPrework(versions, events: sessionEvents))
    }

    /// ``apply(encoded:from:checkpoint:withholdingFor:auditingRefusals:)`` of a page already
    /// prepared by this replica's ``prepare(_:)``.
    @discardableResult
    public func apply(prepared: PreparedPage, from source: StreamID, checkpoint: Checkpoint? = nil, withholdingFor receiver: AgencyID? = nil,
                      auditingRefusals audit: RefusalAudit? = nil) async throws(StoreError) -> [WriteOutcome] {
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds
        let payloads = prepared.payloads, page = prepared.page
        return notifyingIfChanged(try await write("apply a batch from \(source)") { db in
            var session = try WriteSession(db: db, key: key, path: path, source: source, now: now, maxClockSkew: skew, events: self.sessionEvents)
            session.prework = prepared.prework
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(payloads.count)
            for (index, payload) in payloads.enumerated() {
                // What a refusal keeps: the frame as it arrived, with the path its page left out.
                let arrived = { page.rebuilt.contains(index) ? page.decoded[index].signed?.frame ?? payload : payload }
                if let refusal = page.checked[index].refusal ?? page.decoded[index].refusal {
                    try session.quarantine(recordKey: refusal.key, payload: arrived(), error: refusal.error)
                    outcomes.append(.quarantined(refusal.error))
                    continue
                }
                var signed = page.checked[index].opened ?? page.decoded[index].signed!
                if let receiver { signed.version = signed.version.shared(with: receiver) }
                outcomes.append(try session.apply(signed, payload: arrived()))
            }
            if let checkpoint { try session.saveCheckpoint(checkpoint) }
            if let audit {
                try session.auditRefusals(outcomes, as: audit)
                try session.auditStale(outcomes, as: audit) { (page.checked[$0].opened ?? page.decoded[$0].signed)?.version.key.description ?? "-" }
                let forged = page.checked.indices.filter { page.checked[$0].forgedSeal }
                if !forged.isEmpty {
                    let keys = forged.prefix(5).compactMap { page.decoded[$0].signed?.version.key.description }.map(ResidentNumberDetector.withheld)
                    try session.appendAudit(actor: audit.actor, action: "federation.seal-forged", target: forged.count == 1 ? (keys.first ?? "-") : "\(forged.count) versions",
                                            outcome: "ignored",
                                            detail: "\(forged.count) version\(forged.count == 1 ? "" : "s") carried a personal part sealed to this node that is not the one the author signed (a relay replaced it); applied with the personal fields withheld; first keys: \(keys.joined(separator: ", "))")
                }
            }
            try session.finish()
            return (outcomes, session.changedRecords)
        })
    }

    /// This node's key when `agency` is its own (a replica signs only for its own agency; tests
    /// that author for several agencies in one replica store those versions unsigned).
    func signer(for agency: AgencyID) -> AgencySigningKey? {
        authentication?.signer.flatMap { $0.agency == agency ? $0 : nil }
    }

    struct Refusal: Error, Sendable {
        var key: String?
        var error: ValidationError
    }

    /// One frame of a page, decoded: the version as it arrived (with the inclusion path its page
    /// left out, once rebuilt), or why it could not be read; its envelope when it was needed.
    struct DecodedFrame: Sendable {
        var signed: SignedVersion?
        var refusal: Refusal?
        var envelope: [UInt8]?
    }

    /// A frame's check: why it was refused, or the version with a personal part sealed to this
    /// node opened (nil: as it arrived).
    struct CheckedFrame: Sendable {
        var refusal: Refusal?
        var opened: SignedVersion?
        /// A part sealed to this node that opened but is not the one the author signed.
        var forgedSeal = false
    }

    /// A page decoded and checked; `rebuilt` lists the frames whose paths were rebuilt.
    struct DecodedPage: Sendable {
        var decoded: [DecodedFrame]
        var checked: [CheckedFrame]
        var rebuilt: Set<Int>
    }

    /// Decodes each frame, rebuilds the inclusion paths its page left out (``BatchPaths``) and,
    /// when this replica verifies, checks its author's signature. Each version is decoded once
    /// and stays where it was decoded: a version holds dozens of references, and the copies of a
    /// page's versions made along the way cost more than their verification (perf, session 10).
    static func decodeAndVerify(_ payloads: [[UInt8]], authentication: VersionAuthentication?) -> DecodedPage {
        // Each version's envelope is built once, here, when something needs it: the tree of a
        // batch whose paths the page left out, and the verifier.
        let verifying = authentication != nil
        var decoded: [DecodedFrame] = ParallelFill.fill(payloads.count) { range, put in
            for index in range {
                do throws(ValidationError) {
                    // A frame of the first signature form (a peer not yet upgraded, a frame
                    // quarantined before the upgrade) is read as such and verified like any other.
                    let signed = try SignedVersion(acceptingFirstForm: payloads[index])
                    let needsEnvelope = signed.signature != nil && (verifying || signed.signature?.batch?.isPathElided == true)
                    put(index, DecodedFrame(signed: signed, envelope: needsEnvelope ? signed.claimedEnvelope : nil))
                } catch {
                    put(index, DecodedFrame(refusal: Refusal(key: nil, error: error)))
                }
            }
        }
        // Read through an immutable copy (the closures are Sendable), released before the paths
        // are written back, so that `decoded` is mutated in place, not copied.
        let restored = { (frames: [DecodedFrame]) in
            BatchPaths.rebuild(count: frames.count, signature: { frames[$0].signed?.signature }, envelope: { frames[$0].envelope }, verifyingWith: authentication)
        }(decoded)
        for (position, path) in restored.paths { decoded[position].signed!.signature!.batch!.path = path }
        let rebuilt = Set(restored.paths.keys)
        var checked = Array(repeating: CheckedFrame(), count: decoded.count)
        if let authentication {
            let verified = restored.verified
            // Ed25519 verification is most of the cost of a page: split across the cores, each part
            // checking the head of a batch it holds once. Read through an immutable copy, released
            // before the envelopes are dropped below (in place, not copied).
            checked = { (frames: [DecodedFrame]) in
                ParallelFill.fill(frames.count) { range, put in
                    var batches = VerifiedBatches()
                    for index in range {
                        guard let arrived = frames[index].signed else { put(index, CheckedFrame()); continue }
                        // A personal part withheld by a relay but sealed to this node: opened before the check.
                        let opening = authentication.mayOpenSealedPersonal(arrived) ? authentication.openingSealedPersonalReporting(arrived) : nil
                        let opened = opening?.version
                        do throws(ValidationError) {
                            try authentication.verify(opened ?? arrived, envelope: frames[index].envelope, headVerified: verified.contains(index), batches: &batches)
                            put(index, CheckedFrame(opened: opened, forgedSeal: opening?.forged ?? false))
                        } catch {
                            put(index, CheckedFrame(refusal: Refusal(key: arrived.version.key.description, error: error)))
                        }
                    }
                }
            }(decoded)
        }
        // The envelopes have served: a page read ahead is held while the one before it is written.
        for index in decoded.indices where decoded[index].envelope != nil { decoded[index].envelope = nil }
        return DecodedPage(decoded: decoded, checked: checked, rebuilt: rebuilt)
    }

    /// Holds a payload that could not even be mapped (an adapter's unparseable native record),
    /// with the reason.
    public func quarantine(source: StreamID, recordKey: String?, payload: [UInt8], error: ValidationError) async throws(StoreError) {
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds
        try await write("quarantine a record from \(source)") { db in
            var session = try WriteSession(db: db, key: key, path: path, source: source, now: now, maxClockSkew: skew, events: self.sessionEvents)
            try session.quarantine(recordKey: recordKey, payload: payload, error: error)
        }
    }
}

/// Wakes long-polling feed readers when a write changed records (not for checkpoint-only or
/// quarantine-only writes, which would otherwise wake peers for nothing).
private extension Replica {
    func notifyingIfChanged(_ result: ([WriteOutcome], Bool)) -> [WriteOutcome] {
        if result.1 { headWatch.notify() }
        return result.0
    }
}
