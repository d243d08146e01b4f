/// Whether a program currently takes applications, as its owner publishes it.
public enum ProgramStatus: UInt8, Sendable, Hashable, CaseIterable, Codable {
    case unknown = 0
    case upcoming = 1
    case open = 2
    case closed = 3
}

/// A support program (지원사업 / 공고) as its owner agency publishes it: the canonical form every
/// adapter maps its native format to.
///
/// Every field belongs to the owner agency: only the owner authors program versions. Deleting a
/// program keeps its last content and sets ``isDeleted`` (a tombstone), so that a delete racing an
/// edit is a visible conflict rather than a silent loss or a silent resurrection.
public struct ProgramRecord: Hashable, Sendable, CanonicalEncodable {
    /// The agency that publishes the program.
    public var owner: AgencyID
    /// The agency's own id (`pbancSn`, `pblancId`, `서비스ID`, ...).
    public var nativeID: String
    /// 공고명.
    public var title: String
    /// Plain-text summary (HTML stripped, entities decoded by the adapter).
    public var summary: String
    /// 지원분야, when the agency states it.
    public var category: SupportCategory?
    /// The institution in charge (소관기관 / 수행기관), when different from the owner.
    public var institution: String?
    /// Who may apply.
    public var eligibility: Eligibility
    /// When applications are accepted.
    public var period: ApplicationPeriod
    /// Support amount per business, KRW.
    public var supportAmountKRW: BoundedRange
    /// Interest or guarantee rate, basis points (1 bp = 0.01 %).
    public var rateBasisPoints: BoundedRange
    /// The public page of the program.
    public var url: String?
    /// Contact (phone of the program office, never a person's personal phone).
    public var contact: String?
    /// Whether it currently takes applications.
    public var status: ProgramStatus
    /// The tombstone: the owner withdrew the program.
    public var isDeleted: Bool

    public init(
        owner: AgencyID, nativeID: String, title: String, summary: String = "",
        category: SupportCategory? = nil, institution: String? = nil,
        eligibility: Eligibility = Eligibility(), period: ApplicationPeriod = ApplicationPeriod(),
        supportAmountKRW: BoundedRange = .unbounded, rateBasisPoints: BoundedRange = .unbounded,
        url: String? = nil, contact: String? = nil, status: ProgramStatus = .unknown, isDeleted: Bool = false
    ) {
        self.owner = owner
        self.nativeID = nativeID
        self.title = title
        self.summary = summary
        self.category = category
        self.institution = institution
        self.eligibility = eligibility
        self.period = period
        self.supportAmountKRW = supportAmountKRW
        self.rateBasisPoints = rateBasisPoints
        self.url = url
        self.contact = contact
        self.status = status
        self.isDeleted = isDeleted
    }

    /// The record key of this program.
    public var key: RecordKey { RecordKey(kind: .program, owner: owner, localID: nativeID) }

    /// The names of the fields whose values differ between two contents: what a conflict
    /// report names.
    public func differingFields(from other: ProgramRecord) -> [String] {
        var fields: [String] = []
        if title != other.title { fields.append("title") }
        if summary != other.summary { fields.append("summary") }
        if category != other.category { fields.append("category") }
        if institution != other.institution { fields.append("institution") }
        if eligibility != other.eligibility { fields.append("eligibility") }
        if period != other.period { fields.append("period") }
        if supportAmountKRW != other.supportAmountKRW { fields.append("supportAmountKRW") }
        if rateBasisPoints != other.rateBasisPoints { fields.append("rateBasisPoints") }
        if url != other.url { fields.append("url") }
        if contact != other.contact { fields.append("contact") }
        if status != other.status { fields.append("status") }
        if isDeleted != other.isDeleted { fields.append("deleted") }
        return fields
    }

    /// Field order: owner, nativeID, title, summary, category, institution, eligibility, period,
    /// supportAmountKRW, rateBasisPoints, url, contact, status, isDeleted.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(UInt8(owner.index))
        writer.write(nativeID)
        writer.write(title)
        writer.write(summary)
        writer.write(category?.rawValue)
        writer.write(institution)
        writer.write(eligibility)
        writer.write(period)
        writer.write(supportAmountKRW)
        writer.write(rateBasisPoints)
        writer.write(url)
        writer.write(contact)
        writer.write(status.rawValue)
        writer.write(isDeleted)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        owner = try reader.readAgency()
        nativeID = try reader.readString()
        title = try reader.readString()
        summary = try reader.readString()
        let categoryCode = try reader.readOptionalString()
        if let categoryCode {
            guard let parsed = SupportCategory(rawValue: categoryCode) else {
                throw ValidationError(.malformed, field: "category", "unknown 지원분야 code \(categoryCode)")
            }
            category = parsed
        } else {
            category = nil
        }
        institution = try reader.readOptionalString()
        eligibility = try reader.read()
        period = try reader.read()
        supportAmountKRW = try reader.read()
        rateBasisPoints = try reader.read()
        url = try reader.readOptionalString()
        contact = try reader.readOptionalString()
        let statusByte = try reader.readByte()
        guard let status = ProgramStatus(rawValue: statusByte) else {
            throw ValidationError(.malformed, field: "status", "unknown program status \(statusByte)")
        }
        self.status = status
        isDeleted = try reader.readBool()
    }
}

extension Optional: CanonicalEncodable where Wrapped: CanonicalEncodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeOptional(self) { $1.encode(to: &$0) }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        self = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try Wrapped(from: &r) }
    }
}

extension ProgramRecord {
    /// Where applications stand on `day` (the Agency API's `status`, "as of today"): closed when
    /// the agency closed it (an early close when the budget runs out) or after the period's last
    /// day, upcoming before its first day, open between; without dates, the agency's own status
    /// (상시 programs are published as open). The stored status is the agency's word at the time it
    /// was read, so a period that ended since would otherwise still read `open`.
    public func status(on day: LocalDate) -> ProgramStatus {
        if status == .closed { return .closed }
        guard period.start != nil || period.end != nil else { return status }
        if let end = period.end, end < day { return .closed }
        if let start = period.start, day < start { return .upcoming }
        return .open
    }
}
