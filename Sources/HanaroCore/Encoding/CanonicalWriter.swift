/// Writes Hanaro's canonical binary encoding of records.
///
/// Written by hand on purpose. The same bytes serve three uses — the replica's stored body, the
/// input of the convergence digest, and the federation wire format — so they must be
/// *deterministic* (two replicas holding the same state produce the same bytes) and *fast*
/// (a million versions a run). Foundation's `JSONEncoder` measured ~25 µs per 500-byte record on
/// this machine, a third of the whole write budget, and its key order is an implementation
/// detail; swift-protobuf would need a generated schema and its code-generator plugin in every
/// build. The format is small: LEB128 varints, length-prefixed UTF-8, fields in declaration order,
/// sets in ascending order. Each record type documents its field order next to its `encode`.
public struct CanonicalWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func write(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inlinable
    public mutating func write(_ value: Int64) {
        // ZigZag, so that small negative numbers stay short.
        write(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable
    public mutating func write(_ value: Int) { write(Int64(value)) }

    @inlinable
    public mutating func write(_ value: UInt8) { bytes.append(value) }

    @inlinable
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(bytes other: [UInt8]) {
        write(UInt64(other.count))
        bytes.append(contentsOf: other)
    }

    /// Writes four bytes, big-endian, without a length (read by `readUInt32BigEndian`).
    public mutating func writeBigEndian(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a presence byte and, when present, the value.
    @inlinable
    public mutating func writeOptional<T>(_ value: T?, _ body: (inout CanonicalWriter, T) -> Void) {
        if let value {
            bytes.append(1)
            body(&self, value)
        } else {
            bytes.append(0)
        }
    }

    public mutating func write(_ value: String?) { writeOptional(value) { $0.write($1) } }
    public mutating func write(_ value: Int64?) { writeOptional(value) { $0.write($1) } }

    /// Writes a count and then each element.
    @inlinable
    public mutating func writeArray<T>(_ values: [T], _ body: (inout CanonicalWriter, T) -> Void) {
        write(UInt64(values.count))
        for value in values { body(&self, value) }
    }

    public mutating func write(_ values: [String]) { writeArray(values) { $0.write($1) } }

    public mutating func write(_ dot: Dot) {
        bytes.append(UInt8(dot.agency.index))
        write(dot.counter)
    }

    public mutating func write(_ vector: VersionVector) {
        for agency in AgencyID.allCases { write(vector[agency]) }
    }

    public mutating func write(_ value: some CanonicalEncodable) { value.encode(to: &self) }
}

/// A type with one canonical binary form. See ``CanonicalWriter`` for the format and the reason
/// it exists.
public protocol CanonicalEncodable {
    /// Appends the canonical bytes of `self`.
    func encode(to writer: inout CanonicalWriter)
    /// Reads a value written by ``encode(to:)``.
    /// - Throws: ``ValidationError`` with code `.malformed` on truncated or invalid bytes.
    init(from reader: inout CanonicalReader) throws(ValidationError)
}

extension CanonicalEncodable {
    /// The canonical bytes of `self`.
    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a whole buffer, refusing trailing bytes.
    /// - Throws: ``ValidationError`` with code `.malformed`.
    public init(canonicalBytes bytes: some Collection<UInt8>) throws(ValidationError) {
        var reader = CanonicalReader(Array(bytes))
        self = try Self(from: &reader)
        try reader.expectEnd()
    }
}
