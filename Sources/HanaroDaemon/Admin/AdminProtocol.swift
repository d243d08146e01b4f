public import Foundation
public import HanaroCore
public import HanaroStore

/// The admin API's requests and answers, shared by the daemon (which encodes answers and decodes
/// requests) and the CLI (the other way round), so that neither side spells a key by hand —
/// litestream's `cmd/litestream/rpc.go` habit. JSON with snake_case keys and ISO 8601 dates.
public enum AdminWire {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// `POST /admin/resync`.
public struct ResyncRequest: Codable, Sendable, Hashable {
    /// An agency id, or `all`.
    public var agency: String
    /// Re-read everything from the beginning.
    public var full: Bool

    public init(agency: String, full: Bool) {
        self.agency = agency
        self.full = full
    }

    /// `full` may be left out (an incremental resync).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agency = try container.decode(String.self, forKey: .agency)
        full = try container.decodeIfPresent(Bool.self, forKey: .full) ?? false
    }
}

/// Where a resync stands.
public enum ResyncState: String, Codable, Sendable, Hashable {
    case queued, running, done, failed

    /// Whether it ended.
    public var isFinished: Bool { self == .done || self == .failed }
}

/// One resync, as `POST /admin/resync` and `GET /admin/resync/ID` report it.
public struct ResyncJob: Codable, Sendable, Hashable {
    public var id: String
    /// An agency id, or `all`.
    public var agency: String
    public var full: Bool
    public var state: ResyncState
    /// What is being read now (`kamco: adapter (full)`).
    public var step: String?
    public var requestedAt: Date
    public var finishedAt: Date?
    /// Items read so far (records or events), and pages.
    public var itemsRead: Int
    public var pagesRead: Int
    public var error: String?
    public var programsBefore: Int64?
    public var referralsBefore: Int64?
    public var digestBefore: String?
    public var programsAfter: Int64?
    public var referralsAfter: Int64?
    public var digestAfter: String?
}

/// A conflict as the admin API shows it.
public struct ConflictView: Codable, Sendable, Hashable {
    /// The short id admins type (`hanaro conflicts show 12`).
    public var id: String
    /// The stable id of the collision (record, field, colliding versions): the same on every node.
    public var conflictId: String
    public var record: String
    public var field: String
    /// The colliding versions (dots such as `kamco:118014…`): what `--keep` takes.
    public var versions: [String]
    public var differingFields: [String]
    public var kept: String
    public var source: String
    public var detectedAt: Date
    public var state: ConflictState
    public var closedBy: String?
    public var currentVector: String?
    public var recordStatus: String?

    init(_ entry: ConflictEntry) {
        id = String(entry.id)
        conflictId = entry.conflictID
        record = entry.recordKey
        field = entry.field
        versions = entry.dots
        differingFields = entry.differingFields
        kept = entry.kept
        source = entry.source
        detectedAt = entry.detectedAt
        state = entry.state
        closedBy = entry.closedBy
    }
}

/// `POST /admin/conflicts/ID/resolve`.
public struct ResolveRequest: Codable, Sendable, Hashable {
    /// The colliding version to keep.
    public var keep: String

    public init(keep: String) { self.keep = keep }
}

/// The answer to a resolution.
public struct ResolveResponse: Codable, Sendable, Hashable {
    public var resolved: String
    public var kept: String
    /// The vector of the new version, or `unchanged`.
    public var newVersion: String
}

/// A quarantined item as the admin API shows it (never its payload).
public struct QuarantineView: Codable, Sendable, Hashable {
    public var id: Int64
    public var source: String
    public var record: String?
    public var code: String
    public var reason: String
    public var attempts: Int64
    public var firstSeen: Date
    public var lastSeen: Date
    public var state: QuarantineState

    init(_ entry: QuarantineEntry) {
        id = entry.id
        source = entry.source.rawValue
        record = entry.recordKey
        code = entry.code
        reason = entry.reason
        attempts = entry.attempts
        firstSeen = entry.firstSeen
        lastSeen = entry.lastSeen
        state = entry.state
    }
}

/// The answer to a quarantine retry.
public struct RetryResponse: Codable, Sendable, Hashable {
    public var retried: String
    public var state: QuarantineState
}

/// A record as the admin API shows it: its version and state, never personal fields.
public struct RecordView: Codable, Sendable, Hashable {
    public var key: String
    public var vector: String
    public var status: String?
    public var statusHistory: [String]?
    public var collidingOutcomes: [String]?
    public var outcomeNeedsReview: Bool?
    public var notes: Int?
    /// Whether personal fields are held here (`present`, `withheld`, `absent`), never their values.
    public var personal: String?
    public var title: String?
    public var deleted: Bool?

    init(_ version: RecordVersion) {
        key = version.key.description
        vector = "\(version.vector)"
        if let referral = version.referral {
            status = referral.status.name
            statusHistory = referral.history.elements.sorted { $0.dot < $1.dot }.map(\.description)
            collidingOutcomes = referral.collidingOutcomes.map(\.name)
            outcomeNeedsReview = referral.outcomeNeedsReview
            notes = referral.notes.elements.count
            personal = referral.personal.value.description
        }
        if let program = version.program {
            title = program.title
            deleted = program.isDeleted
        }
    }
}

/// The answer of `GET /admin/evidence?key=`: the signed bundle (docs/EVIDENCE.md).
public struct EvidenceExport: Codable, Sendable, Hashable {
    public var record: String
    public var bundle: String
}

/// An audit entry as `GET /admin/audit` shows it (entries never hold personal fields).
public typealias AuditView = AuditEntry

/// The answer of `GET /admin/audit/verify`.
public struct AuditVerdict: Codable, Sendable, Hashable {
    public var intact: Bool
    public var entries: Int64
    public var firstBrokenSeq: Int64?
    /// Why it is broken, naming the entry.
    public var problem: String?
    /// The last entry a checkpoint of the agency's log cosigned by a witness anchors, and its witnesses.
    public var anchoredThrough: Int64?
    /// The first entry no witness anchors yet (nil: all are, or the replica keeps no log).
    public var unwitnessedFrom: Int64?
    public var cosigners: [String]?
    public var notes: [String]?
}

/// Every refusal and failure of the admin API: `{"error": "..."}`.
public struct AdminErrorBody: Codable, Sendable, Hashable {
    public var error: String

    public init(error: String) { self.error = error }
}
