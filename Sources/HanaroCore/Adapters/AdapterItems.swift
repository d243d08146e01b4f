/// One native item as read from an agency: its own id (when it has a readable one), where it was
/// served, its native bytes (kept in quarantine if it is refused) and the canonical record it maps
/// to, or why it does not.
public struct AdapterItem<Record: Sendable>: Sendable {
    /// The agency's id of the item, or nil when it has none that can be read.
    public var nativeID: String?
    /// Where it was served (`page 2, item 4`): names an item that has no id.
    public var location: String
    /// The native payload in a canonical form (one JSON object with sorted keys, one XML `<item>`
    /// with its fields in name order, one CSV row as a JSON object): the same bytes whatever the
    /// key order the agency served, so that a repeated bad item is recognised. Empty for an item
    /// mapped and not needed again.
    public var raw: [UInt8]
    /// The mapped record, or why it could not be mapped (the item goes to quarantine).
    public var mapped: Result<Record, ValidationError>

    public init(nativeID: String?, location: String, raw: [UInt8], mapped: Result<Record, ValidationError>) {
        self.nativeID = nativeID
        self.location = location
        self.raw = raw
        self.mapped = mapped
    }
}

/// One page of a read, to be stored in one transaction together with ``cursor``.
public struct AdapterPage<Record: Sendable>: Sendable {
    /// The items taken or refused from this page, in the order served (items skipped — already
    /// read, for the next read, repeated — are left out).
    public var items: [AdapterItem<Record>]
    /// The cursor to store with this page, or nil to keep the stored one (a read moves its cursor
    /// only with its last page, once it is complete).
    public var cursor: AdapterCursor?
    /// The page's request in the adapter's ``SnapshotPageMemo``, when it noted the page there: if
    /// the store refuses an item of it, the caller forgets the page (``SnapshotPageMemo/forget(_:)``).
    public var memoRequest: String?

    public init(items: [AdapterItem<Record>], cursor: AdapterCursor?, memoRequest: String? = nil) {
        self.items = items
        self.cursor = cursor
        self.memoRequest = memoRequest
    }
}

/// How a read ended.
public struct AdapterReadSummary: Sendable, Hashable {
    /// The cursor after the read (the stored one when it did not move).
    public var cursor: AdapterCursor
    /// The agency's clock when the read started: everything it had before was read, if complete.
    public var signpost: AgencyTimestamp
    /// Whether the read covered the whole list (a snapshot), so that absent items can be told.
    public var isSnapshot: Bool
    /// Whether the read went through everything it had to (a snapshot: the whole list; an
    /// incremental read: every change before the signpost). An incomplete read moves no cursor
    /// and closes nothing.
    public var isComplete: Bool
    /// Items served by the agency, and of those: taken (mapped or not), quarantined for no id or
    /// no readable stamp, and refused by the mapping.
    public var served: Int
    public var items: Int
    public var quarantined: Int
    /// Pages fetched (including the passes made again after the list moved).
    public var pages: Int
    /// Times the read went through the list again because it moved while paged.
    public var restarts: Int
    /// The ids the agency listed (a snapshot's membership; empty for incremental reads).
    public var listed: Set<String>
    /// Why the stored cursor was set aside, when it was (a future or corrupt cursor): the read
    /// then started from the beginning.
    public var cursorReset: String?
    /// Pages whose body was the same as in the last complete snapshot (``SnapshotPageMemo``),
    /// and their items (counted in `items` too): listed, counted unchanged, not parsed or mapped
    /// again.
    public var unchangedPages = 0
    public var unchangedItems = 0
    /// Items an incremental read skipped because an earlier read took them (``ListRead/alreadyRead``):
    /// a server that ignores the filter sends them again. Not in `items`; held already.
    public var alreadyRead = 0
    /// Their ids: the caller tells those it holds from those it quarantined (an earlier read that
    /// refused an item does not make it usable when a server sends it again).
    public var alreadyReadIDs: Set<String> = []
    /// Why an incomplete read stopped (``ListRead/incompleteReason``).
    public var incompleteReason: String?
    /// Items taken without a readable update stamp (read as in a snapshot: the store decides by
    /// content; the cursor stays at the beginning while there are any), and items stamped ahead
    /// of the agency's clock as it answered (taken; they move no cursor), with one id of each as
    /// an example for the log.
    public var unstamped = 0
    public var aheadOfClock = 0
    public var unstampedExample: String?
    public var aheadOfClockExample: String?

    public init(cursor: AdapterCursor, signpost: AgencyTimestamp, isSnapshot: Bool, isComplete: Bool, served: Int, items: Int,
                quarantined: Int, pages: Int, restarts: Int, listed: Set<String> = [], cursorReset: String? = nil) {
        self.cursor = cursor
        self.signpost = signpost
        self.isSnapshot = isSnapshot
        self.isComplete = isComplete
        self.served = served
        self.items = items
        self.quarantined = quarantined
        self.pages = pages
        self.restarts = restarts
        self.listed = listed
        self.cursorReset = cursorReset
    }
}

/// What an agency's own system says happened to a referral: read from its referral feed and
/// recorded in the replica as an edit by that agency.
public enum ReferralEvent: Hashable, Sendable {
    /// A counsellor of the agency referred an owner to another agency (the agency is the origin).
    case created(ReferralDraft)
    /// The agency moved a referral's status (as target: received, in consultation, an outcome;
    /// as origin: withdrawn, closed), with an optional note.
    case status(referral: RecordKey, ReferralStatus, note: String?)
}

/// A referral as delivered to an agency's intake (its origin's or its target's system): what that
/// agency's counsellors need, and personal fields only where the replica holds them for it.
public struct ReferralDelivery: Hashable, Sendable {
    public var key: RecordKey
    public var origin: AgencyID
    public var target: AgencyID
    public var originCentre: String
    public var business: BusinessInfo
    public var needs: ReferralNeeds
    public var program: RecordKey?
    public var consent: Consent?
    /// Present only when the receiving agency is entitled to them (origin, or consented target).
    public var personal: PersonalFields?
    public var status: ReferralStatus
    public var notes: [String]

    public init(key: RecordKey, origin: AgencyID, target: AgencyID, originCentre: String, business: BusinessInfo,
                needs: ReferralNeeds, program: RecordKey?, consent: Consent?, personal: PersonalFields?,
                status: ReferralStatus, notes: [String]) {
        self.key = key
        self.origin = origin
        self.target = target
        self.originCentre = originCentre
        self.business = business
        self.needs = needs
        self.program = program
        self.consent = consent
        self.personal = personal
        self.status = status
        self.notes = notes
    }
}
