/// One of the six partner institutions of the one-stop platform.
///
/// The set is governed: it changes only by agreement between the institutions, never by a node
/// on its own. It is also the actor set of every ``VersionVector``, which is why entries are
/// never pruned: an agency that has authored anything keeps its counter for ever.
///
/// The raw value is the lower-case id used in configuration files, certificates (SAN) and record
/// keys. The declaration order is the canonical order used by encodings and tie-breaks; append
/// new institutions at the end only.
public enum AgencyID: String, CaseIterable, Sendable, Hashable, Codable, Comparable {
    /// 소상공인시장진흥공단 — Small Enterprise and Market Service.
    case semas
    /// 신용보증재단중앙회 — Korea Federation of Credit Guarantee Foundations.
    case koreg
    /// 신용보증기금 — Korea Credit Guarantee Fund.
    case kodit
    /// 한국자산관리공사 — Korea Asset Management Corporation.
    case kamco
    /// 서민금융진흥원 — Korea Inclusive Finance Agency.
    case kinfa
    /// 고용복지플러스센터 — Employment Welfare Plus Center.
    case ewpc

    /// The position of this agency in the canonical order (0-based, stable).
    @inlinable
    public var index: Int {
        switch self {
        case .semas: 0
        case .koreg: 1
        case .kodit: 2
        case .kamco: 3
        case .kinfa: 4
        case .ewpc: 5
        }
    }

    /// The agency at a canonical position, or nil outside the governed set.
    @inlinable
    public init?(index: Int) {
        switch index {
        case 0: self = .semas
        case 1: self = .koreg
        case 2: self = .kodit
        case 3: self = .kamco
        case 4: self = .kinfa
        case 5: self = .ewpc
        default: return nil
        }
    }

    /// The institution's Korean name.
    public var koreanName: String {
        switch self {
        case .semas: "소상공인시장진흥공단"
        case .koreg: "신용보증재단중앙회"
        case .kodit: "신용보증기금"
        case .kamco: "한국자산관리공사"
        case .kinfa: "서민금융진흥원"
        case .ewpc: "고용복지플러스센터"
        }
    }

    /// The institution's English name.
    public var englishName: String {
        switch self {
        case .semas: "Small Enterprise and Market Service"
        case .koreg: "Korea Federation of Credit Guarantee Foundations"
        case .kodit: "Korea Credit Guarantee Fund"
        case .kamco: "Korea Asset Management Corporation"
        case .kinfa: "Korea Inclusive Finance Agency"
        case .ewpc: "Employment Welfare Plus Center"
        }
    }

    public static func < (lhs: AgencyID, rhs: AgencyID) -> Bool { lhs.index < rhs.index }

    /// Parses an agency id, throwing a ``ValidationError`` that lists the valid ids.
    /// - Throws: ``ValidationError`` with code `.unknownAgency`.
    public static func parse(_ text: String, field: String = "agency") throws(ValidationError) -> AgencyID {
        guard let id = AgencyID(rawValue: text) else {
            throw ValidationError(
                .unknownAgency,
                field: field,
                "unknown agency \"\(text)\"; expected one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return id
    }
}
