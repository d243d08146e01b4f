/// 지원분야 — the 기업마당 support-field categories.
public enum SupportCategory: String, CaseIterable, Sendable, Hashable, Codable {
    case finance = "01"        // 금융
    case technology = "02"     // 기술
    case workforce = "03"      // 인력
    case export = "04"         // 수출
    case domestic = "05"       // 내수
    case startup = "06"        // 창업
    case management = "07"     // 경영
    case other = "09"          // 기타

    /// The Korean label used by 기업마당.
    public var koreanName: String {
        switch self {
        case .finance: "금융"
        case .technology: "기술"
        case .workforce: "인력"
        case .export: "수출"
        case .domestic: "내수"
        case .startup: "창업"
        case .management: "경영"
        case .other: "기타"
        }
    }

    /// Maps a code (`01`) or a Korean label (`금융`); nil when neither matches.
    public init?(codeOrName text: String) {
        let trimmed = text.trimmingASCIIWhitespace
        if let byCode = SupportCategory(rawValue: trimmed) {
            self = byCode
        } else if let byName = SupportCategory.allCases.first(where: { $0.koreanName == trimmed }) {
            self = byName
        } else {
            return nil
        }
    }
}

/// Who a program targets. The six kinds seen across the agencies, and the agency's own words
/// for anything else.
public enum TargetType: Hashable, Sendable, CanonicalEncodable {
    case smallBusiness        // 소상공인
    case sme                  // 중소기업
    case prospectiveFounder   // 예비창업자
    case socialEnterprise     // 사회적기업
    case disabledOwned        // 장애인기업
    case womenOwned           // 여성기업
    case other(String)

    private static let known: [(TargetType, String)] = [
        (.smallBusiness, "소상공인"), (.sme, "중소기업"), (.prospectiveFounder, "예비창업자"),
        (.socialEnterprise, "사회적기업"), (.disabledOwned, "장애인기업"), (.womenOwned, "여성기업"),
    ]

    /// Maps an agency's label; unknown labels are kept as `.other`.
    public init(label: String) {
        let trimmed = label.trimmingASCIIWhitespace
        self = Self.known.first(where: { $0.1 == trimmed })?.0 ?? .other(trimmed)
    }

    /// The Korean label.
    public var label: String {
        if case .other(let text) = self { return text }
        return Self.known.first(where: { $0.0 == self })!.1
    }

    public func encode(to writer: inout CanonicalWriter) { writer.write(label) }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        self.init(label: try reader.readString())
    }
}

/// Who may apply for a program. Empty lists and unbounded ranges mean "no restriction". Lists are
/// kept sorted and de-duplicated, also when assigned, so that equal eligibility has equal canonical
/// bytes on every replica.
public struct Eligibility: Hashable, Sendable, CanonicalEncodable {
    /// 시도/시군구 where the business must be located; empty = nationwide.
    public var regions: [RegionCode] { didSet { regions = Array(Set(regions)).sorted() } }
    /// KSIC industries admitted; empty = all industries.
    public var industries: [KSICCode] { didSet { industries = Array(Set(industries)).sorted() } }
    /// Business age, in months since opening.
    public var businessAgeMonths: BoundedRange
    /// Annual revenue, KRW.
    public var revenueKRW: BoundedRange
    /// Regular employees.
    public var employees: BoundedRange
    /// Owner's age, years.
    public var ownerAge: BoundedRange
    /// Target types; empty = any.
    public var targets: [TargetType]

    public init(
        regions: [RegionCode] = [], industries: [KSICCode] = [],
        businessAgeMonths: BoundedRange = .unbounded, revenueKRW: BoundedRange = .unbounded,
        employees: BoundedRange = .unbounded, ownerAge: BoundedRange = .unbounded,
        targets: [TargetType] = []
    ) {
        // Sorted and de-duplicated so that equal eligibility has equal bytes on every replica.
        self.regions = Array(Set(regions)).sorted()
        self.industries = Array(Set(industries)).sorted()
        self.businessAgeMonths = businessAgeMonths
        self.revenueKRW = revenueKRW
        self.employees = employees
        self.ownerAge = ownerAge
        self.targets = targets
    }

    /// - Throws: `.invalidRange` naming the range that is inverted or negative.
    public func validate() throws(ValidationError) {
        try businessAgeMonths.validate(field: "eligibility.businessAgeMonths")
        try revenueKRW.validate(field: "eligibility.revenueKRW")
        try employees.validate(field: "eligibility.employees")
        try ownerAge.validate(field: "eligibility.ownerAge")
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeArray(regions) { $0.write($1) }
        writer.writeArray(industries) { $0.write($1) }
        writer.write(businessAgeMonths)
        writer.write(revenueKRW)
        writer.write(employees)
        writer.write(ownerAge)
        writer.writeArray(targets) { $0.write($1) }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        self.init(
            regions: try reader.readArray { (r: inout CanonicalReader) throws(ValidationError) in try RegionCode(from: &r) },
            industries: try reader.readArray { (r: inout CanonicalReader) throws(ValidationError) in try KSICCode(from: &r) },
            businessAgeMonths: try reader.read(),
            revenueKRW: try reader.read(),
            employees: try reader.read(),
            ownerAge: try reader.read(),
            targets: try reader.readArray { (r: inout CanonicalReader) throws(ValidationError) in try TargetType(from: &r) }
        )
    }
}
