import Foundation
public import HanaroAdapters
public import HanaroCore
import HanaroStore
public import Hummingbird
import Logging
import NIOCore

/// The admin API: resyncs, conflicts, quarantine and the audit chain, as JSON over HTTP (the
/// request and answer types are in `AdminProtocol.swift`, shared with the CLI). It is served on
/// the Unix socket (owner-only) and under `/admin` on the status port, where it needs the bearer
/// token. Every action, allowed, refused or failed, is written to the audit log.
public struct AdminAPI: Sendable {
    let node: NodeConfiguration
    let replica: Replica
    let resync: ResyncService
    let jobs: ResyncJobs
    let retry: QuarantineRetry
    let metrics: HanaroMetrics
    let logger: Logger

    /// Adds the routes under `/admin`. `actor` names who is calling (for the audit log);
    /// `authorize` refuses a request (returning the reason) before anything runs.
    func addRoutes<Context: RequestContext>(to router: Router<Context>, actor: String, authorize: @escaping @Sendable (Request) -> String?) {
        let admin = router.group("admin")
        admin.post("resync") { request, context in
            try await self.handle(request, actor: actor, action: "resync", authorize: authorize) { target in
                let body = try await Self.decode(ResyncRequest.self, from: request)
                target = "\(body.agency)\(body.full ? " (full)" : "")"
                let agency: AgencyID?
                if body.agency == "all" { agency = nil } else if let id = AgencyID(rawValue: body.agency) { agency = id } else {
                    throw AdminError(.badRequest, "unknown agency \"\(body.agency)\"; give one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", ")) or all")
                }
                return (202, try Self.encode(try await resync.request(agency, full: body.full)))
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
                let text = request.uri.queryParameters.get("state") ?? "all"
                target = text
                let state: ConflictState?
                if text == "all" { state = nil } else if let parsed = ConflictState(rawValue: text) { state = parsed } else {
                    throw AdminError(.badRequest, "state must be all, \(ConflictState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let entries = try await replica.conflicts(state: state, limit: 1000)
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
                let keep = try await Self.decode(ResolveRequest.self, from: request).keep
                target = "\(id) keep \(keep)"
                let entry = try await conflict(id)
                guard entry.dots.contains(keep), let dot = Dot(parsing: keep) else {
                    throw AdminError(.badRequest, "--keep must be one of the colliding versions of \(id): \(entry.dots.joined(separator: ", "))")
                }
                let key = try RecordKey(parsing: entry.recordKey)
                do {
                    let version = try await replica.author(.resolve(field: entry.field, keep: dot), key: key, by: node.agency, admin: actor)
                    return (200, try Self.encode(ResolveResponse(resolved: id, kept: keep, newVersion: version.map { "\($0.vector)" } ?? "unchanged")))
                } catch {
                    throw AdminError(.conflict, "\(error) — a resolution is a new version by \(node.agency.rawValue); resolve on the node of the agency allowed to write \(entry.field) of \(entry.recordKey)")
                }
            }
        }
        admin.get("record") { request, context in
            try await self.handle(request, actor: actor, action: "record.show", authorize: authorize) { target in
                let key = try Self.recordKey(request, target: &target)
                guard let version = try await replica.record(key) else { throw AdminError(.notFound, "no record \(key) in this replica") }
                return (200, try Self.encode(RecordView(version)))
            }
        }
        admin.get("quarantine") { request, context in
            try await self.handle(request, actor: actor, action: "quarantine.list", authorize: authorize) { target in
                let text = request.uri.queryParameters.get("state") ?? QuarantineState.held.rawValue
                target = text
                guard let state = QuarantineState(rawValue: text) else {
                    throw AdminError(.badRequest, "state must be one of \(QuarantineState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let entries = try await replica.quarantine(state: state, limit: 1000)
                return (200, try Self.encode(entries.map(QuarantineView.init)))
            }
        }
        admin.post("quarantine/:id/retry") { request, context in
            let id = Int64(context.parameters.get("id") ?? "") ?? -1
            return try await self.handle(request, actor: actor, action: "quarantine.retry", authorize: authorize) { target in
                target = String(id)
                try await retry.retry(id: id)
                return (200, try Self.encode(RetryResponse(retried: String(id), state: .released)))
            }
        }
        admin.get("evidence") { request, context in
            try await self.handle(request, actor: actor, action: "evidence.export", authorize: authorize) { target in
                let key = try Self.recordKey(request, target: &target)
                guard try await replica.record(key) != nil else { throw AdminError(.notFound, "no record \(key) in this replica") }
                let bundle: String
                do {
                    bundle = try await replica.exportEvidence(key)
                } catch let error as StoreError where error.code == .invalidRequest {
                    throw AdminError(.conflict, error.message)
                }
                return (200, try Self.encode(EvidenceExport(record: key.description, bundle: bundle)))
            }
        }
        admin.get("audit") { request, context in
            try await self.handle(request, actor: actor, action: "audit.list", authorize: authorize) { target in
                let query = request.uri.queryParameters
                target = query.get("action") ?? "audit"
                let limit = try query.get("limit").map { text throws(AdminError) in
                    guard let value = Int(text), (1...10_000).contains(value) else { throw AdminError(.badRequest, "limit must be a number from 1 to 10000") }
                    return value
                } ?? 100
                let before = try query.get("before").map { text throws(AdminError) in
                    guard let value = Int64(text), value > 0 else { throw AdminError(.badRequest, "before must be an entry number (seq) above 0") }
                    return value
                }
                let entries = try await replica.audit(limit: limit, before: before, action: query.get("action").flatMap { $0.isEmpty ? nil : $0 },
                                                      actor: query.get("actor").flatMap { $0.isEmpty ? nil : $0 })
                return (200, try Self.encode(entries))
            }
        }
        admin.get("audit/verify") { request, context in
            try await self.handle(request, actor: actor, action: "audit.verify", authorize: authorize) { target in
                target = "audit"
                let result = try await replica.verifyAuditAnchored()
                return (200, try Self.encode(AuditVerdict(intact: result.intact, entries: Int64(result.entries), firstBrokenSeq: result.firstBroken, problem: result.problem,
                                                          anchoredThrough: result.anchoredThrough, unwitnessedFrom: result.unwitnessedFrom,
                                                          cosigners: result.cosigners.map(\.rawValue), notes: result.notes)))
            }
        }
    }

    /// The record key of a `?key=` parameter (the audited target is the text as given).
    static func recordKey(_ request: Request, target: inout String) throws -> RecordKey {
        let text = request.uri.queryParameters.get("key") ?? ""
        target = text
        guard let key = try? RecordKey(parsing: text) else {
            throw AdminError(.badRequest, "key must be a record key such as referral/semas/SEMAS-R000001 or program/kodit/KODIT-000001")
        }
        return key
    }

    /// Runs one admin action: authorizes, writes the audit entry *before* acting (an action the
    /// log cannot record does not happen), acts, and audits a failure too. Progress reads of a
    /// resync (`audited: false`) are not logged: `--wait` polls them five times a second.
    private func handle(_ request: Request, actor: String, action: String, authorize: @Sendable (Request) -> String?, audited: Bool = true,
                        _ work: (inout String) async throws -> (Int, [UInt8])) async throws -> Response {
        var target = request.uri.path
        if let refusal = authorize(request) {
            metrics.countAdmin(action: action, outcome: "refused")
            await audit(actor: actor, action: action, target: target, outcome: "refused", detail: refusal)
            return Self.error(401, refusal, headers: [.wwwAuthenticate: "Bearer realm=\"hanaro-admin\""])
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
            await audit(actor: actor, action: action, target: target, outcome: "failed", detail: message)
            logger.warning("admin action failed", metadata: ["action": "\(action)", "reason": "\(message)"])
            return Self.error(code, message)
        }
    }

    /// Audits a refused or failed action. When the audit log itself fails, the answer still goes
    /// out (refusing a refusal helps nobody), and the failure is logged and counted.
    private func audit(actor: String, action: String, target: String, outcome: String, detail: String) async {
        do {
            try await replica.appendAudit(actor: actor, action: "admin.\(action)", target: target, outcome: outcome, detail: detail)
        } catch {
            metrics.countAuditFailure()
            logger.error("could not audit an admin action", metadata: ["action": "\(action)", "outcome": "\(outcome)", "reason": "\(error.message)"])
        }
    }

    private func conflict(_ id: String) async throws -> ConflictEntry {
        guard let entry = try await replica.conflict(id) else {
            throw AdminError(.notFound, "no conflict \(id); `hanaro conflicts list` shows them")
        }
        return entry
    }

    /// Decodes a JSON request body (an empty body decodes as `{}`).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 16)
        do {
            return try AdminWire.decoder.decode(T.self, from: buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView))
        } catch {
            throw AdminError(.badRequest, "the body must be a JSON object with \(T.self)'s fields (\(error))")
        }
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] { Array(try AdminWire.encoder.encode(value)) }

    /// `{"error": message}` with a status.
    static func error(_ status: Int, _ message: String, headers: HTTPFields = [:]) -> Response {
        json(status, AdminErrorBody(error: message), headers: headers)
    }

    /// A JSON answer.
    static func json(_ status: Int, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = (try? AdminWire.encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: Array(body))))
    }
}

