/// A 사업자등록번호 (business registration number): ten digits, printed `XXX-XX-XXXXX`, whose last
/// digit is a checksum of the first nine.
///
/// With weights `w = [1,3,7,1,3,7,1,3,5]`: `s = Σ d_i·w_i + ⌊d_8·5 / 10⌋`, and the number is valid
/// iff `d_9 == (10 − s mod 10) mod 10`. Only valid numbers can be constructed.
public struct BusinessNumber: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalEncodable {
    /// The ten digits, without separators.
    public let digits: String

    private static let weights = [1, 3, 7, 1, 3, 7, 1, 3, 5]

    /// Parses `XXX-XX-XXXXX` or ten bare digits (spaces and hyphens are ignored).
    /// - Throws: ``ValidationError`` `.invalidBusinessNumber` naming the rule that failed.
    public init(_ text: String) throws(ValidationError) {
        let kept = text.filter { $0 != "-" && $0 != " " }
        let values = kept.compactMap { $0.isASCII ? $0.wholeNumberValue : nil }
        guard kept.count == 10, values.count == 10 else {
            throw ValidationError(.invalidBusinessNumber, field: "businessNumber",
                                  "a business registration number has 10 digits (XXX-XX-XXXXX); got \(kept.count) characters")
        }
        guard Self.checksumIsValid(values) else {
            throw ValidationError(.invalidBusinessNumber, field: "businessNumber",
                                  "business registration number \(Self.format(kept)) fails its check digit; re-check the number with the owner")
        }
        digits = kept
    }

    /// Whether ten digit values satisfy the check-digit rule.
    public static func checksumIsValid(_ d: [Int]) -> Bool {
        guard d.count == 10 else { return false }
        var sum = 0
        for i in 0..<9 { sum += d[i] * weights[i] }
        sum += (d[8] * 5) / 10
        return d[9] == (10 - sum % 10) % 10
    }

    private static func format(_ digits: String) -> String {
        let a = Array(digits)
        return String(a[0..<3]) + "-" + String(a[3..<5]) + "-" + String(a[5...])
    }

    /// The printed form, `XXX-XX-XXXXX`.
    public var description: String { Self.format(digits) }

    public static func < (lhs: BusinessNumber, rhs: BusinessNumber) -> Bool { lhs.digits < rhs.digits }

    public func encode(to writer: inout CanonicalWriter) { writer.write(digits) }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        try self.init(try reader.readString())
    }
}
