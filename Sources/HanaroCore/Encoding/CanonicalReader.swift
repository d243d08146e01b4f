/// Reads Hanaro's canonical binary encoding (see ``CanonicalWriter``). Every read checks bounds
/// and throws a `.malformed` ``ValidationError`` instead of trapping: the bytes may come from a
/// peer or from a damaged file.
public struct CanonicalReader: Sendable {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var position: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { position == bytes.count }

    /// - Throws: `.malformed` when bytes are left over.
    public func expectEnd() throws(ValidationError) {
        guard isAtEnd else {
            throw ValidationError(.malformed, "\(bytes.count - position) unexpected trailing bytes")
        }
    }

    @usableFromInline
    static func truncated(_ what: String) -> ValidationError {
        ValidationError(.malformed, "encoded record is truncated (reading \(what))")
    }

    @inlinable
    public mutating func readByte() throws(ValidationError) -> UInt8 {
        guard position < bytes.count else { throw Self.truncated("a byte") }
        defer { position += 1 }
        return bytes[position]
    }

    @inlinable
    public mutating func readUInt64() throws(ValidationError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw Self.truncated("a varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw ValidationError(.malformed, "varint longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inlinable
    public mutating func readInt64() throws(ValidationError) -> Int64 {
        let raw = try readUInt64()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    @inlinable
    public mutating func readInt() throws(ValidationError) -> Int {
        Int(try readInt64())
    }

    public mutating func readBool() throws(ValidationError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw ValidationError(.malformed, "invalid boolean byte \(other)")
        }
    }

    /// Reads a count, refusing one larger than the bytes left could hold.
    public mutating func readCount() throws(ValidationError) -> Int {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - position) else { throw Self.truncated("a count") }
        return Int(count)
    }

    public mutating func readString() throws(ValidationError) -> String {
        let count = try readCount()
        let slice = bytes[position..<(position + count)]
        position += count
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw ValidationError(.malformed, "string is not valid UTF-8")
        }
        return string
    }

    public mutating func readBytes() throws(ValidationError) -> [UInt8] {
        let count = try readCount()
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads `count` bytes that carry no length (a field of fixed size).
    public mutating func readFixedBytes(_ count: Int) throws(ValidationError) -> [UInt8] {
        guard count <= bytes.count - position else { throw Self.truncated("\(count) bytes") }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads four bytes as a big-endian integer (a field of fixed size, such as a key id).
    public mutating func readUInt32BigEndian() throws(ValidationError) -> UInt32 {
        try readFixedBytes(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func readOptional<T>(_ body: (inout CanonicalReader) throws(ValidationError) -> T) throws(ValidationError) -> T? {
        switch try readByte() {
        case 0: return nil
        case 1: return try body(&self)
        case let other: throw ValidationError(.malformed, "invalid presence byte \(other)")
        }
    }

    public mutating func readOptionalString() throws(ValidationError) -> String? {
        try readOptional { (r: inout CanonicalReader) throws(ValidationError) in try r.readString() }
    }

    public mutating func readOptionalInt64() throws(ValidationError) -> Int64? {
        try readOptional { (r: inout CanonicalReader) throws(ValidationError) in try r.readInt64() }
    }

    public mutating func readArray<T>(_ body: (inout CanonicalReader) throws(ValidationError) -> T) throws(ValidationError) -> [T] {
        let count = try readCount()
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try body(&self)) }
        return result
    }

    public mutating func readStrings() throws(ValidationError) -> [String] {
        try readArray { (r: inout CanonicalReader) throws(ValidationError) in try r.readString() }
    }

    public mutating func readAgency() throws(ValidationError) -> AgencyID {
        let index = try readByte()
        guard let agency = AgencyID(index: Int(index)) else {
            throw ValidationError(.unknownAgency, "agency index \(index) is outside the governed set")
        }
        return agency
    }

    public mutating func readDot() throws(ValidationError) -> Dot {
        let agency = try readAgency()
        return Dot(agency, try readUInt64())
    }

    public mutating func readVector() throws(ValidationError) -> VersionVector {
        var vector = VersionVector()
        for agency in AgencyID.allCases { vector[agency] = try readUInt64() }
        return vector
    }

    public mutating func read<T: CanonicalEncodable>(_: T.Type = T.self) throws(ValidationError) -> T {
        try T(from: &self)
    }
}
