/// A hybrid-logical-clock timestamp: wall-clock milliseconds since the Unix epoch in the high
/// 48 bits and a logical counter in the low 16 bits, so that it orders like time but never repeats
/// and never goes backwards on one node.
///
/// Hanaro uses these values as the counters of ``VersionVector`` entries and as the stamps of
/// field writes (see ``Dot``). Because a counter is at least the wall time of its write, a replica
/// restored from an old backup (or wiped and recreated) that authors a new version cannot produce
/// a counter that looks older than what its peers already hold — the hazard behind Syncthing's
/// issue 3876 — as long as its clock has not gone back by more than the time since its last write.
public struct HLCTimestamp: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The timestamp of a wall-clock instant with a zero logical part.
    @inlinable
    public init(millisecondsSince1970 ms: UInt64) { self.rawValue = ms << 16 }

    /// The wall-clock part, in milliseconds since the Unix epoch.
    @inlinable
    public var millisecondsSince1970: UInt64 { rawValue >> 16 }

    /// The zero timestamp, before every real one.
    public static let zero = HLCTimestamp(rawValue: 0)

    @inlinable
    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(millisecondsSince1970).\(rawValue & 0xFFFF)" }
}

/// A source of wall-clock time, so that the sync engine and the tests can drive time by hand.
public protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMilliseconds() -> UInt64
}

/// A hybrid logical clock (Kulkarni et al., 2014), compressed into one `UInt64`.
///
/// `tick` returns a value greater than every value it returned or observed before, and at least
/// the current wall time. `observe` folds in a timestamp seen on a peer's version, so that a node
/// whose wall clock lags still stamps its writes after what it has seen.
public struct HybridLogicalClock: Sendable, Hashable {
    /// The greatest timestamp issued or observed so far.
    public private(set) var last: HLCTimestamp

    public init(last: HLCTimestamp = .zero) {
        self.last = last
    }

    /// A new timestamp, strictly greater than ``last`` and not before `physicalMilliseconds`.
    public mutating func tick(physicalMilliseconds: UInt64) -> HLCTimestamp {
        let next = max(last.rawValue &+ 1, physicalMilliseconds << 16)
        last = HLCTimestamp(rawValue: next)
        return last
    }

    /// Folds in a timestamp seen elsewhere.
    public mutating func observe(_ remote: HLCTimestamp) {
        if remote > last { last = remote }
    }
}
