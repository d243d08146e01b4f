/// The referred business: business data, not personal data (a 개인사업자's business number is
/// business data under 개인정보보호법 guidance), stored in clear.
public struct BusinessInfo: Hashable, Sendable, CanonicalEncodable {
    /// 상호.
    public var tradeName: String
    /// 사업자등록번호, checksum-validated.
    public var businessNumber: BusinessNumber
    /// Business address (사업장 소재지).
    public var address: String
    /// Where the business is, for program matching.
    public var region: RegionCode?
    /// What it does, for program matching.
    public var industry: KSICCode?

    public init(tradeName: String, businessNumber: BusinessNumber, address: String = "", region: RegionCode? = nil, industry: KSICCode? = nil) {
        self.tradeName = tradeName
        self.businessNumber = businessNumber
        self.address = address
        self.region = region
        self.industry = industry
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(tradeName)
        writer.write(businessNumber)
        writer.write(address)
        writer.writeOptional(region) { $0.write($1) }
        writer.writeOptional(industry) { $0.write($1) }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        tradeName = try reader.readString()
        businessNumber = try reader.read()
        address = try reader.readString()
        region = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try RegionCode(from: &r) }
        industry = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try KSICCode(from: &r) }
    }
}

/// The owner's personal fields. Personal data under 개인정보보호법: encrypted at rest, never
/// logged (``description`` is redacted), never shown on the status port, purged at the end of the
/// consented retention period. 주민등록번호 is never among them.
public struct PersonalFields: Hashable, Sendable, CanonicalEncodable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The owner's name.
    public var ownerName: String
    /// The owner's personal phone.
    public var phone: String

    public init(ownerName: String, phone: String) {
        self.ownerName = ownerName
        self.phone = phone
    }

    /// Always redacted, so that string interpolation in a log line cannot leak the fields.
    public var description: String { "PersonalFields(<redacted>)" }
    public var debugDescription: String { description }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(ownerName)
        writer.write(phone)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        ownerName = try reader.readString()
        phone = try reader.readString()
    }
}

/// The owner's recorded consent to the transfer of personal data to the target agency
/// (개인정보 제3자 제공 동의): no consent, no transfer.
public struct Consent: Hashable, Sendable, CanonicalEncodable {
    /// The items consented to (`성명`, `연락처`, `사업자정보`, ...).
    public var scope: [String]
    /// The agency that may receive the data.
    public var recipient: AgencyID
    /// Why the data is transferred.
    public var purpose: String
    /// The last day the recipient may keep personal fields.
    public var retainUntil: LocalDate
    /// When the consent was recorded (wall-clock milliseconds).
    public var recordedAt: HLCTimestamp

    public init(scope: [String], recipient: AgencyID, purpose: String, retainUntil: LocalDate, recordedAt: HLCTimestamp) {
        self.scope = scope
        self.recipient = recipient
        self.purpose = purpose
        self.retainUntil = retainUntil
        self.recordedAt = recordedAt
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(scope)
        writer.write(UInt8(recipient.index))
        writer.write(purpose)
        writer.write(retainUntil)
        writer.write(recordedAt.rawValue)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        scope = try reader.readStrings()
        recipient = try reader.readAgency()
        purpose = try reader.readString()
        retainUntil = try reader.read()
        recordedAt = HLCTimestamp(rawValue: try reader.readUInt64())
    }
}

/// What the owner needs help with.
public struct ReferralNeeds: Hashable, Sendable, CanonicalEncodable {
    public var categories: [SupportCategory] { didSet { categories = Self.normalized(categories) } }
    /// The counsellor's summary of the need (no personal data; checked for 주민등록번호).
    public var summary: String

    public init(categories: [SupportCategory] = [], summary: String = "") {
        self.categories = Self.normalized(categories)
        self.summary = summary
    }

    static func normalized(_ categories: [SupportCategory]) -> [SupportCategory] {
        Array(Set(categories)).sorted { $0.rawValue < $1.rawValue }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeArray(categories) { $0.write($1.rawValue) }
        writer.write(summary)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let codes = try reader.readStrings()
        var categories: [SupportCategory] = []
        for code in codes {
            guard let c = SupportCategory(rawValue: code) else {
                throw ValidationError(.malformed, field: "needs.categories", "unknown 지원분야 code \(code)")
            }
            categories.append(c)
        }
        self.init(categories: categories, summary: try reader.readString())
    }
}

extension AgencyID: CanonicalEncodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(UInt8(index)) }
    public init(from reader: inout CanonicalReader) throws(ValidationError) { self = try reader.readAgency() }
}

/// What a node holds of a referral's personal fields.
///
/// Personal fields travel only to the parties of a referral that the owner consented to: the
/// origin (which recorded them) and the target named in the consent. Every other node receives the
/// referral with each personal write *withheld* — it learns that a write happened (its dot), never
/// its value — so referrals still relay through any node and every replica still agrees on the
/// shareable state.
public enum PersonalSlot: Hashable, Sendable, CanonicalEncodable, CustomStringConvertible {
    /// The fields themselves (on the origin, and on the target with consent).
    case fields(PersonalFields)
    /// Deleted by the origin (end of retention, or consent withdrawn).
    case purged
    /// Written, but not shared with this node.
    case withheld

    /// The fields, when this node holds them.
    public var fields: PersonalFields? {
        if case .fields(let fields) = self { return fields }
        return nil
    }

    /// What a node that is not entitled to the fields may hold.
    public var withholdingFields: PersonalSlot {
        if case .fields = self { return .withheld }
        return self
    }

    public var description: String {
        switch self {
        case .fields: "fields(<redacted>)"
        case .purged: "purged"
        case .withheld: "withheld"
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .purged: writer.write(UInt8(0))
        case .fields(let fields):
            writer.write(UInt8(1))
            fields.encode(to: &writer)
        case .withheld: writer.write(UInt8(2))
        }
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        switch try reader.readByte() {
        case 0: self = .purged
        case 1: self = .fields(try reader.read())
        case 2: self = .withheld
        case let tag: throw ValidationError(.malformed, field: "personal", "unknown personal slot \(tag)")
        }
    }
}

extension PersonalSlot: SameWriteJoinable {
    /// One write seen as its value on one node and as withheld on another is the same write:
    /// the value wins.
    public static func join(sameWrite a: PersonalSlot, _ b: PersonalSlot) -> PersonalSlot {
        switch (a, b) {
        case (.withheld, let other), (let other, .withheld): other
        default: a.canonicalBytes.lexicographicallyPrecedes(b.canonicalBytes) ? b : a
        }
    }
}
