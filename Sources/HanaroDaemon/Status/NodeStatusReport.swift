public import Foundation

/// What `GET /status` answers (JSON, snake_case keys): the node, the replica's counts and, per
/// agency, its freshness. Never a person's data: only agency ids, counts, times and reasons.
public struct NodeStatusReport: Codable, Sendable, Hashable {
    public struct Replica: Codable, Sendable, Hashable {
        public var programs: Int64
        public var referrals: Int64
        public var openConflicts: Int64
        public var conflictsLogged: Int64
        public var quarantined: Int64
        public var digest: String
        public var headSeq: Int64
    }

    public struct Certificates: Codable, Sendable, Hashable {
        public var nodeExpiresAt: Date?
        public var caExpiresAt: Date?
    }

    /// One direction of one agency.
    public struct Direction: Codable, Sendable, Hashable {
        public var state: FreshnessBoard.State
        public var lastSuccessAt: Date?
        public var lagSeconds: Int?
        public var consecutiveFailures: Int
        public var lastError: String?
        public var lastErrorKind: FreshnessBoard.FailureKind?
        /// Items the last complete read could use, and items it quarantined (adapters only).
        public var usableItems: Int? = nil
        public var quarantinedItems: Int? = nil
    }

    /// One row of the freshness table.
    public struct Agency: Codable, Sendable, Hashable {
        public var agency: String
        public var name: String
        /// How this node gets the agency's data: `self`, `federation`, `adapter`,
        /// `federation via <id>` (a hub node runs its adapter), or `none`.
        public var via: String
        /// The worst of the directions below.
        public var state: FreshnessBoard.State
        public var lastSuccessAt: Date?
        public var lagSeconds: Int?
        public var consecutiveFailures: Int
        public var lastError: String?
        public var pendingOutbound: Int?
        /// The expiry of the certificate the agency's node last presented (ours for `self`).
        public var certExpiresAt: Date?
        public var staleAfterSeconds: Int
        public var inbound: Direction?
        public var outbound: Direction?
        public var resyncRunning: Bool
        /// Of the last complete read: items usable and items quarantined (null when not read by an adapter here).
        public var usableItems: Int? = nil
        public var quarantinedItems: Int? = nil

        enum CodingKeys: String, CodingKey {
            case agency, name, via, state, lastSuccessAt, lagSeconds, consecutiveFailures, lastError, pendingOutbound
            case certExpiresAt, staleAfterSeconds, inbound, outbound, resyncRunning, usableItems, quarantinedItems
        }

        /// Every contract field is present in every row: `null` when unknown, never left out.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(agency, forKey: .agency)
            try c.encode(name, forKey: .name)
            try c.encode(via, forKey: .via)
            try c.encode(state, forKey: .state)
            try c.encode(lastSuccessAt, forKey: .lastSuccessAt)
            try c.encode(lagSeconds, forKey: .lagSeconds)
            try c.encode(consecutiveFailures, forKey: .consecutiveFailures)
            try c.encode(lastError, forKey: .lastError)
            try c.encode(pendingOutbound, forKey: .pendingOutbound)
            try c.encode(certExpiresAt, forKey: .certExpiresAt)
            try c.encode(staleAfterSeconds, forKey: .staleAfterSeconds)
            try c.encode(inbound, forKey: .inbound)
            try c.encode(outbound, forKey: .outbound)
            try c.encode(resyncRunning, forKey: .resyncRunning)
            try c.encode(usableItems, forKey: .usableItems)
            try c.encode(quarantinedItems, forKey: .quarantinedItems)
        }
    }

    public var node: String
    public var version: String
    public var startedAt: Date
    public var uptimeSeconds: Int
    public var ready: Bool
    public var notReadyReason: String?
    public var replica: Replica
    public var certificate: Certificates
    public var agencies: [Agency]
    /// Webhook deliveries of the Agency API (nil when `api.listen` is not set).
    public var webhooks: Webhooks?

    /// This agency's transparency log and its witnesses (docs/EVIDENCE.md); nil without a signing key.
    public var log: Log?

    /// The log: how far it is checkpointed, who cosigned the newest checkpoint, the other agencies'
    /// logs this node witnesses, and the equivocations it holds proof of.
    public struct Log: Codable, Sendable, Hashable {
        public var origin: String
        public var size: Int64
        public var checkpointSize: Int64?
        public var checkpointAt: Date?
        public var cosignedBy: [String]
        public var quorum: Int
        public var quorumMet: Bool
        /// Why a witness has not cosigned (unreachable, refused, equivocation), by agency.
        public var witnessProblems: [String: String]
        public var witnessing: [Witnessed]
        public var equivocations: Int
        /// The newest equivocation's reason (nil when none).
        public var lastEquivocation: String?

        public struct Witnessed: Codable, Sendable, Hashable {
            public var agency: String
            public var origin: String
            public var cosignedSize: Int64
            public var cosignedAt: Date
        }
    }

    /// The Agency API's webhook subscriptions and what they are owed.
    public struct Webhooks: Codable, Sendable, Hashable {
        public var activeSubscriptions: Int64
        public var disabledSubscriptions: Int64
        public var pending: Int64
        public var delivered: Int64
        public var failed: Int64
        public var oldestPendingSeconds: Double
    }

    /// The exit status `hanaro status` gives for this report: 0 all fresh, 1 otherwise.
    public var exitStatus: Int32 { agencies.allSatisfy { $0.state == .fresh } ? 0 : 1 }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
