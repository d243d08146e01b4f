public import HanaroCore
import Foundation

/// 신용보증기금's odcloud-style items (Korean keys) → canonical programs. Keys: `서비스ID`,
/// `서비스명`, `지원내용` (lines joined by `||`, entity-escaped), `지원대상` (`||`), `신청기한`
/// (`상시신청` or a range, kept), `소관기관명`, `상세조회URL`, `전화문의`, `지원분야` (name),
/// `지원한도` (KRW), `지역코드` and `업종코드` (`||`), `사용여부`, `수정일시` (`yyyyMMddHHmmss`).
public enum KODITMapping {
    public static func position(_ item: [String: Any]) -> AdapterCursor? {
        guard let id = JSONItems.text(item, "서비스ID"), let stamp = JSONItems.text(item, "수정일시").flatMap(AgencyTimestamp.init(parsing:)) else { return nil }
        return AdapterCursor(updatedAt: stamp, id: id)
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: Any]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .kodit, nativeID: try NativeCleaning.required(JSONItems.text(item, "서비스ID"), field: "서비스ID"),
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(JSONItems.text(item, "서비스명"), field: "서비스명")))
        record.summary = NativeCleaning.lines(NativeCleaning.multiValues(JSONItems.text(item, "지원내용").map { $0.replacingOccurrences(of: ",", with: "\u{1}") })
            .map { NativeCleaning.decodingEntities($0.replacingOccurrences(of: "\u{1}", with: ",")) }.joined(separator: "\n"))
        record.institution = NativeCleaning.present(JSONItems.text(item, "소관기관명"))
        record.category = NativeCleaning.present(JSONItems.text(item, "지원분야")).flatMap(SupportCategory.init(codeOrName:))
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(NativeCleaning.multiValues(JSONItems.text(item, "지역코드")), field: "지역코드"),
            industries: try NativeCleaning.industries(NativeCleaning.multiValues(JSONItems.text(item, "업종코드")), field: "업종코드"),
            targets: NativeCleaning.multiValues(JSONItems.text(item, "지원대상")).map(TargetType.init(label:)))
        record.period = ApplicationPeriod(parsing: NativeCleaning.present(JSONItems.text(item, "신청기한")))
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(JSONItems.text(item, "지원한도"), field: "지원한도"))
        record.url = NativeCleaning.present(JSONItems.text(item, "상세조회URL"))
        record.contact = NativeCleaning.present(JSONItems.text(item, "전화문의"))
        record.isDeleted = NativeCleaning.flag(JSONItems.text(item, "사용여부")) == false
        try record.validate(as: record.key)
        return record
    }
}
