/// One native item as read from an agency: its position in the stream, its raw bytes (kept in
/// quarantine if it cannot be mapped) and the canonical record it maps to, or why it does not.
public struct AdapterItem<Record: Sendable>: Sendable {
    /// Its (updated-at, id) position: the cursor after taking it.
    public var position: AdapterCursor
    /// The native payload (one JSON object, one XML `<item>`, one CSV row as UTF-8) of an item
    /// that could not be mapped; empty for a mapped one (the store then keeps its key if it is
    /// refused later).
    public var raw: [UInt8]
    /// The mapped record, or the mapping error (the item goes to quarantine).
    public var mapped: Result<Record, ValidationError>

    public init(position: AdapterCursor, raw: [UInt8], mapped: Result<Record, ValidationError>) {
        self.position = position
        self.raw = raw
        self.mapped = mapped
    }
}

/// One page of a signposted read, to be stored in one transaction together with ``cursor``.
public struct AdapterPage<Record: Sendable>: Sendable {
    /// The items taken from this page, in stream order (items at or before the previous cursor,
    /// or at or after the signpost, are already left out).
    public var items: [AdapterItem<Record>]
    /// Where the read stands after this page.
    public var cursor: AdapterCursor

    public init(items: [AdapterItem<Record>], cursor: AdapterCursor) {
        self.items = items
        self.cursor = cursor
    }
}

/// How a read ended.
public struct AdapterReadSummary: Sendable, Hashable {
    /// The cursor after the read.
    public var cursor: AdapterCursor
    /// The upper bound fixed before the read started: everything the agency had before it was read.
    public var signpost: AgencyTimestamp
    /// Items taken (mapped or quarantined).
    public var items: Int
    /// Pages fetched (including re-reads after the agency's pages shifted).
    public var pages: Int
    /// Times the read started again from its last position because the agency's pages shifted
    /// (a record changed while paging, a duplicated page).
    public var restarts: Int
    /// Why the stored cursor was set aside, when it was (a future or corrupt cursor): the read
    /// then started from the beginning.
    public var cursorReset: String?

    public init(cursor: AdapterCursor, signpost: AgencyTimestamp, items: Int, pages: Int, restarts: Int, cursorReset: String? = nil) {
        self.cursor = cursor
        self.signpost = signpost
        self.items = items
        self.pages = pages
        self.restarts = restarts
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
