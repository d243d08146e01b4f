public import HanaroCore

/// 소상공인24 list items → canonical programs. The list carries no per-item update stamp (its
/// `regDt`/`mdfcnDt` are null outside the detail call), so semas is read as snapshots. Fields:
/// `pbancSn` (numeric id), `pbancNm` (entity-escaped), `rcptPd{from,to}` (`2026-01-01 00:00`),
/// `rcrtTypeCd` (a 지원분야 code when it is one), `aplyPsbltySe` (`Y`/`N`, `신청가능`, `EX`),
/// business age in years (`stngBgngBhisCnt`/`stngEndBhisCnt`), employees (`...WrkrNope`), revenue
/// (`...SlsAmt`, KRW), `ctpvCd` and `sggCd` (comma lists, legacy codes mapped), `tpbizCd`
/// (`@`-joined KSIC), `jrsdInstNm` (also spelled `jrsdInsttNm`), `hstgNm`, `detailUrl`, `delYn`/`useYn`.
/// Every field but the id and the title may be missing or null.
public enum SEMASMapping {
    /// The item's id, when readable.
    public static func id(_ item: [String: Any]) -> String? { NativeCleaning.present(JSONItems.text(item, "pbancSn")) }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord {
        let id = try NativeCleaning.required(JSONItems.text(item, "pbancSn"), field: "pbancSn")
        var record = ProgramRecord(owner: .semas, nativeID: id,
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(JSONItems.text(item, "pbancNm"), field: "pbancNm")))
        record.institution = NativeCleaning.present(JSONItems.text(item, "jrsdInstNm")) ?? NativeCleaning.present(JSONItems.text(item, "jrsdInsttNm"))
        record.category = NativeCleaning.present(JSONItems.text(item, "rcrtTypeCd")).flatMap(SupportCategory.init(codeOrName:))
        let regions = NativeCleaning.multiValues(JSONItems.text(item, "ctpvCd")) + NativeCleaning.multiValues(JSONItems.text(item, "sggCd"))
        func years(_ key: String) -> Int64? { JSONItems.int(item, key).map { $0 * 12 } }
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(regions, field: "ctpvCd"),
            industries: try NativeCleaning.industries(NativeCleaning.multiValues(JSONItems.text(item, "tpbizCd")), field: "tpbizCd"),
            businessAgeMonths: BoundedRange(min: years("stngBgngBhisCnt"), max: years("stngEndBhisCnt")),
            revenueKRW: BoundedRange(min: JSONItems.int(item, "stngBgngSlsAmt"), max: JSONItems.int(item, "stngEndSlsAmt")),
            employees: BoundedRange(min: JSONItems.int(item, "stngBgngWrkrNope"), max: JSONItems.int(item, "stngEndWrkrNope")))
        if let period = item["rcptPd"] as? [String: Any] {
            record.period = ApplicationPeriod(start: try NativeCleaning.date(JSONItems.text(period, "from"), field: "rcptPd.from"),
                                              end: try NativeCleaning.date(JSONItems.text(period, "to"), field: "rcptPd.to"))
        }
        switch NativeCleaning.present(JSONItems.text(item, "aplyPsbltySe")) {
        case "Y", "신청가능": record.status = .open
        case "N", "EX", "마감": record.status = .closed
        default: record.status = .unknown
        }
        record.url = NativeCleaning.present(JSONItems.text(item, "detailUrl"))
        record.isDeleted = NativeCleaning.flag(JSONItems.text(item, "delYn")) == true || NativeCleaning.flag(JSONItems.text(item, "useYn")) == false
        try record.validate(as: record.key)
        return record
    }
}
