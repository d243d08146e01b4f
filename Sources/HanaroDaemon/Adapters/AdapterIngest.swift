public import HanaroCore
public import HanaroStore
import HanaroAdapters

/// Moves data between one agency's native API (through its ``AgencyAdapter``) and the replica,
/// keeping the invariants: every page's records, quarantined items and cursor are stored in one
/// transaction; a page the store refuses stops the read with nothing skipped; deliveries follow
/// the replica's change feed from a checkpoint that only advances past delivered referrals.
///
/// Streams (checkpoint names): `adapter:<id>:programs`, `adapter:<id>:referrals` (adapter cursors),
/// `adapter:<id>:outbound` (a change-feed sequence). A snapshot's membership is kept by the store
/// (``Replica/recordSnapshot(of:listed:closeAfterMisses:)``).
public struct AdapterIngest: Sendable {
    public let adapter: any AgencyAdapter
    public let replica: Replica
    public let pageSize: Int
    /// Whether the agency's referral-event feed is read (only where one is configured).
    public let readsReferralEvents: Bool

    public init(adapter: any AgencyAdapter, replica: Replica, pageSize: Int = 100, readsReferralEvents: Bool = false) {
        self.adapter = adapter
        self.replica = replica
        self.pageSize = pageSize
        self.readsReferralEvents = readsReferralEvents
    }

    public var agency: AgencyID { adapter.agency }
    var programStream: StreamID { .adapter(agency, .programs) }
    var referralStream: StreamID { .adapter(agency, .referrals) }
    var outboundStream: StreamID { .adapter(agency, .outbound) }

    /// What one read of an agency stored.
    public struct Outcome: Sendable, Hashable {
        /// How the read went (pages, complete or not, a snapshot or not).
        public var summary: AdapterReadSummary
        /// Items that made a new version, that the replica already held as they are, that were
        /// quarantined (by the adapter: no id, no readable stamp, unmappable; or by the store's
        /// rules), and programs closed for being absent from two complete snapshots.
        public var applied = 0
        public var unchanged = 0
        public var quarantined = 0
        public var closed = 0
        /// Items an incremental read skipped as taken by an earlier read (a server that ignores
        /// the filter sends them again): held already, not stored again.
        public var alreadyRead = 0
        /// Of the items skipped as read before, those an earlier read quarantined and that are
        /// still held there: the agency sent them again, and they are no more usable than then.
        public var alreadyRefused = 0

        /// Items the read could use: applied, already held as they are, or taken by an earlier
        /// read and not held in quarantine. A repeated bad item beside the agency's good ones is
        /// then judged against the whole of what it served, whether or not its server honours
        /// the filter — and a list of bad items sent again is as unusable as the first time.
        public var usable: Int { applied + unchanged + alreadyRead }
        /// Items the read could not use: quarantined now, or by an earlier read and sent again.
        public var refused: Int { quarantined + alreadyRefused }
    }

    /// Reads the agency's programs — those changed since the stored cursor, or its whole list
    /// where its format has no update stamp (all of them with `full`) — and records them as this
    /// agency's edits. After a complete snapshot, the programs it stopped listing are closed.
    /// - Throws: ``AdapterError`` (`.store` when the replica refused a page).
    @discardableResult
    public func ingestPrograms(full: Bool = false, progress: (@Sendable (Int) async -> Void)? = nil) async throws(AdapterError) -> Outcome {
        let (cursor, corrupt) = try await storedCursor(programStream, full: full)
        let agency = self.agency, replica = self.replica, stream = programStream
        var counts = Outcome(summary: AdapterReadSummary(cursor: cursor, signpost: .distantPast, isSnapshot: false, isComplete: false,
                                                         served: 0, items: 0, quarantined: 0, pages: 0, restarts: 0))
        var pipeline = PagePipeline(agency: agency, replica: replica, memo: adapter.snapshotMemo)
        var summary: AdapterReadSummary
        if let memo = adapter.snapshotMemo { memo.begin(token: try await programsToken(), full: full) }
        do {
            summary = try await adapter.readPrograms(after: cursor, pageSize: pageSize) { (page) async throws(AdapterError) in
                let edits = page.items.map { item -> AuthoredEdit in
                    switch item.mapped {
                    case .success(let record): AuthoredEdit(key: record.key, edit: .publishProgram(record), raw: item.raw)
                    case .failure(let error):
                        AuthoredEdit(key: item.nativeID.map { RecordKey(kind: .program, owner: agency, localID: $0) },
                                     refused: Self.located(error, item), raw: item.raw)
                    }
                }
                try await pipeline.submit(edits, checkpoint: page.cursor.map { Checkpoint(stream: stream, value: $0.text) }, memoRequest: page.memoRequest,
                                          into: &counts, progress: progress)
            }
            try await pipeline.drain(into: &counts, progress: progress)
        } catch {
            await pipeline.settle()
            adapter.snapshotMemo?.abandon()
            throw error
        }
        if summary.cursorReset == nil { summary.cursorReset = corrupt }
        counts.unchanged += summary.unchangedItems
        (counts.alreadyRead, counts.alreadyRefused) = try await splitAlreadyRead(summary.alreadyReadIDs)
        counts.summary = summary
        if summary.isSnapshot, summary.isComplete {
            do {
                counts.closed = try await replica.recordSnapshot(of: agency, listed: summary.listed).count
            } catch {
                adapter.snapshotMemo?.abandon()
                throw AdapterError(.store, agency: agency, "the replica refused the snapshot's membership: \(error)")
            }
            // What the pages looked like is what the replica now holds of them.
            if let memo = adapter.snapshotMemo { memo.commit(token: try await programsToken()) }
        } else {
            adapter.snapshotMemo?.abandon()
        }
        return counts
    }

    /// Reads the referral events (new referrals from this agency's counsellors, status changes)
    /// since the stored cursor and records them as this agency's edits. Only for an agency whose
    /// referral-event feed is configured: no agency publishes one.
    /// - Throws: ``AdapterError``.
    @discardableResult
    public func ingestReferralEvents(full: Bool = false, progress: (@Sendable (Int) async -> Void)? = nil) async throws(AdapterError) -> Outcome {
        let (cursor, corrupt) = try await storedCursor(referralStream, full: full)
        let agency = self.agency, replica = self.replica, stream = referralStream
        var counts = Outcome(summary: AdapterReadSummary(cursor: cursor, signpost: .distantPast, isSnapshot: false, isComplete: false,
                                                         served: 0, items: 0, quarantined: 0, pages: 0, restarts: 0))
        var summary = try await adapter.readReferralEvents(after: cursor, pageSize: pageSize) { (page) async throws(AdapterError) in
            var edits: [AuthoredEdit] = []
            for item in page.items {
                switch item.mapped {
                case .success(let event):
                    edits += Self.edits(for: event, agency: agency, raw: item.raw)
                case .failure(let error):
                    edits.append(AuthoredEdit(key: item.nativeID.map { RecordKey(kind: .referral, owner: agency, localID: $0) },
                                              refused: Self.located(error, item), raw: item.raw))
                }
            }
            let outcomes = try await Self.store(edits, agency: agency, replica: replica,
                                                checkpoint: page.cursor.map { Checkpoint(stream: stream, value: $0.text) })
            counts.add(outcomes)
            await progress?(page.items.count)
        }
        if summary.cursorReset == nil { summary.cursorReset = corrupt }
        counts.summary = summary
        return counts
    }

    /// The error of an item without an id says where it was served.
    static func located<Record>(_ error: ValidationError, _ item: AdapterItem<Record>) -> ValidationError {
        guard item.nativeID == nil else { return error }
        var located = error
        located.message = "\(error.message) (no id: \(item.location))"
        return located
    }

    /// The edits a referral event makes, by `agency`.
    public static func edits(for event: ReferralEvent, agency: AgencyID, raw: [UInt8]) -> [AuthoredEdit] {
        switch event {
        case .created(let draft):
            return [AuthoredEdit(key: RecordKey(kind: .referral, owner: agency, localID: draft.referralID), edit: .createReferral(draft), raw: raw)]
        case .status(let key, let status, let note):
            // The raw event travels with the edit: a status change for a referral this replica
            // does not hold yet (a restored node) is quarantined with it, and retried.
            var edits = [AuthoredEdit(key: key, edit: .setStatus(status), raw: raw)]
            if let note { edits.append(AuthoredEdit(key: key, edit: .addNote(note), raw: raw)) }
            return edits
        }
    }

    /// Delivers to the agency's intake every referral it takes part in (as origin or target) that
    /// changed since the last delivery, in change-feed order; stops at the first failure, so a
    /// failed delivery is retried first next time. A referral the intake refuses as such (HTTP
    /// 400, 409, 413, 415, 422: ``isRefusalOfTheItem(_:)``) is held in quarantine
    /// (`intake_refused`, under the outbound stream) and the ones after it go on: one referral the
    /// agency cannot take must not hold back every later one. It is delivered again by `hanaro
    /// quarantine retry` or with its next change, which releases the row when the intake takes it.
    /// - Returns: how many referrals were delivered.
    /// - Throws: ``AdapterError``.
    @discardableResult
    public func deliverOutbound(limit: Int = 500) async throws(AdapterError) -> Int {
        var after = try await outboundCursor()
        var delivered = 0
        var held: [String: Int64] = [:]
        do {
            for entry in try await replica.quarantine(state: .held, source: outboundStream, limit: 1000) {
                if let key = entry.recordKey { held[key] = entry.id }
            }
        } catch {
            throw AdapterError(.store, agency: agency, "cannot read the quarantine: \(error)")
        }
        while true {
            let page: ChangePage
            do { page = try await replica.changes(after: after, limit: limit) } catch {
                throw AdapterError(.store, agency: agency, "cannot read the replica's change feed: \(error)")
            }
            for change in page.changes {
                if let referral = change.version.referral, let delivery = Self.delivery(referral, to: agency) {
                    let key = referral.key.description
                    do {
                        try await adapter.deliver(delivery)
                    } catch where Self.isRefusalOfTheItem(error) {
                        try await holdRefused(key, error: error)
                        after = change.seq
                        continue
                    }
                    delivered += 1
                    if let id = held.removeValue(forKey: key) {
                        do { try await replica.releaseQuarantined(id: id) } catch {
                            throw AdapterError(.store, agency: agency, "cannot release quarantined item \(id): \(error)")
                        }
                    }
                }
                after = change.seq
            }
            if page.changes.isEmpty { break }
            try await Self.store([], agency: agency, replica: replica, checkpoint: Checkpoint(stream: outboundStream, value: String(after)))
            if !page.hasMore { break }
        }
        return delivered
    }

    /// Whether the intake refused the referral itself (its content), not the delivery: another
    /// referral may still go through. 404 (a wrong path), 401/403, 408, 429 and 5xx stop the queue.
    static func isRefusalOfTheItem(_ error: AdapterError) -> Bool {
        [400, 409, 413, 415, 422].contains(error.httpStatus ?? 0)
    }

    /// Holds a referral the intake refused: a quarantine row under the outbound stream whose
    /// payload is the record key (the referral itself stays in the replica, unchanged).
    func holdRefused(_ key: String, error: AdapterError) async throws(AdapterError) {
        let refusal = ValidationError(.intakeRefused, record: key,
                                      "\(agency.rawValue)'s intake refused this referral: \(error.message); the referrals after it were delivered — fix what the agency objects to, then `hanaro quarantine retry ID` (or the referral's next change) delivers it again")
        do { try await replica.quarantine(source: outboundStream, recordKey: key, payload: Array(key.utf8), error: refusal) } catch {
            throw AdapterError(.store, agency: agency, "cannot hold the refused referral \(key): \(error)")
        }
    }

    /// Delivers a held referral again (its current state); nil when the intake took it.
    public func redeliver(_ key: RecordKey) async -> String? {
        let version: RecordVersion?
        do { version = try await replica.record(key) } catch { return "cannot read \(key): \(error)" }
        guard let referral = version?.referral, let delivery = Self.delivery(referral, to: agency) else {
            return "\(key) is no longer a referral \(agency.rawValue) takes part in"
        }
        do { try await adapter.deliver(delivery) } catch { return error.message }
        return nil
    }

    /// Referrals this agency takes part in whose latest state it has not received yet (counted
    /// over at most `limit` changes after the delivery checkpoint).
    public func pendingOutbound(limit: Int = 100_000) async throws(StoreError) -> Int {
        let after = Int64(try await replica.checkpoint(outboundStream) ?? "0") ?? 0
        var count = 0
        var cursor = after
        var scanned = 0
        while scanned < limit {
            let page = try await replica.changes(after: cursor, limit: min(1000, limit - scanned))
            count += page.changes.filter { $0.version.referral?.role(of: agency) != nil }.count
            scanned += page.changes.count
            cursor = page.nextCursor
            if !page.hasMore || page.changes.isEmpty { break }
        }
        return count
    }

    /// What `agency`'s intake receives of a referral, or nil when it takes no part in it. Personal
    /// fields go only where the replica holds them (the origin, or the consented target).
    public static func delivery(_ referral: ReferralRecord, to agency: AgencyID) -> ReferralDelivery? {
        guard referral.role(of: agency) != nil else { return nil }
        return ReferralDelivery(
            key: referral.key, origin: referral.origin, target: referral.target, originCentre: referral.originCentre,
            business: referral.business.value, needs: referral.needs.value, program: referral.program.value, consent: referral.consent.value,
            personal: referral.mayHoldPersonalFields(agency) ? referral.personal.value.fields : nil, status: referral.status,
            notes: referral.notes.elements.sorted { $0.dot < $1.dot }.map(\.text))
    }

    /// Splits the items a read skipped as taken by an earlier read into those the replica could
    /// use and those still held in quarantine under this agency's source (an earlier read refused
    /// them; a server that ignores the filter sent them again).
    private func splitAlreadyRead(_ ids: Set<String>) async throws(AdapterError) -> (usable: Int, refused: Int) {
        guard !ids.isEmpty else { return (0, 0) }
        let held: [QuarantineEntry]
        do { held = try await replica.quarantine(state: .held, source: .adapter(agency), limit: 1_000_000) } catch {
            throw AdapterError(.store, agency: agency, "cannot read the quarantine: \(error)")
        }
        let keys = Set(ids.map { RecordKey(kind: .program, owner: agency, localID: $0).description })
        let refused = Set(held.compactMap(\.recordKey)).intersection(keys).count
        return (ids.count - refused, refused)
    }

    private func programsToken() async throws(AdapterError) -> String {
        do { return try await replica.programsToken(of: agency) } catch {
            throw AdapterError(.store, agency: agency, "cannot read the replica: \(error)")
        }
    }

    private func storedCursor(_ stream: StreamID, full: Bool) async throws(AdapterError) -> (AdapterCursor, String?) {
        if full { return (.beginning, nil) }
        let text: String?
        do { text = try await replica.checkpoint(stream) } catch {
            throw AdapterError(.store, agency: agency, "cannot read the cursor \(stream): \(error)")
        }
        guard let text else { return (.beginning, nil) }
        do { return (try AdapterCursor(text: text), nil) } catch {
            return (.beginning, "the stored cursor of \(stream) is corrupt (\(error.message)); reading everything again")
        }
    }

    private func outboundCursor() async throws(AdapterError) -> Int64 {
        do { return Int64(try await replica.checkpoint(outboundStream) ?? "0") ?? 0 } catch {
            throw AdapterError(.store, agency: agency, "cannot read the cursor \(outboundStream): \(error)")
        }
    }

    @discardableResult
    static func store(_ edits: [AuthoredEdit], agency: AgencyID, replica: Replica, checkpoint: Checkpoint?) async throws(AdapterError) -> [WriteOutcome] {
        do {
            return try await replica.author(edits, by: agency, source: .adapter(agency), checkpoint: checkpoint)
        } catch {
            throw AdapterError(.store, agency: agency, "the replica refused a page: \(error)")
        }
    }
}

/// Stores an adapter's pages one behind its reader: page n is written while page n+1 is fetched,
/// parsed and mapped (the agency's HTTP and our parsing overlap the SQLite transaction). At most
/// one page waits; pages are stored in order, each with its cursor, so a refused page stops the
/// read with nothing skipped: the page after it was fetched but never stored, and the cursor
/// stays where the last stored page left it.
struct PagePipeline {
    let agency: AgencyID
    let replica: Replica
    let memo: SnapshotPageMemo?
    private var pending: (task: Task<[WriteOutcome], any Error>, items: Int, memoRequest: String?)?

    init(agency: AgencyID, replica: Replica, memo: SnapshotPageMemo? = nil) {
        self.agency = agency
        self.replica = replica
        self.memo = memo
    }

    /// Waits for the page before, then starts storing this one.
    mutating func submit(_ edits: [AuthoredEdit], checkpoint: Checkpoint?, memoRequest: String? = nil, into counts: inout AdapterIngest.Outcome,
                         progress: (@Sendable (Int) async -> Void)?) async throws(AdapterError) {
        try await drain(into: &counts, progress: progress)
        let (agency, replica) = (self.agency, self.replica)
        pending = (Task { try await AdapterIngest.store(edits, agency: agency, replica: replica, checkpoint: checkpoint) }, edits.count, memoRequest)
    }

    /// Waits for the page being stored, if any, and counts what it stored. A page the store
    /// quarantined an item of is not one to skip next time.
    mutating func drain(into counts: inout AdapterIngest.Outcome, progress: (@Sendable (Int) async -> Void)?) async throws(AdapterError) {
        guard let (task, items, memoRequest) = pending else { return }
        pending = nil
        do {
            let outcomes = try await task.value
            if let memoRequest, outcomes.contains(where: { if case .quarantined = $0 { true } else { false } }) { memo?.forget(memoRequest) }
            counts.add(outcomes)
        } catch let error as AdapterError {
            throw error
        } catch {
            throw AdapterError(.store, agency: agency, "the replica refused a page: \(error)")
        }
        await progress?(items)
    }

    /// After a failed read: lets the page being stored finish (it was read whole; its cursor
    /// is its own) so that nothing is still writing when the read reports its failure.
    mutating func settle() async {
        _ = try? await pending?.task.value
        pending = nil
    }
}

extension AdapterIngest.Outcome {
    mutating func add(_ outcomes: [WriteOutcome]) {
        for outcome in outcomes {
            switch outcome {
            case .inserted, .replaced, .merged: applied += 1
            case .unchanged, .stale: unchanged += 1
            case .quarantined: quarantined += 1
            }
        }
    }
}
