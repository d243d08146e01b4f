/// A range of integers with either bound open: business age in months, revenue in KRW, regular
/// employees, owner age in years, support amounts in KRW, rates in basis points.
public struct BoundedRange: Hashable, Sendable, CanonicalEncodable, CustomStringConvertible {
    /// The smallest allowed value, or nil for no lower bound.
    public var min: Int64?
    /// The largest allowed value, or nil for no upper bound.
    public var max: Int64?

    /// The range with no bounds: everything is allowed.
    public static let unbounded = BoundedRange()

    public init(min: Int64? = nil, max: Int64? = nil) {
        self.min = min
        self.max = max
    }

    /// Whether neither bound is set.
    public var isUnbounded: Bool { min == nil && max == nil }

    /// Whether `value` lies in the range.
    public func contains(_ value: Int64) -> Bool {
        (min.map { value >= $0 } ?? true) && (max.map { value <= $0 } ?? true)
    }

    /// - Throws: `.invalidRange` when min > max or a bound is negative (all our quantities are ≥ 0).
    public func validate(field: String) throws(ValidationError) {
        if let min, min < 0 { throw ValidationError(.invalidRange, field: field, "lower bound \(min) is negative") }
        if let max, max < 0 { throw ValidationError(.invalidRange, field: field, "upper bound \(max) is negative") }
        if let min, let max, min > max {
            throw ValidationError(.invalidRange, field: field, "lower bound \(min) is above upper bound \(max)")
        }
    }

    public var description: String { "\(min.map(String.init) ?? "")..\(max.map(String.init) ?? "")" }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(min)
        writer.write(max)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        min = try reader.readOptionalInt64()
        max = try reader.readOptionalInt64()
    }
}
