import Foundation
public import HanaroAdapters
public import HanaroCore
import HanaroStore
public import Hummingbird
import Logging
import NIOCore

/// The admin API: resyncs, conflicts, quarantine and the audit chain, as JSON over HTTP. It is
/// served on the Unix socket (owner-only) and under `/admin` on the status port, where it needs
/// the bearer token. Every action, allowed, refused or failed, is written to the audit log.
public struct AdminAPI: Sendable {
    let node: NodeConfiguration
    let replica: Replica
    let resync: ResyncService
    let jobs: ResyncJobs
    let metrics: HanaroMetrics
    let logger: Logger

    /// Adds the routes under `/admin`. `actor` names who is calling (for the audit log);
    /// `authorize` refuses a request (returning the reason) before anything runs.
    func addRoutes<Context: RequestContext>(to router: Router<Context>, actor: String, authorize: @escaping @Sendable (Request) -> String?) {
        let admin = router.group("admin")
        admin.post("resync") { request, context in
            try await self.handle(request, actor: actor, action: "resync", authorize: authorize) { target in
                let body = try await Self.body(request)
                let name = body["agency"] as? String ?? ""
                let full = body["full"] as? Bool ?? false
                target = "\(name)\(full ? " (full)" : "")"
                let agency: AgencyID?
                if name == "all" { agency = nil } else if let id = AgencyID(rawValue: name) { agency = id } else {
                    throw AdminError(.badRequest, "unknown agency \"\(name)\"; give one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", ")) or all")
                }
                let job = try await resync.request(agency, full: full)
                return (202, try Self.encode(job))
            }
        }
        admin.get("resync/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.handle(request, actor: actor, action: "resync.status", authorize: authorize, audited: false) { target in
                target = id
                guard let job = await jobs.job(id) else { throw AdminError(.notFound, "no resync \(id) (jobs are kept in memory until the node restarts)") }
                return (200, try Self.encode(job))
            }
        }
        admin.get("conflicts") { request, context in
            try await self.handle(request, actor: actor, action: "conflicts.list", authorize: authorize) { target in
                let state = request.uri.queryParameters.get("state")
                target = state ?? "all"
                let entries = try await replica.conflicts(state: state == "all" ? nil : state, limit: 1000)
                return (200, try Self.encode(entries.map(ConflictView.init)))
            }
        }
        admin.get("conflicts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.handle(request, actor: actor, action: "conflicts.show", authorize: authorize) { target in
                target = id
                let entry = try await conflict(id)
                var view = ConflictView(entry)
                if let key = try? RecordKey(parsing: entry.recordKey), let version = try await replica.record(key) {
                    view.currentVector = "\(version.vector)"
                    view.recordStatus = version.referral.map { $0.status.name } ?? (version.program?.isDeleted == true ? "deleted" : "published")
                }
                return (200, try Self.encode(view))
            }
        }
        admin.post("conflicts/:id/resolve") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.handle(request, actor: actor, action: "conflicts.resolve", authorize: authorize) { target in
                let body = try await Self.body(request)
                let keep = body["keep"] as? String ?? ""
                target = "\(id) keep \(keep)"
                let entry = try await conflict(id)
                guard entry.dots.contains(keep), let colon = keep.lastIndex(of: ":"),
                      let agency = AgencyID(rawValue: String(keep[..<colon])), let counter = UInt64(keep[keep.index(after: colon)...]) else {
                    throw AdminError(.badRequest, "--keep must be one of the colliding versions of \(id): \(entry.dots.joined(separator: ", "))")
                }
                let key = try RecordKey(parsing: entry.recordKey)
                do {
                    let version = try await replica.author(.resolve(field: entry.field, keep: Dot(agency, counter)), key: key, by: node.agency, admin: actor)
                    return (200, try Self.encode(["resolved": id, "kept": keep, "new_version": version.map { "\($0.vector)" } ?? "unchanged"]))
                } catch {
                    throw AdminError(.conflict, "\(error) — a resolution is a new version by \(node.agency.rawValue); resolve on the node of the agency allowed to write \(entry.field) of \(entry.recordKey)")
                }
            }
        }
        admin.get("record") { request, context in
            try await self.handle(request, actor: actor, action: "record.show", authorize: authorize) { target in
                let text = request.uri.queryParameters.get("key") ?? ""
                target = text
                guard let key = try? RecordKey(parsing: text) else {
                    throw AdminError(.badRequest, "key must be a record key such as referral/semas/SEMAS-R000001 or program/kodit/KODIT-000001")
                }
                guard let version = try await replica.record(key) else { throw AdminError(.notFound, "no record \(text) in this replica") }
                return (200, try Self.encode(RecordView(version)))
            }
        }
        admin.get("quarantine") { request, context in
            try await self.handle(request, actor: actor, action: "quarantine.list", authorize: authorize) { target in
                target = "held"
                let entries = try await replica.quarantine(state: request.uri.queryParameters.get("state") ?? "held", limit: 1000)
                return (200, try Self.encode(entries.map(QuarantineView.init)))
            }
        }
        admin.post("quarantine/:id/retry") { request, context in
            let id = Int64(context.parameters.get("id") ?? "") ?? -1
            return try await self.handle(request, actor: actor, action: "quarantine.retry", authorize: authorize) { target in
                target = String(id)
                return (200, try Self.encode(try await retry(id)))
            }
        }
        admin.get("audit/verify") { request, context in
            try await self.handle(request, actor: actor, action: "audit.verify", authorize: authorize) { target in
                target = "audit"
                let broken = try await replica.verifyAudit()
                let count = try await replica.audit(limit: 1).first?.seq ?? 0
                return (200, try Self.encode(AuditVerdict(intact: broken == nil, entries: count, firstBrokenSeq: broken)))
            }
        }
    }

    /// Runs one admin action: authorizes, writes the audit entry *before* acting (an action the
    /// log cannot record does not happen), acts, and audits a failure too. Progress reads of a
    /// resync (`audited: false`) are not logged: `--wait` polls them five times a second.
    private func handle(_ request: Request, actor: String, action: String, authorize: @Sendable (Request) -> String?, audited: Bool = true,
                        _ work: (inout String) async throws -> (Int, [UInt8])) async throws -> Response {
        var target = request.uri.path
        if let refusal = authorize(request) {
            metrics.countAdmin(action: action, outcome: "refused")
            try? await replica.appendAudit(actor: actor, action: "admin.\(action)", target: target, outcome: "refused", detail: refusal)
            return Self.json(401, ["error": refusal], headers: [.wwwAuthenticate: "Bearer realm=\"hanaro-admin\""])
        }
        do {
            if audited {
                do {
                    try await replica.appendAudit(actor: actor, action: "admin.\(action)", target: "\(request.uri.path)\(request.uri.query.map { "?" + $0 } ?? "")", outcome: "allowed", detail: "")
                } catch {
                    throw AdminError(.failed, "the audit log refused the entry (\(error)); nothing was done")
                }
            }
            let (status, body) = try await work(&target)
            metrics.countAdmin(action: action, outcome: "allowed")
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        } catch {
            let (code, message): (Int, String) = if let admin = error as? AdminError { (admin.code.rawValue, admin.message) } else { (500, "\(error)") }
            metrics.countAdmin(action: action, outcome: "failed")
            try? await replica.appendAudit(actor: actor, action: "admin.\(action)", target: target, outcome: "failed", detail: message)
            logger.warning("admin action failed", metadata: ["action": "\(action)", "reason": "\(message)"])
            return Self.json(code, ["error": message])
        }
    }

    private func conflict(_ id: String) async throws -> ConflictEntry {
        guard let entry = try await replica.conflict(id) else {
            throw AdminError(.notFound, "no conflict \(id); `hanaro conflicts list` shows them")
        }
        return entry
    }

    private func retry(_ id: Int64) async throws -> [String: String] {
        guard let entry = try await replica.quarantineEntry(id: id) else {
            throw AdminError(.notFound, "no quarantined item \(id); `hanaro quarantine list` shows them")
        }
        guard entry.state == "held", let payload = try await replica.quarantinedPayload(id: id) else {
            throw AdminError(.conflict, "item \(id) is \(entry.state), not held")
        }
        if entry.source.hasPrefix("adapter:"), let agency = AgencyID(rawValue: String(entry.source.dropFirst("adapter:".count))),
           entry.recordKey?.hasPrefix("program/") ?? true {
            let record: ProgramRecord
            do { record = try AdapterFactory.remapProgram(agency: agency, raw: payload) } catch {
                throw AdminError(.conflict, "still refused: \(error)")
            }
            let outcomes = try await replica.author([AuthoredEdit(key: record.key, edit: .publishProgram(record), raw: payload)], by: agency, source: entry.source)
            if case .quarantined(let error) = outcomes.first { throw AdminError(.conflict, "still refused: \(error)") }
        } else if entry.source.hasPrefix("adapter:"), let agency = AgencyID(rawValue: String(entry.source.dropFirst("adapter:".count))) {
            let edits: [AuthoredEdit]
            do { edits = try AdapterIngest.edits(for: try AdapterFactory.remapReferralEvent(agency: agency, raw: payload), agency: agency, raw: payload) } catch {
                throw AdminError(.conflict, "still refused: \(error)")
            }
            let outcomes = try await replica.author(edits, by: agency, source: entry.source)
            if let refused = outcomes.first(where: { if case .quarantined = $0 { true } else { false } }), case .quarantined(let error) = refused {
                throw AdminError(.conflict, "still refused: \(error)")
            }
        } else {
            let outcomes = try await replica.apply(encoded: [payload], from: entry.source, withholdingFor: node.agency)
            if case .quarantined(let error) = outcomes.first { throw AdminError(.conflict, "still refused: \(error)") }
        }
        try await replica.releaseQuarantined(id: id)
        return ["retried": String(id), "state": "released"]
    }

    static func body(_ request: Request) async throws -> [String: Any] {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 16)
        if buffer.readableBytes == 0 { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] else {
            throw AdminError(.badRequest, "the body must be a JSON object")
        }
        return object
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func encode(_ value: some Encodable) throws -> [UInt8] { Array(try encoder.encode(value)) }

    static func json(_ status: Int, _ object: [String: String], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: Array(body))))
    }
}

/// A conflict as the admin API shows it.
struct ConflictView: Codable, Sendable {
    /// The short id admins type (`hanaro conflicts show 12`).
    var id: String
    /// The stable id of the collision (record, field, colliding versions): the same on every node.
    var conflictId: String
    var record: String
    var field: String
    var versions: [String]
    var differingFields: [String]
    var kept: String
    var source: String
    var detectedAt: Date
    var state: String
    var closedBy: String?
    var currentVector: String?
    var recordStatus: String?

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

/// A quarantined item as the admin API shows it (never its payload).
struct QuarantineView: Codable, Sendable {
    var id: Int64
    var source: String
    var record: String?
    var code: String
    var reason: String
    var attempts: Int64
    var firstSeen: Date
    var lastSeen: Date
    var state: String

    init(_ entry: QuarantineEntry) {
        id = entry.id
        source = entry.source
        record = entry.recordKey
        code = entry.code
        reason = entry.reason
        attempts = entry.attempts
        firstSeen = entry.firstSeen
        lastSeen = entry.lastSeen
        state = entry.state
    }
}

/// A record as the admin API shows it: its version and state, never personal fields.
struct RecordView: Codable, Sendable {
    var key: String
    var vector: String
    var status: String?
    var statusHistory: [String]?
    var collidingOutcomes: [String]?
    var outcomeNeedsReview: Bool?
    var notes: Int?
    var personal: String?
    var title: String?
    var deleted: Bool?

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

struct AuditVerdict: Codable, Sendable {
    var intact: Bool
    var entries: Int64
    var firstBrokenSeq: Int64?
}
