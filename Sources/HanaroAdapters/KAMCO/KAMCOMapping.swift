public import HanaroCore

/// 한국자산관리공사's daily CSV export rows → canonical programs. Columns: 관리번호, 사업명,
/// 사업내용 (multi-line), 지원대상 (`|`), 지역코드 (`|`, legacy mapped), 업종코드 (`|`), 신청시작일 /
/// 신청종료일 (`2026.01.01`, `20260101`, or free text in 신청종료일, kept), 지원한도금액
/// (`50,000,000`), 금리(%) (`2.0~3.5`), 담당부서, 연락처, 삭제여부 (Y/N), 등록일시, 수정일시.
public enum KAMCOMapping {
    public static let columns = ["관리번호", "사업명", "사업내용", "지원대상", "지역코드", "업종코드", "신청시작일", "신청종료일",
                                 "지원한도금액", "금리(%)", "담당부서", "연락처", "삭제여부", "등록일시", "수정일시"]

    public static func position(_ row: [String: String]) -> AdapterCursor? {
        guard let id = NativeCleaning.present(row["관리번호"]), let stamp = row["수정일시"].flatMap(AgencyTimestamp.init(parsing:)) else { return nil }
        return AdapterCursor(updatedAt: stamp, id: id)
    }

    /// - Throws: ``ValidationError`` naming the column that cannot be mapped.
    public static func program(_ row: [String: String]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .kamco, nativeID: try NativeCleaning.required(row["관리번호"], field: "관리번호"),
                                   title: try NativeCleaning.required(row["사업명"], field: "사업명"))
        record.summary = NativeCleaning.lines(row["사업내용"] ?? "")
        record.institution = NativeCleaning.present(row["담당부서"])
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(NativeCleaning.multiValues(row["지역코드"]), field: "지역코드"),
            industries: try NativeCleaning.industries(NativeCleaning.multiValues(row["업종코드"]), field: "업종코드"),
            targets: NativeCleaning.multiValues(row["지원대상"]).map(TargetType.init(label:)))
        let start = try NativeCleaning.date(row["신청시작일"], field: "신청시작일")
        let endText = NativeCleaning.present(row["신청종료일"])
        let end = endText.flatMap(LocalDate.init(parsing:))
        if start == nil, end == nil, let endText {
            record.period = ApplicationPeriod(text: endText)
        } else if let endText, end == nil {
            throw ValidationError(.malformed, field: "신청종료일", "신청종료일 \"\(endText.prefix(30))\" is not a date")
        } else {
            record.period = ApplicationPeriod(start: start, end: end)
        }
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(row["지원한도금액"], field: "지원한도금액"))
        record.rateBasisPoints = try NativeCleaning.rateRange(row["금리(%)"], field: "금리(%)")
        record.contact = NativeCleaning.present(row["연락처"])
        record.isDeleted = NativeCleaning.flag(row["삭제여부"]) == true
        try record.validate(as: record.key)
        return record
    }
}
