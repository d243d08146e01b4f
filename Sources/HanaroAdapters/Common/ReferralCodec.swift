import Foundation
public import HanaroCore

/// Referral events and deliveries in the agencies' referral APIs (ours to define, the same field
/// names everywhere — see docs/ADAPTERS.md): text fields, JSON keys for some agencies, XML
/// elements or CSV columns for others.
public enum ReferralCodec {
    /// The fields of a new referral, in the order the CSV export lists them.
    static let createdFields = ["cntrNm", "bzentyNm", "brno", "addr", "rgnCd", "ksicCd", "needCtgry", "needCn",
                                "cnsntScope", "cnsntPrps", "cnsntEndDe", "ownrNm", "mblTelno", "pgmKey"]

    /// The update stamp of an event (`updtDt`).
    static func stamp(_ fields: [String: String]) -> ListRead.Stamp {
        fields["updtDt"].flatMap(AgencyTimestamp.init(parsing:)).map { .at($0) } ?? .unreadable
    }

    /// Maps an event read from `agency`'s feed.
    /// - Throws: ``ValidationError`` naming the field that cannot be mapped.
    public static func event(_ f: [String: String], agency: AgencyID) throws(ValidationError) -> ReferralEvent {
        let referralID = try NativeCleaning.required(f["rfrlId"], field: "rfrlId")
        guard let origin = f["orgnAgency"].flatMap(AgencyID.init(rawValue:)) else {
            throw ValidationError(.unknownAgency, field: "orgnAgency", "orgnAgency \"\(f["orgnAgency"] ?? "")\" is not an agency id")
        }
        guard let target = f["trgtAgency"].flatMap(AgencyID.init(rawValue:)) else {
            throw ValidationError(.unknownAgency, field: "trgtAgency", "trgtAgency \"\(f["trgtAgency"] ?? "")\" is not an agency id")
        }
        switch f["evntTy"] {
        case "created":
            guard origin == agency else {
                throw ValidationError(.unauthorizedAuthor, field: "orgnAgency", "\(agency.rawValue)'s feed announces a referral created by \(origin.rawValue)")
            }
            let business = BusinessInfo(
                tradeName: try NativeCleaning.required(f["bzentyNm"], field: "bzentyNm"),
                businessNumber: try BusinessNumber(try NativeCleaning.required(f["brno"], field: "brno")),
                address: NativeCleaning.present(f["addr"]) ?? "",
                region: try NativeCleaning.present(f["rgnCd"]).map { (code: String) throws(ValidationError) in try RegionCode(code) },
                industry: try NativeCleaning.present(f["ksicCd"]).map { (code: String) throws(ValidationError) in try KSICCode(code) })
            var consent: Consent?
            if let purpose = NativeCleaning.present(f["cnsntPrps"]) {
                let retainUntil: LocalDate
                if let date = try NativeCleaning.date(f["cnsntEndDe"], field: "cnsntEndDe") { retainUntil = date } else {
                    throw ValidationError(.consentMissing, field: "cnsntEndDe", "consent without a retention end (cnsntEndDe)")
                }
                consent = Consent(scope: NativeCleaning.multiValues(f["cnsntScope"]), recipient: target, purpose: purpose,
                                  retainUntil: retainUntil,
                                  recordedAt: HLCTimestamp(millisecondsSince1970: UInt64(max(0, (AgencyTimestamp(parsing: f["updtDt"] ?? "")?.secondsSince1970 ?? 0) * 1000))))
            }
            var personal: PersonalFields?
            if let name = NativeCleaning.present(f["ownrNm"]), let phone = NativeCleaning.present(f["mblTelno"]) {
                personal = PersonalFields(ownerName: name, phone: phone)
            }
            let needs = ReferralNeeds(categories: NativeCleaning.multiValues(f["needCtgry"]).compactMap(SupportCategory.init(codeOrName:)),
                                      summary: NativeCleaning.present(f["needCn"]) ?? "")
            let program = try NativeCleaning.present(f["pgmKey"]).map { (text: String) throws(ValidationError) in try RecordKey(parsing: text) }
            return .created(ReferralDraft(referralID: referralID, target: target, originCentre: NativeCleaning.present(f["cntrNm"]) ?? agency.koreanName,
                                          business: business, needs: needs, program: program, consent: consent, personal: personal))
        case "status":
            guard let status = ReferralStatus(name: f["sttsCd"] ?? "") else {
                throw ValidationError(.malformed, field: "sttsCd", "sttsCd \"\(f["sttsCd"] ?? "")\" is not a referral status")
            }
            return .status(referral: RecordKey(kind: .referral, owner: origin, localID: referralID), status, note: NativeCleaning.present(f["rmk"]))
        default:
            throw ValidationError(.malformed, field: "evntTy", "evntTy \"\(f["evntTy"] ?? "")\" is neither created nor status")
        }
    }

    /// The fields of a delivery, in a stable order.
    public static func fields(_ d: ReferralDelivery) -> [(String, String)] {
        var out: [(String, String)] = [
            ("rfrlId", d.key.localID), ("orgnAgency", d.origin.rawValue), ("trgtAgency", d.target.rawValue),
            ("cntrNm", d.originCentre), ("sttsCd", d.status.name),
            ("bzentyNm", d.business.tradeName), ("brno", d.business.businessNumber.digits), ("addr", d.business.address),
            ("rgnCd", d.business.region?.code ?? ""), ("ksicCd", d.business.industry?.code ?? ""),
            ("needCtgry", d.needs.categories.map(\.rawValue).joined(separator: ",")), ("needCn", d.needs.summary),
            ("pgmKey", d.program?.description ?? ""),
            ("rmk", d.notes.joined(separator: "\n")),
        ]
        if let consent = d.consent {
            out += [("cnsntScope", consent.scope.joined(separator: ",")), ("cnsntPrps", consent.purpose),
                    ("cnsntEndDe", String(format: "%04d%02d%02d", consent.retainUntil.year, consent.retainUntil.month, consent.retainUntil.day))]
        }
        if let personal = d.personal {
            out += [("ownrNm", personal.ownerName), ("mblTelno", personal.phone)]
        }
        return out
    }

    /// A delivery as a JSON object.
    static func json(_ d: ReferralDelivery) -> [UInt8] {
        let object = Dictionary(fields(d), uniquingKeysWith: { $1 })
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [])) ?? Data("{}".utf8))
    }

    /// A delivery as an XML `<rfrl>` document.
    static func xml(_ d: ReferralDelivery) -> [UInt8] {
        var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rfrl>"
        for (name, value) in fields(d) {
            let escaped = value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            text += "<\(name)>\(escaped)</\(name)>"
        }
        return Array((text + "</rfrl>").utf8)
    }
}
