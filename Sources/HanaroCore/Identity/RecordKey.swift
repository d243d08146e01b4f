/// What kind of record a key names.
public enum RecordKind: UInt8, Sendable, Hashable, CaseIterable, Codable {
    /// A support program, owned by the agency that publishes it.
    case program = 1
    /// A referral, owned by the agency that started it (its origin).
    case referral = 2

    /// `program` or `referral`.
    public var name: String { self == .program ? "program" : "referral" }
}

/// The globally unique key of a record: its kind, its owner agency and the owner's local id.
///
/// Two agencies may use the same native id; the owner in the key keeps them apart. The text form,
/// `program/semas/123456`, is what the store's primary key, logs and the CLI use; it sorts by kind,
/// then owner, then local id.
public struct RecordKey: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalEncodable {
    public var kind: RecordKind
    /// The agency that owns the record: the publisher of a program, the origin of a referral.
    public var owner: AgencyID
    /// The owner's id for it; any non-empty text without control characters.
    public var localID: String

    public init(kind: RecordKind, owner: AgencyID, localID: String) {
        self.kind = kind
        self.owner = owner
        self.localID = localID
    }

    /// Parses the text form `kind/owner/localID` (the local id may itself contain `/`).
    /// - Throws: `.malformed` or `.unknownAgency` naming what is wrong.
    public init(parsing text: String) throws(ValidationError) {
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw ValidationError(.malformed, record: text, field: "key", "a record key reads kind/agency/id, e.g. program/semas/123")
        }
        guard let kind = RecordKind.allCases.first(where: { $0.name == parts[0] }) else {
            throw ValidationError(.malformed, record: text, field: "key", "unknown record kind \"\(parts[0])\"; expected program or referral")
        }
        let owner = try AgencyID.parse(parts[1], field: "key")
        self.init(kind: kind, owner: owner, localID: parts[2])
        try validate()
    }

    /// - Throws: `.malformed` for an empty or control-character local id.
    public func validate() throws(ValidationError) {
        // Control characters are C0 (0x00-0x1F), DEL (0x7F) and C1 (U+0080-U+009F, which UTF-8
        // writes as 0xC2 0x80-0x9F): a byte scan finds them without Unicode property tables.
        var previous: UInt8 = 0
        let hasControl = localID.utf8.contains { byte in
            defer { previous = byte }
            return byte < 0x20 || byte == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(byte))
        }
        guard !localID.isEmpty, localID.utf8.count <= 200, !hasControl else {
            throw ValidationError(.malformed, record: description, field: "key", "the local id must be 1-200 characters with no control characters")
        }
    }

    public var description: String { "\(kind.name)/\(owner.rawValue)/\(localID)" }

    public static func < (lhs: RecordKey, rhs: RecordKey) -> Bool { lhs.description < rhs.description }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(kind.rawValue)
        writer.write(UInt8(owner.index))
        writer.write(localID)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let kindByte = try reader.readByte()
        guard let kind = RecordKind(rawValue: kindByte) else {
            throw ValidationError(.malformed, field: "key", "unknown record kind \(kindByte)")
        }
        self.init(kind: kind, owner: try reader.readAgency(), localID: try reader.readString())
        try validate()
    }
}
