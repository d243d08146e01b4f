public import HanaroCore

/// 고용24 training courses → canonical programs (지원분야 인력). The list has no per-item update
/// stamp: ewpc is read as snapshots. Fields: `trprId` + `trprDegr` (course and round: one course
/// has a row per round, so the native id is `trprId-trprDegr`), `title` (entity-escaped),
/// `subTitle` (institution), `traStartDate`/`traEndDate` (`YYYY-MM-DD`, older data `YYYYMMDD`),
/// `trngAreaCd` (region codes, legacy mapped, `|`-joined), `courseMan` (fee, `1,250,000`),
/// `titleLink`, `telNo`; text `"Null"` is an absent value. Unknown extra fields are ignored.
public enum EWPCMapping {
    public static func id(_ item: [String: Any]) -> String? {
        guard let course = NativeCleaning.present(JSONItems.text(item, "trprId")) else { return nil }
        return "\(course)-\(NativeCleaning.present(JSONItems.text(item, "trprDegr")) ?? "1")"
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord {
        _ = try NativeCleaning.required(JSONItems.text(item, "trprId"), field: "trprId")
        var record = ProgramRecord(owner: .ewpc, nativeID: id(item) ?? "",
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(JSONItems.text(item, "title"), field: "title")))
        record.institution = NativeCleaning.present(JSONItems.text(item, "subTitle"))
        record.category = .workforce
        record.eligibility = Eligibility(regions: try NativeCleaning.regions(NativeCleaning.multiValues(JSONItems.text(item, "trngAreaCd")), field: "trngAreaCd"))
        record.period = ApplicationPeriod(start: try NativeCleaning.date(JSONItems.text(item, "traStartDate"), field: "traStartDate"),
                                          end: try NativeCleaning.date(JSONItems.text(item, "traEndDate"), field: "traEndDate"))
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(JSONItems.text(item, "courseMan"), field: "courseMan"))
        record.url = NativeCleaning.present(JSONItems.text(item, "titleLink"))
        record.contact = NativeCleaning.present(JSONItems.text(item, "telNo"))
        record.isDeleted = NativeCleaning.flag(JSONItems.text(item, "useYn")) == false
        try record.validate(as: record.key)
        return record
    }
}
