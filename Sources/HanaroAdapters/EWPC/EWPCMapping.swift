public import HanaroCore

/// 고용24-style training courses → canonical programs (지원분야 인력). Fields: `trprId` +
/// `trprDegr` (course and round: the native id `trprId-trprDegr`), `title`, `subTitle`
/// (institution), `traStartDate`/`traEndDate` (`YYYYMMDD`), `trngAreaCd` (`|`-joined region
/// codes), `courseMan` (fee covered, KRW), `titleLink`, `telNo`, `useYn`, `lastUpdtDt`.
public enum EWPCMapping {
    public static func position(_ item: [String: Any]) -> AdapterCursor? {
        guard let course = JSONItems.text(item, "trprId"), let stamp = JSONItems.text(item, "lastUpdtDt").flatMap(AgencyTimestamp.init(parsing:)) else { return nil }
        return AdapterCursor(updatedAt: stamp, id: "\(course)-\(JSONItems.text(item, "trprDegr") ?? "1")")
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord {
        let course = try NativeCleaning.required(JSONItems.text(item, "trprId"), field: "trprId")
        var record = ProgramRecord(owner: .ewpc, nativeID: "\(course)-\(NativeCleaning.present(JSONItems.text(item, "trprDegr")) ?? "1")",
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
