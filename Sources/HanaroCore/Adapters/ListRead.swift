/// The paging logic of one read of an agency's list, as a pure state machine: it says which page
/// to fetch next and what to do with each item served; the adapter does the IO.
///
/// Every agency API pages by position (`startRow`, `pageNo`, `page`). A read is one of two kinds:
///
/// - **Incremental** (the format carries a per-item update stamp, such as `updtPnttm` or
///   `수정일시`): items with `since <= stamp < signpost` are taken, where the signpost is the
///   agency's clock when the read started; anything changed while the read pages is stamped at or
///   after the signpost and is taken by the next read. The cursor moves only when a read
///   completes, to the signpost.
/// - **Snapshot** (no per-item stamp): the whole list is read and the store decides what changed
///   by content. A complete snapshot also tells which items the agency no longer lists.
///
/// What a read tolerates, each by construction rather than by re-reading:
///
/// - items without an id, or (incremental) with an unreadable stamp: quarantined, and counted in
///   the paging arithmetic like every other served item, so one bad item never shifts a page;
///   once per read — served again in a later pass (by its id, or its payload when it has none),
///   it is skipped;
/// - an empty page or a data.go.kr `NODATA` answer: the end of the list when nothing more is
///   expected (a total of 0, none reported, or the items served in this pass reach it); while the
///   reported total says more, the read ends **incomplete** (``incompleteReason``): an agency that
///   answers "no data" in the middle of its list has not shown the rest of it;
/// - where the store decides by content (``init(_:pageSize:storeDecides:)``, program lists): an item
///   whose stamp cannot be read, or that is stamped at or after the signpost (in the agency's
///   future), is taken; an unstamped item makes the read's cursor the beginning, so the reads after
///   it go through the whole list until every item carries a stamp;
/// - a server that ignores the filter parameters (sends everything again) or its sort order: items
///   at or before the cursor are skipped — counted ``alreadyRead``: an earlier read took them, and
///   what it made of them stands —, items at or after the signpost wait, and an item already taken
///   in this read is skipped (de-duplication by id), so no order is assumed;
/// - a server that serves fewer items than asked (a capped page size): followed with the size it
///   serves. Only the first page of a pass tells a cap: once it came back full at the size asked,
///   a short page later is the end of the list, whatever total the agency reported (an
///   overstated `totalCount` is not re-read at ever smaller sizes);
/// - a list that changes while it is paged (its total moves, a page comes twice): the read goes
///   through the list again from its first page — a bounded number of times — and takes what it
///   had not taken, so an item that slid into a page already read is not lost.
public struct ListRead: Sendable {
    /// Which kind of read.
    public enum Kind: Sendable, Hashable {
        /// Items updated in `[cursor, signpost)`, ordered by (stamp, id) only for the cursor.
        case incremental(after: AdapterCursor, signpost: AgencyTimestamp)
        /// The whole list.
        case snapshot
    }

    /// What an item's update stamp looked like.
    public enum Stamp: Sendable, Hashable {
        /// The format has none (snapshot formats).
        case none
        case at(AgencyTimestamp)
        /// The format has one, but this item's cannot be read.
        case unreadable
    }

    /// One item as served: its id (nil when unreadable) and its stamp.
    public struct Served: Sendable, Hashable {
        public var id: String?
        public var stamp: Stamp
        /// For an item without an id: its payload (canonical bytes), by which the read knows it
        /// again when a later pass serves it; nil when not given (each one served is quarantined).
        public var content: [UInt8]?

        public init(id: String?, stamp: Stamp, content: [UInt8]? = nil) {
            self.id = id
            self.stamp = stamp
            self.content = content
        }
    }

    /// What to do with a served item.
    public enum Decision: Sendable, Hashable {
        /// Map and store it.
        case take
        /// Leave it: already taken in this read or an earlier one, or for the next read.
        case skip
        /// Quarantine it with this reason (no id, unreadable stamp).
        case quarantine(String)
    }

    /// The page to fetch.
    public struct Request: Sendable, Hashable {
        /// Filter bounds for incremental reads (an API may ignore them).
        public var since: AgencyTimestamp?
        public var until: AgencyTimestamp?
        public var offset: Int
        public var limit: Int
        /// 1-based page number, for APIs that page by number (`offset` is a multiple of `limit`).
        public var pageNumber: Int { offset / limit + 1 }
    }

    /// Reads through the list again at most this often before it gives up as incomplete.
    public static let maxRestarts = 5

    public let kind: Kind
    /// Whether the store recognises what it holds by content (program lists): then an item needs
    /// no readable stamp to be taken, and one stamped after the signpost is taken now (and again,
    /// unchanged, by the next read) rather than left waiting. Referral events keep their order by
    /// their stamps, so theirs must be readable.
    public let storeDecides: Bool
    /// Items per page; lowered to what the agency serves when it caps the page size.
    public private(set) var pageSize: Int
    public private(set) var pages = 0
    public private(set) var restarts = 0
    /// Items served, and items taken, quarantined.
    public private(set) var served = 0
    public private(set) var quarantined = 0
    /// Items (by id) an incremental read skipped because an earlier read took them: at or before
    /// the cursor, sent again by a server that ignores the filter. They are part of what the
    /// agency served, already held, so a read's verdict counts them (a bad item served again
    /// beside them is not all of the list).
    public var alreadyRead: Int { alreadyReadIDs.count }
    /// The ids counted in ``alreadyRead``.
    public var alreadyReadIDs: Set<String> { readBefore.subtracting(taken) }
    public private(set) var isFinished = false
    /// Whether the read went through the whole list (it did not give up on a shifting one).
    public private(set) var isComplete = false
    /// Why a finished read is incomplete: the list kept moving, or the agency answered no data on
    /// a page while its reported total said more.
    public private(set) var incompleteReason: String?
    /// Ids taken although their stamp could not be read (``storeDecides``): while there are any,
    /// the read's cursor is the beginning (the whole list is read again next time).
    public private(set) var unstamped: Set<String> = []
    /// Ids taken although stamped at or after the signpost (``storeDecides``).
    public private(set) var afterSignpost: Set<String> = []
    /// Ids taken in this read (for a snapshot: every listed id it could read).
    public private(set) var taken: Set<String> = []
    /// Ids the agency served in this read, taken or not (a snapshot's membership).
    public private(set) var listed: Set<String> = []
    private var offset = 0
    private var total: Int?
    /// Ids served in this pass through the list (a page made only of these came twice).
    private var seenThisPass: Set<String> = []
    /// Ids skipped as taken by an earlier read (see ``alreadyRead``).
    private var readBefore: Set<String> = []
    /// What this read quarantined for no readable stamp (ids) or no id (payloads): quarantined
    /// once per read, however many passes serve it.
    private var refusedIDs: Set<String> = []
    private var refusedContent: Set<[UInt8]> = []

    public init(_ kind: Kind, pageSize: Int, storeDecides: Bool = false) {
        self.kind = kind
        self.pageSize = max(1, pageSize)
        self.storeDecides = storeDecides
    }

    /// The cursor to store once the read is finished: the signpost of a complete incremental read
    /// (everything before it was taken), or nil — keep the stored one (a snapshot, or an
    /// incomplete read, which the next read repeats; the store recognises what it holds). A
    /// complete read that took items without a readable stamp stores the beginning: those items
    /// cannot be placed after any cursor, and a filtered read might never serve them again, so
    /// the next read goes through the whole list (the store decides by content what changed).
    public var finalCursor: AdapterCursor? {
        guard isFinished, isComplete, case .incremental(_, let signpost) = kind else { return nil }
        return unstamped.isEmpty ? AdapterCursor(updatedAt: signpost, id: "") : .beginning
    }

    /// The next page to fetch, or nil when the read is finished.
    public var nextRequest: Request? {
        guard !isFinished else { return nil }
        switch kind {
        case .incremental(let after, let signpost):
            return Request(since: after == .beginning ? nil : after.updatedAt, until: signpost, offset: offset, limit: pageSize)
        case .snapshot:
            return Request(since: nil, until: nil, offset: offset, limit: pageSize)
        }
    }

    /// Takes an answer to ``nextRequest``: its items in the order served, and the total the agency
    /// reported (nil when its answer has none, e.g. `NODATA`).
    /// - Returns: one decision per served item.
    public mutating func receive(_ items: [Served], total newTotal: Int?) -> [Decision] {
        pages += 1
        served += items.count
        let firstOfPass = offset == 0
        let shifted = !items.isEmpty && total != nil && newTotal != nil && total != newTotal
        let repeated = !items.isEmpty && items.allSatisfy { $0.id.map(seenThisPass.contains) ?? false }
        var decisions: [Decision] = []
        decisions.reserveCapacity(items.count)
        for item in items {
            let decision = decide(item)
            if case .quarantine = decision { quarantined += 1 }
            if let id = item.id { seenThisPass.insert(id) }
            decisions.append(decision)
        }
        // Nothing more, as the agency says: a total of 0.
        if newTotal == 0 { return finish(complete: true, decisions) }
        if items.isEmpty {
            // An empty page (NODATA, an empty list) ends the list when nothing more is expected:
            // no total reported, or the items served in this pass reach it. A total that moved
            // (the list shrank while it was read) means positions shifted: go through again.
            if let total, let newTotal, total != newTotal { return restart(decisions) }
            guard let expected = newTotal ?? total, offset < expected else { return finish(complete: true, decisions) }
            return finish(complete: false, decisions,
                          reason: "the agency answered no data on page \(offset / pageSize + 1) while its totalCount was \(expected) (\(offset) items read); what was read is stored, the cursor did not move, nothing was closed, and the next read goes through the list again")
        }
        if let newTotal { total = newTotal }
        offset += items.count
        if shifted || repeated {
            // The list moved under us (or a page came twice): go through it again from the top;
            // what was taken stays taken, what slid into a page already read is found this time.
            return restart(decisions)
        }
        if let total, offset >= total { return finish(complete: true, decisions) }
        if items.count < pageSize {
            // A short page. As the first of a pass, with more reported: a capped page size — page
            // numbers no longer line up; go through again with the size served. Any later one is
            // the end of the list: the first page came back full at this size, so nothing caps it
            // below, and the total the agency reported overstates the list.
            guard firstOfPass, let total, offset < total else { return finish(complete: true, decisions) }
            pageSize = items.count
            return restart(decisions, counting: false)
        }
        return decisions
    }

    /// Decides on items that come without paging (one file of an export): no page arithmetic.
    public mutating func decideAll(_ items: [Served]) -> [Decision] {
        served += items.count
        return items.map { item in
            let decision = decide(item)
            if case .quarantine = decision { quarantined += 1 }
            return decision
        }
    }

    private mutating func decide(_ item: Served) -> Decision {
        guard let id = item.id else {
            if let content = item.content, !refusedContent.insert(content).inserted { return .skip }
            return .quarantine("the item has no readable id")
        }
        listed.insert(id)
        if case .incremental(let after, let signpost) = kind {
            guard case .at(let stamp) = item.stamp else {
                if storeDecides {
                    // Read as a snapshot item: the store decides by content what changed.
                    guard taken.insert(id).inserted else { return .skip }
                    unstamped.insert(id)
                    return .take
                }
                guard refusedIDs.insert(id).inserted else { return .skip }
                return .quarantine("the item's updated-at stamp cannot be read, so it cannot be placed after the cursor")
            }
            if stamp >= signpost {
                // Changed while the read pages, or stamped in the agency's future. The next read
                // takes it (its stamp is after the cursor this read stores); where the store
                // decides by content it is taken now too, so that an item stamped months ahead
                // is not held back until then.
                guard storeDecides else { return .skip }
                guard taken.insert(id).inserted else { return .skip }
                afterSignpost.insert(id)
                return .take
            }
            if !(after < AdapterCursor(updatedAt: stamp, id: id)) {
                readBefore.insert(id)
                return .skip
            }
        }
        guard taken.insert(id).inserted else { return .skip }
        return .take
    }

    private mutating func restart(_ decisions: [Decision], counting: Bool = true) -> [Decision] {
        if counting { restarts += 1 }
        if restarts > Self.maxRestarts {
            return finish(complete: false, decisions, reason: "the agency's list kept moving or repeating pages while it was read (\(restarts) passes); what was read is stored, nothing was closed, and the next read goes through it again")
        }
        offset = 0
        total = nil
        seenThisPass = []
        return decisions
    }

    private mutating func finish(complete: Bool, _ decisions: [Decision], reason: String? = nil) -> [Decision] {
        isFinished = true
        isComplete = complete
        incompleteReason = complete ? nil : reason
        return decisions
    }
}
