/// The eligibility criteria of many programs packed for answering one profile over all of them:
/// one plain row per program (no strings, no arrays, nothing reference-counted) and the region and
/// KSIC codes packed into integers, so that "starts with" is a mask and a compare. An answer over
/// 100,000 programs walks the rows in one pass; ``classify(_:_:)`` gives exactly the class that
/// ``Eligibility/quickCheck(_:)`` (and so ``Eligibility/check(_:)``) gives for the same program
/// (a property test holds them together).
public struct EligibilityTable: Sendable {
    /// One program's criteria.
    struct Row: Sendable {
        var regionStart: Int32
        var regionEnd: Int32
        var industryStart: Int32
        var industryEnd: Int32
        /// Bounds of business age, employees, revenue, owner age (unbounded sides at the extremes).
        var low: SIMD4<Int64>
        var high: SIMD4<Int64>
        /// Bit i: range i states a bound (and so needs the fact).
        var bounded: UInt8
    }

    var rows: [Row] = []
    /// The regions and industries of every row, back to back.
    var codes: [PackedCode] = []

    public init() {}

    public init(_ eligibilities: some Sequence<Eligibility>) {
        for eligibility in eligibilities { append(eligibility) }
    }

    /// How many programs the table holds.
    public var count: Int { rows.count }

    public mutating func append(_ eligibility: Eligibility) {
        let regionStart = Int32(codes.count)
        codes.append(contentsOf: eligibility.regions.map { PackedCode($0.code) })
        let industryStart = Int32(codes.count)
        codes.append(contentsOf: eligibility.industries.map { PackedCode($0.code) })
        var row = Row(regionStart: regionStart, regionEnd: industryStart, industryStart: industryStart, industryEnd: Int32(codes.count),
                      low: SIMD4(repeating: .min), high: SIMD4(repeating: .max), bounded: 0)
        for (index, range) in [eligibility.businessAgeMonths, eligibility.employees, eligibility.revenueKRW, eligibility.ownerAge].enumerated()
        where !range.isUnbounded {
            row.bounded |= 1 << index
            row.low[index] = range.min ?? .min
            row.high[index] = range.max ?? .max
        }
        rows.append(row)
    }

    /// The class of program `index`'s answer for `profile`.
    public func classify(_ index: Int, _ profile: PackedProfile) -> EligibilityClass {
        rows.withUnsafeBufferPointer { rows in
            codes.withUnsafeBufferPointer { codes in Self.classify(rows[index], profile, codes) }
        }
    }

    /// Calls `body` with the index and class of every program that `included` admits, in order.
    public func classifyAll(_ profile: PackedProfile, where included: (Int) -> Bool = { _ in true }, _ body: (Int, EligibilityClass) -> Void) {
        rows.withUnsafeBufferPointer { rows in
            codes.withUnsafeBufferPointer { codes in
                for index in rows.indices where included(index) { body(index, Self.classify(rows[index], profile, codes)) }
            }
        }
    }

    @inline(__always)
    static func classify(_ row: Row, _ profile: PackedProfile, _ codes: UnsafeBufferPointer<PackedCode>) -> EligibilityClass {
        var missing = false
        if row.regionStart < row.regionEnd {
            if let region = profile.region {
                var admitted = false, precise = false
                for index in Int(row.regionStart)..<Int(row.regionEnd) {
                    let allowed = codes[index]
                    if region.starts(with: allowed) { admitted = true; precise = true; break }
                    if allowed.length > region.length, allowed.starts(with: region) { admitted = true }
                }
                if !admitted { return .ineligible }
                if !precise { missing = true }
            } else {
                missing = true
            }
        }
        if row.industryStart < row.industryEnd {
            if let industry = profile.industry {
                var covered = false, narrower = false
                for index in Int(row.industryStart)..<Int(row.industryEnd) {
                    let allowed = codes[index]
                    if industry.starts(with: allowed) { covered = true; break }
                    if allowed.starts(with: industry) { narrower = true }
                }
                if !covered {
                    if !narrower { return .ineligible }
                    missing = true
                }
            } else {
                missing = true
            }
        }
        if row.bounded != 0 {
            if row.bounded & ~profile.known != 0 { missing = true }
            let checked = row.bounded & profile.known
            if checked != 0 {
                let inside = (profile.values .>= row.low) .& (profile.values .<= row.high)
                for index in 0..<4 where checked & (1 << index) != 0 && !inside[index] { return .ineligible }
            }
        }
        return missing ? .unknown : .eligible
    }
}

/// A business profile as ``EligibilityTable`` reads it.
public struct PackedProfile: Sendable {
    var region: PackedCode?
    var industry: PackedCode?
    /// Business age, employees, revenue, owner age (0 where unknown).
    var values: SIMD4<Int64>
    /// Bit i: value i is known.
    var known: UInt8

    public init(_ profile: BusinessProfile) {
        region = profile.region.map { PackedCode($0.code) }
        industry = profile.industry.map { PackedCode($0.code) }
        values = SIMD4(repeating: 0)
        known = 0
        for (index, value) in [profile.businessAgeMonths, profile.employees, profile.revenueKRW, profile.ownerAge].enumerated() {
            if let value {
                values[index] = value
                known |= 1 << index
            }
        }
    }
}

/// A code of at most 7 ASCII bytes (a region code has 2 or 5, a KSIC code 1 to 6: both validated
/// on the way in) in one integer: the bytes from the top, the length in the lowest byte.
struct PackedCode: Sendable, Hashable {
    var bits: UInt64

    init(_ text: String) {
        var bits: UInt64 = 0
        var length: UInt64 = 0
        for byte in text.utf8.prefix(7) {
            bits |= UInt64(byte) << (56 - 8 * length)
            length += 1
        }
        self.bits = bits | length
    }

    var length: Int { Int(bits & 0xFF) }

    /// Whether this code begins with `prefix` (as `String.hasPrefix` on the codes).
    @inline(__always)
    func starts(with prefix: PackedCode) -> Bool {
        let count = prefix.length
        guard count <= length else { return false }
        guard count > 0 else { return true }
        let mask = UInt64.max << (64 - 8 * UInt64(count))
        return bits & mask == prefix.bits & mask
    }
}
