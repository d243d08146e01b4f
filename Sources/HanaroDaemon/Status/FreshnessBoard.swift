public import Foundation
public import HanaroCore
public import HanaroFederation

/// How fresh this node's copy of each agency is, per direction, computed honestly: an agency is
/// `fresh` only when a read of everything it had up to a known point (the read's signpost, or a
/// federation pull that reached the peer's head) completed within `stale_after` — not merely
/// when a connection succeeded.
public actor FreshnessBoard {
    /// Which way the data moves.
    public enum Direction: String, Sendable, CaseIterable, Codable {
        /// We read the agency (its node over federation, or its native API through the adapter).
        case inbound
        /// We deliver to it (referrals to its intake).
        case outbound
    }

    /// `fresh`, `stale`, `degraded`, `failing`, `never`.
    public enum State: String, Sendable, Codable, CaseIterable, Comparable {
        case fresh, stale, failing, never
        /// The last read completed, but more than `degraded_after` of its items (or all of them)
        /// were quarantined: the agency answers, and what it says cannot be used.
        case degraded

        public static func < (a: State, b: State) -> Bool { a.rank < b.rank }
        var rank: Int { switch self { case .fresh: 0; case .stale: 1; case .degraded: 2; case .never: 3; case .failing: 4 } }
    }

    /// The kinds of failure the status port names.
    public enum FailureKind: String, Sendable, Codable, CaseIterable {
        case unreachable, tls, certificate, rateLimited = "rate_limited", envelope, schema, store, unauthorized
        /// A peer's versions are stamped further ahead of this node's clock than allowed.
        case clockSkew = "clock_skew"
    }

    /// One agency in one direction.
    public struct Entry: Sendable, Hashable, Codable {
        /// The point up to which everything was read (the agency's clock at the read's signpost).
        public var asOf: Date?
        /// When that complete read finished.
        public var lastSuccessAt: Date?
        public var consecutiveFailures = 0
        public var lastErrorKind: FailureKind?
        public var lastError: String?
        public var lastAttemptFailed = false
        /// Whether the last complete read was degraded (too much of it quarantined).
        public var degraded = false
        /// Items the last complete read could use, and items it quarantined (adapters).
        public var usableItems: Int?
        public var refusedItems: Int?
    }

    private var entries: [AgencyID: [Direction: Entry]] = [:]
    private let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = { Date() }) { self.clock = clock }

    /// A complete read (or delivery round) that covered everything up to `asOf`.
    public func succeeded(_ agency: AgencyID, _ direction: Direction, asOf: Date, usable: Int? = nil, refused: Int? = nil) {
        var entry = entries[agency]?[direction] ?? Entry()
        entry.asOf = max(entry.asOf ?? asOf, asOf)
        entry.lastSuccessAt = clock()
        entry.consecutiveFailures = 0
        entry.lastAttemptFailed = false
        entry.degraded = false
        entry.lastError = nil
        entry.lastErrorKind = nil
        entry.usableItems = usable ?? entry.usableItems
        entry.refusedItems = refused ?? entry.refusedItems
        entries[agency, default: [:]][direction] = entry
    }

    /// A complete inbound read that quarantined too much of what it got: `degraded`, with the
    /// counts and a reason, until a read does better.
    public func degraded(_ agency: AgencyID, asOf: Date, usable: Int, refused: Int, reason: String) {
        var entry = entries[agency]?[.inbound] ?? Entry()
        entry.asOf = max(entry.asOf ?? asOf, asOf)
        entry.consecutiveFailures = 0
        entry.lastAttemptFailed = false
        entry.degraded = true
        entry.usableItems = usable
        entry.refusedItems = refused
        entry.lastError = reason
        entry.lastErrorKind = .schema
        entries[agency, default: [:]][.inbound] = entry
    }

    /// A complete inbound read that served nothing to judge (a quiet incremental read): `fresh`
    /// as ``succeeded(_:_:asOf:usable:refused:)`` — unless the agency is `degraded`: nothing
    /// usable was stored since the read that made it so, so it stays degraded (with its counts
    /// and reason, its lag counted from the degraded read) until a read stores something usable.
    public func quiet(_ agency: AgencyID, asOf: Date) {
        guard var entry = entries[agency]?[.inbound], entry.degraded else {
            succeeded(agency, .inbound, asOf: asOf, usable: 0, refused: 0)
            return
        }
        if entry.lastAttemptFailed, let usable = entry.usableItems, let refused = entry.refusedItems {
            // A failure in between replaced the reason: say again why it is degraded.
            entry.lastError = Self.degradedReason(usable: usable, refused: refused)
            entry.lastErrorKind = .schema
        }
        entry.consecutiveFailures = 0
        entry.lastAttemptFailed = false
        entries[agency, default: [:]][.inbound] = entry
    }

    /// The reason a degraded agency shows: how many of the read's items were refused.
    public nonisolated static func degradedReason(usable: Int, refused: Int) -> String {
        "\(refused) of \(usable + refused) items of the last complete read were quarantined (\(usable) usable); `hanaro quarantine list` shows why"
    }

    /// A failed attempt, with its kind and a reason an operator can act on (never personal data).
    public func failed(_ agency: AgencyID, _ direction: Direction, kind: FailureKind, reason: String) {
        var entry = entries[agency]?[direction] ?? Entry()
        entry.consecutiveFailures += 1
        entry.lastAttemptFailed = true
        entry.lastErrorKind = kind
        entry.lastError = reason
        entries[agency, default: [:]][direction] = entry
    }

    public func entry(_ agency: AgencyID, _ direction: Direction) -> Entry? { entries[agency]?[direction] }

    /// The state of an entry given the agency's `stale_after`.
    public func state(_ agency: AgencyID, _ direction: Direction, staleAfterSeconds: Int) -> State {
        Self.state(of: entries[agency]?[direction], staleAfterSeconds: staleAfterSeconds, now: clock())
    }

    public nonisolated static func state(of entry: Entry?, staleAfterSeconds: Int, now: Date) -> State {
        guard let entry else { return .never }
        if entry.lastAttemptFailed { return .failing }
        if entry.degraded { return .degraded }
        guard let asOf = entry.asOf else { return .never }
        return now.timeIntervalSince(asOf) > Double(staleAfterSeconds) ? .stale : .fresh
    }

    public func now() -> Date { clock() }
}

extension FreshnessBoard.FailureKind {
    /// The kind of a federation failure.
    public init(_ code: FederationError.Code) {
        switch code {
        case .certificate: self = .certificate
        case .refused: self = .tls
        case .unreachable: self = .unreachable
        case .rateLimited: self = .rateLimited
        case .protocolError: self = .schema
        case .store: self = .store
        }
    }

    /// The kind of an adapter failure.
    public init(_ code: AdapterError.Code) {
        switch code {
        case .unreachable: self = .unreachable
        case .tls: self = .tls
        case .unauthorized: self = .unauthorized
        case .rateLimited: self = .rateLimited
        case .envelope: self = .envelope
        case .schema: self = .schema
        case .store: self = .store
        }
    }
}
