/// The identity of one write: the agency that authored it and the counter it was given.
///
/// Counters are hybrid-logical-clock values (see ``HLCTimestamp``), unique per agency, so a dot
/// names exactly one write. Dots order by counter first (that is, by time) and then by agency in
/// the canonical order: this is the "last writer wins, agency id breaks ties" order.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The agency that authored the write.
    public var agency: AgencyID
    /// The counter the write was given: the agency's version-vector entry after the write.
    public var counter: UInt64

    @inlinable
    public init(_ agency: AgencyID, _ counter: UInt64) {
        self.agency = agency
        self.counter = counter
    }

    /// When the write was made, as a hybrid-logical-clock timestamp.
    public var timestamp: HLCTimestamp { HLCTimestamp(rawValue: counter) }

    @inlinable
    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        if lhs.counter != rhs.counter { return lhs.counter < rhs.counter }
        return lhs.agency < rhs.agency
    }

    /// `<agency>:<counter>`, as ``description`` writes it.
    public var description: String { "\(agency.rawValue):\(counter)" }

    /// Parses ``description``'s form; nil for anything else.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let agency = AgencyID(rawValue: String(text[..<colon])),
              let counter = UInt64(text[text.index(after: colon)...]) else { return nil }
        self.init(agency, counter)
    }
}
