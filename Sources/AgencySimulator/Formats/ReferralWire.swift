import HanaroCore

/// Referral events and intake documents as the agencies' referral APIs carry them: the same field
/// names everywhere (ours to define), JSON keys for some agencies, XML elements or CSV columns for
/// others.
enum ReferralWire {
    /// The fields of an event, all text (nil = null), with its stamp in the agency's style.
    static func fields(_ event: SimulatedReferralEvent, stamp: (AgencyTimestamp) -> String) -> [(String, String?)] {
        var out: [(String, String?)] = [
            ("evntId", event.id), ("evntTy", event.kind.rawValue), ("rfrlId", event.referralID),
            ("orgnAgency", event.origin.rawValue), ("trgtAgency", event.target.rawValue),
            ("sttsCd", event.status), ("rmk", event.note), ("updtDt", stamp(event.updatedAt)),
        ]
        for name in ReferralWireField.created { out.append((name, event.kind == .created ? event.fields[name] : nil)) }
        return out
    }

    /// The column names of a CSV referral export.
    static var columns: [String] {
        ["evntId", "evntTy", "rfrlId", "orgnAgency", "trgtAgency", "sttsCd", "rmk", "updtDt"] + ReferralWireField.created
    }
}
