public import HanaroCore

/// A referral event in an agency's own system: a counsellor referred an owner out (`created`), or
/// moved a referral's status. The agency's referral feed serves these, ordered by (updated-at, id).
public struct SimulatedReferralEvent: Sendable, Hashable {
    public enum Kind: String, Sendable { case created, status }
    /// `EV` + a zero-padded sequence number.
    public var id: String
    public var kind: Kind
    public var referralID: String
    public var origin: AgencyID
    public var target: AgencyID
    public var status: String?
    public var note: String?
    /// For `created`: the referral as the counsellor typed it.
    public var fields: [String: String]
    public var updatedAt: AgencyTimestamp

    public var position: AdapterCursor { AdapterCursor(updatedAt: updatedAt, id: id) }
}

/// The field names of a referral in the agencies' referral feeds and intakes (ours to define:
/// none of the agencies publishes a referral API). JSON agencies use them as keys, XML agencies
/// as element names.
public enum ReferralWireField {
    public static let created: [String] = [
        "cntrNm", "bzentyNm", "brno", "addr", "rgnCd", "ksicCd", "needCtgry", "needCn",
        "cnsntScope", "cnsntPrps", "cnsntEndDe", "ownrNm", "mblTelno", "pgmKey",
    ]
}
