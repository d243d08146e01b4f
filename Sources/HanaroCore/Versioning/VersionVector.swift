/// How two replica states of one record relate in causal history.
public enum CausalRelation: String, Sendable, Hashable {
    /// This state is strictly older: the other one has seen everything this one has, and more.
    case before
    /// This state is strictly newer.
    case after
    /// Both have seen exactly the same writes.
    case equal
    /// Each has seen a write the other has not: the edits were concurrent.
    case concurrent
}

/// A version vector: for every agency of the governed set, the greatest counter of that agency's
/// writes that a replica state includes.
///
/// It relates replica states (``relation(to:)``): it *detects* concurrent edits; the per-field
/// rules of ``RecordVersion/merged(with:)`` *resolve* them. The actor set is the governed set of
/// ``AgencyID``s, so entries are never pruned and the vector has a fixed size — which lets it live
/// in one SIMD register and compare in a handful of instructions.
///
/// Counters are hybrid-logical-clock values rather than 1, 2, 3...: see ``HLCTimestamp`` for why
/// that makes restored and recreated replicas safe.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// Lane `i` holds the counter of the agency whose ``AgencyID/index`` is `i`; lanes 6 and 7
    /// stay zero.
    @usableFromInline
    var lanes: SIMD8<UInt64>

    /// The empty vector: no writes seen.
    public static let zero = VersionVector()

    @inlinable
    public init() { lanes = .zero }

    /// A vector with the given entries (absent agencies are zero).
    public init(_ entries: [AgencyID: UInt64]) {
        lanes = .zero
        for (agency, counter) in entries { lanes[agency.index] = counter }
    }

    /// The counter of one agency.
    @inlinable
    public subscript(agency: AgencyID) -> UInt64 {
        get { lanes[agency.index] }
        set { lanes[agency.index] = newValue }
    }

    /// The non-zero entries, in canonical agency order.
    public var entries: [(agency: AgencyID, counter: UInt64)] {
        AgencyID.allCases.compactMap { lanes[$0.index] == 0 ? nil : ($0, lanes[$0.index]) }
    }

    /// Whether the write named by `dot` is included in the state this vector describes.
    @inlinable
    public func covers(_ dot: Dot) -> Bool { lanes[dot.agency.index] >= dot.counter }

    /// How the state described by `self` relates to the one described by `other`.
    @inlinable
    public func relation(to other: VersionVector) -> CausalRelation {
        let lessOrEqual = all(lanes .<= other.lanes)
        let greaterOrEqual = all(lanes .>= other.lanes)
        switch (lessOrEqual, greaterOrEqual) {
        case (true, true): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (false, false): return .concurrent
        }
    }

    /// The pointwise maximum: the vector of a state that includes both.
    @inlinable
    public func merged(with other: VersionVector) -> VersionVector {
        var result = self
        result.lanes = pointwiseMax(lanes, other.lanes)
        return result
    }

    /// The counter for a new write by `agency`: greater than anything `agency` wrote into this
    /// state, and not before `clock`.
    @inlinable
    public func nextCounter(for agency: AgencyID, clock: HLCTimestamp) -> UInt64 {
        Swift.max(self[agency] &+ 1, clock.rawValue)
    }

    /// The largest counter of any agency: used to move a node's clock past what it has seen.
    public var maxCounter: UInt64 { lanes.max() }

    public var description: String {
        "[" + entries.map { "\($0.agency.rawValue):\($0.counter)" }.joined(separator: ",") + "]"
    }
}
