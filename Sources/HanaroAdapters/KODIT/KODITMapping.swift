public import HanaroCore
import Foundation

/// 신용보증기금's services in the odcloud (gov24 `serviceList`) shape, Korean keys → canonical
/// programs. Keys: `서비스ID`, `서비스명`, `서비스목적요약`, `지원내용` and `지원대상` (multi-line text,
/// items sometimes joined by `||`, entity-escaped), `선정기준`, `신청기한` (`상시신청`, a range,
/// year-less `12.1.~12.31.`: kept as text when not a plain range), `소관기관명`, `부서명`,
/// `상세조회URL`, `전화문의` (`||`-joined), `수정일시` (`yyyyMMddHHmmss`, the incremental stamp);
/// optional, where the agency adds them: `지원분야` (기업마당 name), `지원한도` (KRW), `지역코드` and
/// `업종코드` (`||`), `사용여부`.
public enum KODITMapping {
    public static func id(_ item: [String: Any]) -> String? { NativeCleaning.present(JSONItems.text(item, "서비스ID")) }

    public static func stamp(_ item: [String: Any]) -> ListRead.Stamp {
        JSONItems.text(item, "수정일시").flatMap(AgencyTimestamp.init(parsing:)).map { .at($0) } ?? .unreadable
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .kodit, nativeID: try NativeCleaning.required(JSONItems.text(item, "서비스ID"), field: "서비스ID"),
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(JSONItems.text(item, "서비스명"), field: "서비스명")))
        func lines(_ key: String) -> String? {
            NativeCleaning.present(JSONItems.text(item, key)).map { $0.components(separatedBy: "||").map(NativeCleaning.decodingEntities).joined(separator: "\n") }
        }
        // 지원대상 is either a short list of target types (`소상공인||예비창업자`) or prose (`○ 재창업
        // 중소기업\r\n - 사업자등록 후 7년 이내`), which then belongs with the summary.
        let targetText = NativeCleaning.present(JSONItems.text(item, "지원대상"))
        let targetLabels = NativeCleaning.multiValues(targetText)
        let targetsAreLabels = targetText.map { !$0.contains("\n") && !$0.contains("○") } ?? true && targetLabels.allSatisfy { $0.count <= 20 }
        record.summary = NativeCleaning.lines([lines("지원내용"), targetsAreLabels ? nil : lines("지원대상")].compactMap { $0 }.joined(separator: "\n"))
        record.institution = NativeCleaning.present(JSONItems.text(item, "소관기관명"))
        record.category = NativeCleaning.multiValues(JSONItems.text(item, "지원분야")).first.flatMap(SupportCategory.init(codeOrName:))
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(namesOrCodes: NativeCleaning.multiValues(JSONItems.text(item, "지역코드")), field: "지역코드"),
            industries: try NativeCleaning.industries(NativeCleaning.multiValues(JSONItems.text(item, "업종코드")), field: "업종코드"),
            targets: targetsAreLabels ? targetLabels.map(TargetType.init(label:)) : [])
        record.period = ApplicationPeriod(parsing: NativeCleaning.present(JSONItems.text(item, "신청기한")))
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(JSONItems.text(item, "지원한도"), field: "지원한도"))
        record.url = NativeCleaning.present(JSONItems.text(item, "상세조회URL"))
        record.contact = NativeCleaning.present(JSONItems.text(item, "전화문의"))?.components(separatedBy: "||").first.map { $0.trimmingCharacters(in: .whitespaces) }
        record.isDeleted = NativeCleaning.flag(JSONItems.text(item, "사용여부")) == false
        try record.validate(as: record.key)
        return record
    }
}
