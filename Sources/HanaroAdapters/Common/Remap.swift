import Foundation
public import HanaroCore

extension AdapterFactory {
    /// Maps a quarantined native program payload again (an admin's retry after the mapping or
    /// the data was fixed): a JSON object, an XML `<item>`, or a kamco CSV row.
    /// - Throws: ``ValidationError`` when it still cannot be mapped.
    public static func remapProgram(agency: AgencyID, raw: [UInt8]) throws(ValidationError) -> ProgramRecord {
        switch agency {
        case .semas, .kodit, .ewpc:
            guard let item = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
                throw ValidationError(.malformed, "the quarantined payload is not a JSON object")
            }
            switch agency {
            case .semas: return try SEMASMapping.program(item)
            case .kodit: return try KODITMapping.program(item)
            default: return try EWPCMapping.program(item)
            }
        case .koreg, .kinfa:
            let envelope = "<response><header><resultCode>00</resultCode></header><body><items>" + String(decoding: raw, as: UTF8.self) + "</items><totalCount>1</totalCount></body></response>"
            guard let item = (try? DataGoKrEnvelope.parse(Array(envelope.utf8), agency: agency))?.items.first else {
                throw ValidationError(.malformed, "the quarantined payload is not an XML <item>")
            }
            return agency == .koreg ? try KOREGMapping.program(item) : try KINFAMapping.program(item)
        case .kamco:
            let header = KAMCOMapping.columns.joined(separator: ",")
            let text = header + "\r\n" + String(decoding: raw, as: UTF8.self) + "\r\n"
            guard let bytes = text.data(using: KAMCOAdapter.cp949),
                  let row = (try? KAMCOAdapter.parseExport(Array(bytes), file: "quarantine.csv", columns: KAMCOMapping.columns))?.first else {
                throw ValidationError(.malformed, "the quarantined payload is not a CSV row of the export")
            }
            return try KAMCOMapping.program(row.fields)
        }
    }

    /// Maps a quarantined native referral event again (a status change that arrived before its
    /// referral, retried once the referral is in the replica).
    /// - Throws: ``ValidationError`` when it still cannot be mapped.
    public static func remapReferralEvent(agency: AgencyID, raw: [UInt8]) throws(ValidationError) -> ReferralEvent {
        let fields: [String: String]
        switch agency {
        case .semas, .kodit, .ewpc:
            guard let item = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
                throw ValidationError(.malformed, "the quarantined payload is not a JSON object")
            }
            fields = item.compactMapValues { $0 is NSNull ? nil : "\($0)" }
        case .koreg, .kinfa:
            let envelope = "<response><header><resultCode>00</resultCode></header><body><items>" + String(decoding: raw, as: UTF8.self) + "</items><totalCount>1</totalCount></body></response>"
            guard let item = (try? DataGoKrEnvelope.parse(Array(envelope.utf8), agency: agency))?.items.first else {
                throw ValidationError(.malformed, "the quarantined payload is not an XML <item>")
            }
            fields = item
        case .kamco:
            let header = ["evntId", "evntTy", "rfrlId", "orgnAgency", "trgtAgency", "sttsCd", "rmk", "updtDt"] + ReferralWireFields.created
            let text = header.joined(separator: ",") + "\r\n" + String(decoding: raw, as: UTF8.self) + "\r\n"
            guard let bytes = text.data(using: KAMCOAdapter.cp949),
                  let row = (try? KAMCOAdapter.parseExport(Array(bytes), file: "quarantine.csv", columns: ["evntId"]))?.first else {
                throw ValidationError(.malformed, "the quarantined payload is not a CSV row of the referral export")
            }
            fields = row.fields
        }
        return try ReferralCodec.event(fields, agency: agency)
    }
}

/// The referral fields of a new referral, in the order the CSV export lists them.
enum ReferralWireFields {
    static let created = ["cntrNm", "bzentyNm", "brno", "addr", "rgnCd", "ksicCd", "needCtgry", "needCn",
                          "cnsntScope", "cnsntPrps", "cnsntEndDe", "ownrNm", "mblTelno", "pgmKey"]
}
