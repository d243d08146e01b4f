public import HanaroCore

/// 한국자산관리공사's daily CSV export rows → canonical programs, through a column mapping: which
/// header holds which canonical field. Only the id and the title are required; every other
/// column is optional, in any order. The mapping is `adapter.columns` of `agencies/kamco.yaml`
/// (canonical field → header), and where a field is not configured, the first header present
/// among its known names (``aliases``). An amount column's unit is read from its header:
/// `지원한도(만원)` is in 만원.
public enum KAMCOMapping {
    /// The canonical fields a column can hold.
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case id, title, summary, targets, regions, industries, period, start, end, amount, rate, institution, contact, deleted
    }

    /// The headers each field is known by, in order of preference.
    public static let aliases: [Field: [String]] = [
        .id: ["관리번호", "사업번호", "ID", "id"],
        .title: ["사업명", "프로그램명", "공고명"],
        .summary: ["사업내용", "세부내용", "내용"],
        .targets: ["지원대상"],
        .regions: ["지역코드", "대상지역", "지역"],
        .industries: ["업종코드"],
        .period: ["신청기간", "접수기간"],
        .start: ["신청시작일"],
        .end: ["신청종료일"],
        .amount: ["지원한도금액", "지원한도(만원)", "지원한도(원)", "지원한도"],
        .rate: ["금리(%)", "금리"],
        .institution: ["담당부서", "소관부서"],
        .contact: ["연락처", "문의처"],
        .deleted: ["삭제여부"],
    ]

    /// Which header holds each field in an export with `header`.
    /// - Parameter configured: `adapter.columns` (field name → header).
    /// - Throws: `.schema` naming what is missing when the id or the title has no column.
    public static func resolve(header: [String], configured: [String: String], file: String) throws(AdapterError) -> [Field: String] {
        let present = Set(header)
        var columns: [Field: String] = [:]
        for field in Field.allCases {
            if let name = configured[field.rawValue] {
                if present.contains(name) { columns[field] = name }
            } else if let name = aliases[field]?.first(where: present.contains) {
                columns[field] = name
            }
        }
        let missing = [Field.id, .title].filter { columns[$0] == nil }
        guard missing.isEmpty else {
            let wanted = missing.map { field in configured[field.rawValue].map { "\"\($0)\"" } ?? aliases[field]!.map { "\"\($0)\"" }.joined(separator: " or ") }
            throw AdapterError(.schema, agency: .kamco, "\(file) has no column for \(missing.map(\.rawValue).joined(separator: " and ")) (looked for \(wanted.joined(separator: "; "))); its header is \(header.joined(separator: ",")) — map the columns in agencies/kamco.yaml adapter.columns")
        }
        return columns
    }

    /// The row's id, when readable.
    public static func id(_ row: [String: String], columns: [Field: String]) -> String? {
        columns[.id].flatMap { NativeCleaning.present(row[$0]) }
    }

    /// - Throws: ``ValidationError`` naming the column that cannot be mapped.
    public static func program(_ row: [String: String], columns: [Field: String]) throws(ValidationError) -> ProgramRecord {
        func value(_ field: Field) -> String? { columns[field].flatMap { row[$0] } }
        func name(_ field: Field) -> String { columns[field] ?? field.rawValue }
        var record = ProgramRecord(owner: .kamco, nativeID: try NativeCleaning.required(value(.id), field: name(.id)),
                                   title: NativeCleaning.singleLine(NativeCleaning.decodingEntities(try NativeCleaning.required(value(.title), field: name(.title)))))
        record.summary = NativeCleaning.lines(value(.summary) ?? "")
        record.institution = NativeCleaning.present(value(.institution))
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(namesOrCodes: NativeCleaning.multiValues(value(.regions)), field: name(.regions)),
            industries: try NativeCleaning.industries(NativeCleaning.multiValues(value(.industries)), field: name(.industries)),
            targets: NativeCleaning.multiValues(value(.targets)).map(TargetType.init(label:)))
        if columns[.period] != nil {
            record.period = ApplicationPeriod(parsing: NativeCleaning.present(value(.period)))
        } else {
            let start = try NativeCleaning.date(value(.start), field: name(.start))
            let endText = NativeCleaning.present(value(.end))
            let end = endText.flatMap(LocalDate.init(parsing:))
            if start == nil, end == nil, let endText {
                record.period = ApplicationPeriod(text: endText)
            } else if let endText, end == nil {
                throw ValidationError(.malformed, field: name(.end), "\(name(.end)) \"\(endText.prefix(30))\" is not a date")
            } else {
                record.period = ApplicationPeriod(start: start, end: end)
            }
        }
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(value(.amount), field: name(.amount),
                                                                             unit: NativeCleaning.amountUnit(ofHeader: name(.amount))))
        record.rateBasisPoints = try NativeCleaning.rateRange(value(.rate), field: name(.rate))
        record.contact = NativeCleaning.present(value(.contact))
        record.isDeleted = NativeCleaning.flag(value(.deleted)) == true
        try record.validate(as: record.key)
        return record
    }
}
