/// Where a referral stands: `sent → received → in_consultation → supported | declined`,
/// `withdrawn` by the origin before an outcome, and `closed` after any outcome.
///
/// The cases are declared in the lattice's total order: the status of a referral is the greatest
/// status in its history, so that concurrent status changes merge without coordination. Two
/// different outcomes (`withdrawn`, `declined`, `supported`) in one history are a *terminal-state
/// collision*: resolved to the greatest (an agency's recorded outcome beats a withdrawal) and
/// flagged for review.
public enum ReferralStatus: UInt8, Sendable, Hashable, CaseIterable, Comparable, Codable, CustomStringConvertible {
    case sent = 0
    case received = 1
    case inConsultation = 2
    case withdrawn = 3
    case declined = 4
    case supported = 5
    case closed = 6

    /// Which party of a referral may move it to a status.
    public enum Role: Sendable, Hashable {
        case origin
        case target
    }

    /// The stage: statuses of one stage are alternatives, not steps.
    public var phase: Int {
        switch self {
        case .sent: 0
        case .received: 1
        case .inConsultation: 2
        case .withdrawn, .declined, .supported: 3
        case .closed: 4
        }
    }

    /// Whether this is an outcome (`withdrawn`, `declined`, `supported`).
    public var isOutcome: Bool { phase == 3 }

    /// The roles allowed to record this status.
    public var allowedRoles: Set<Role> {
        switch self {
        case .sent, .withdrawn: [.origin]
        case .received, .inConsultation, .declined, .supported: [.target]
        case .closed: [.origin, .target]
        }
    }

    /// Whether a referral in status `from` (nil: not yet created) may move to `self`.
    public func canFollow(_ from: ReferralStatus?) -> Bool {
        guard let from else { return self == .sent }
        switch self {
        case .sent: return false
        case .received: return from == .sent
        case .inConsultation: return from == .sent || from == .received
        case .declined, .supported, .withdrawn: return from.phase < 3
        case .closed: return from.isOutcome
        }
    }

    /// The contract's spelling: `sent`, `received`, `in_consultation`, ...
    public var name: String {
        switch self {
        case .sent: "sent"
        case .received: "received"
        case .inConsultation: "in_consultation"
        case .withdrawn: "withdrawn"
        case .declined: "declined"
        case .supported: "supported"
        case .closed: "closed"
        }
    }

    /// Parses the contract's spelling.
    public init?(name: String) {
        guard let match = ReferralStatus.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var description: String { name }

    public static func < (lhs: ReferralStatus, rhs: ReferralStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One status change in a referral's history: who moved it, from what, to what, and when (the
/// dot's counter is a hybrid-logical-clock time).
public struct StatusEvent: Dotted, CustomStringConvertible {
    public var dot: Dot
    /// The status the author saw when it made the change (nil for the creating `sent`).
    public var from: ReferralStatus?
    public var to: ReferralStatus

    public init(dot: Dot, from: ReferralStatus?, to: ReferralStatus) {
        self.dot = dot
        self.from = from
        self.to = to
    }

    public var description: String { "\(from?.name ?? "∅")→\(to.name) by \(dot)" }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(dot)
        writer.writeOptional(from) { $0.write($1.rawValue) }
        writer.write(to.rawValue)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        dot = try reader.readDot()
        func status(_ byte: UInt8) throws(ValidationError) -> ReferralStatus {
            guard let s = ReferralStatus(rawValue: byte) else {
                throw ValidationError(.malformed, field: "history", "unknown referral status \(byte)")
            }
            return s
        }
        let fromByte = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try r.readByte() }
        from = try fromByte.map { (b: UInt8) throws(ValidationError) in try status(b) }
        to = try status(try reader.readByte())
    }
}

/// A counsellor's note on a referral. Notes are append-only: they merge as a set.
public struct ReferralNote: Dotted {
    /// The write that added the note; its agency is the author.
    public var dot: Dot
    public var text: String

    public init(dot: Dot, text: String) {
        self.dot = dot
        self.text = text
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(dot)
        writer.write(text)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        dot = try reader.readDot()
        text = try reader.readString()
    }
}
