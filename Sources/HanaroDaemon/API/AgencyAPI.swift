import Foundation
import HTTPTypes
public import HanaroCore
public import HanaroStore
public import Hummingbird
public import Logging
import NIOCore
public import NIOSSL
public import HanaroFederation
public import ServiceLifecycle

/// The Agency API: the node's front door for its own agency's systems (see docs/AGENCY-API.md
/// and the OpenAPI document, `docs/openapi.json`, also served at `GET /openapi.json`).
///
/// Every route but the document needs a bearer token of `api.tokens_file` with the route's scope.
/// Every call that touches a referral is audited (actor `api:<client>`), as is every refusal of a
/// known client for a missing scope; unknown tokens are counted, not audited (their cost stays
/// bounded). No personal field is ever logged or audited.
public struct AgencyAPI: Sendable {
    /// The header a create without an id names its referral by (`POST /v1/referrals`).
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    let agency: AgencyID
    let tokens: TokenFile
    let replica: Replica
    let metrics: HanaroMetrics
    let logger: Logger
    let allowHTTPWebhooks: Bool
    /// Admission for search and eligibility (`api.max_concurrent_searches`, `api.max_queued_searches`).
    let gate: AdmissionGate
    /// Largest request body accepted.
    static let maxBody = 64 * 1024

    public init(agency: AgencyID, configuration: APIConfiguration, replica: Replica, metrics: HanaroMetrics, logger: Logger) {
        self.agency = agency
        tokens = TokenFile(path: configuration.tokensFile, tokens: configuration.tokens, logger: logger)
        self.replica = replica
        self.metrics = metrics
        self.logger = logger
        allowHTTPWebhooks = configuration.allowHTTPWebhooks
        gate = AdmissionGate(limit: configuration.maxConcurrentSearches, queue: configuration.maxQueuedSearches)
    }

    /// The listener: the router on `host:port` (port 0: the kernel picks; `onRunning` gets the
    /// port), HTTPS with `tls`, within the connection guard's limits.
    public func application(host: String, port: Int, tls: TLSConfiguration? = nil, connections: ConnectionGuard,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some Service {
        Application(
            router: router(), server: try connections.serverBuilder(tls: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "hanaro-api",
                                 availableConnectionsDelegate: connections.availableConnections),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        let v1 = router.group("v1")
        v1.get("programs") { request, _ in
            await handle(request, .read, "programs.search") { _ in try await gate.run { try await searchPrograms(request) } }
        }
        v1.get("programs/:agency/:id") { request, context in
            await handle(request, .read, "programs.show") { _ in
                try await program(agency: try Self.pathParameter(context.parameters.get("agency")), id: try Self.pathParameter(context.parameters.get("id")))
            }
        }
        v1.post("eligibility") { request, _ in
            await handle(request, .read, "eligibility") { _ in
                let body = try await Self.decode(EligibilityRequest.self, request)
                return try await gate.run { try await eligibility(body) }
            }
        }
        v1.post("referrals") { request, _ in
            await handle(request, .refer, "referral.create", audited: true) { client in
                try await createReferral(try await Self.decode(ReferralCreateRequest.self, request), client: client,
                                         idempotencyKey: request.headers[Self.idempotencyKey])
            }
        }
        v1.get("referrals") { request, _ in
            await handle(request, .refer, "referral.list", audited: true) { client in try await listReferrals(request, client: client) }
        }
        v1.get("referrals/:id") { request, context in
            await handle(request, .refer, "referral.show", audited: true) { client in
                let key = try await referralKey(try Self.pathParameter(context.parameters.get("id")))
                return try await referralResponse(key, client: client, status: 200)
            }
        }
        v1.patch("referrals/:id") { request, context in
            await handle(request, .refer, "referral.update", audited: true) { client in
                try await updateReferral(try Self.pathParameter(context.parameters.get("id")), try await Self.decode(ReferralUpdateRequest.self, request), client: client)
            }
        }
        v1.post("subscriptions") { request, _ in
            await handle(request, .subscribe, "subscription.create") { client in
                try await createSubscription(try await Self.decode(SubscriptionCreateRequest.self, request), client: client)
            }
        }
        v1.get("subscriptions") { request, _ in
            // A client sees and deletes its own subscriptions only (another system's webhook
            // URLs and filters are not its business).
            await handle(request, .subscribe, "subscription.list") { client in
                Self.json(200, SubscriptionListView(items: try await replica.subscriptions().filter { $0.client == client.name }.map { SubscriptionView($0) }))
            }
        }
        v1.delete("subscriptions/:id") { request, context in
            await handle(request, .subscribe, "subscription.delete") { client in
                let id = try Self.pathParameter(context.parameters.get("id"))
                guard try await replica.subscriptions().contains(where: { $0.id == id && $0.client == client.name }) else {
                    throw Problem.notFound("no subscription \(id) of this client")
                }
                let note = AuditNote(actor: "api:\(client.name)", action: "api.subscription.delete", target: id, outcome: "ok", detail: "")
                guard try await replica.deleteSubscription(id, audit: note) else { throw Problem.notFound("no subscription \(id)") }
                return Response(status: .noContent)
            }
        }
        // Added last, so it wraps only what no route takes (Hummingbird's not-found responder).
        router.add(middleware: UnknownRouteMiddleware(routes: router.routes))
        return router
    }

    // MARK: Authentication, auditing, errors

    /// Authenticates, checks the scope, runs `work` and turns what it throws into a problem. With
    /// `audited`, the call is written to the audit log (target: the path; outcome and the
    /// problem's title, never a body).
    func handle(_ request: Request, _ scope: APIScope, _ action: String, audited: Bool = false,
                _ work: (APIToken) async throws -> Response) async -> Response {
        guard let header = request.headers[.authorization], let presented = StatusServer.bearerToken(header) else {
            metrics.countAPI(action: action, outcome: "unauthenticated")
            return Self.unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        }
        guard let client = APIToken.authenticate(presented, among: tokens.current()) else {
            metrics.countAPI(action: action, outcome: "unauthenticated")
            return Self.unauthorized("the bearer token is not one of api.tokens_file")
        }
        let actor = "api:\(client.name)"
        let target = request.uri.path
        guard client.scopes.contains(scope) else {
            metrics.countAPI(action: action, outcome: "forbidden")
            await audit(actor: actor, action: "api.\(action)", target: target, outcome: "refused", detail: "the token lacks scope \(scope.rawValue)")
            return Problem(403, "forbidden", "The token lacks a scope", "\(action) needs scope \(scope.rawValue); this client has \(client.scopes.sorted().map(\.rawValue).joined(separator: ", ").ifEmpty("none"))").response
        }
        do {
            var response = try await work(client)
            // Answers about referrals may hold the owner's name and phone: no cache keeps them
            // (a proxy, a browser-based CRM); subscriptions carry their secret once.
            if scope != .read { response.headers[.cacheControl] = "no-store" }
            metrics.countAPI(action: action, outcome: "ok")
            // A created referral is audited under its own path (the request's path has no id yet).
            if audited { await audit(actor: actor, action: "api.\(action)", target: response.headers[.location] ?? target, outcome: "ok", detail: "\(response.status.code)") }
            return response
        } catch let refusal as RefusedAdmission {
            // The admission gate's refusal (search, eligibility): 503 with `Retry-After`.
            // Counted, never logged or audited: a flood's refusals must cost nothing but this. A
            // call cancelled while it waited (its connection gone) is not a sign of load.
            metrics.countAPI(action: action, outcome: refusal.outcome == .cancelled ? "cancelled" : "busy")
            return Problem.busy(refusal).response
        } catch {
            let problem = Self.problem(for: error)
            metrics.countAPI(action: action, outcome: problem.status >= 500 ? "failed" : "refused")
            if problem.status >= 500 {
                logger.error("agency API call failed", metadata: ["action": "\(action)", "reason": "\(problem.detail)"])
            }
            if audited { await audit(actor: actor, action: "api.\(action)", target: target, outcome: problem.status >= 500 ? "failed" : "refused", detail: "\(problem.status) \(problem.title)") }
            return problem.response
        }
    }

    static func problem(for error: any Error) -> Problem {
        switch error {
        case let problem as Problem: return problem
        case let store as StoreError where store.code == .invalidRequest:
            if let validation = store.cause as? ValidationError { return problem(for: validation) }
            return Problem.badRequest(store.message)
        case let store as StoreError where store.code == .diskFull:
            return Problem(507, "storage-full", "The node's disk is full", "nothing was written; try again later")
        case let validation as ValidationError:
            switch validation.code {
            case .unauthorizedAuthor: return Problem(403, "not-allowed", "This agency may not make this change", validation.message)
            case .invalidTransition: return Problem(409, "invalid-transition", "The status cannot change this way", validation.message)
            default: return Problem.unprocessable(validation.message, field: validation.field.map(apiField))
            }
        default:
            return Problem(500, "internal", "The node could not answer", "an internal error occurred; the node's log has the details")
        }
    }

    /// A record field as the API's bodies name it (`business.tradeName` → `business.trade_name`,
    /// `personal.phone` → `contact.phone`): the store's rules name the record's fields.
    static func apiField(_ field: String) -> String {
        let renamed: [String: String] = [
            "originCentre": "centre", "personal.ownerName": "contact.owner_name", "personal.phone": "contact.phone",
            "personal": "contact", "notes": "note", "referralID": "id",
        ]
        if let name = renamed[field] { return name }
        return field.split(separator: ".").map { String($0).snakeCased }.joined(separator: ".")
    }

    /// Audits; a failing audit log is logged and counted, the answer still goes out.
    func audit(actor: String, action: String, target: String, outcome: String, detail: String) async {
        do {
            try await replica.appendAudit(actor: actor, action: action, target: target, outcome: outcome, detail: detail)
        } catch {
            metrics.countAuditFailure()
            logger.error("could not audit an agency API call", metadata: ["action": "\(action)", "reason": "\(error.message)"])
        }
    }

    static func unauthorized(_ detail: String) -> Response {
        var problem = Problem(401, "unauthenticated", "Authentication is required", detail)
        problem.headers = [.wwwAuthenticate: "Bearer realm=\"hanaro-api\""]
        return problem.response
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBody)
        } catch {
            throw Problem(413, "too-large", "The request body is too large", "at most \(maxBody) bytes")
        }
        do {
            return try APIWire.decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, context) {
            let field = Self.path(context.codingPath + [key])
            if field.hasPrefix("consent.") {
                // A consent without one of its parts is no consent (as none at all: 422).
                throw Problem(422, "consent-missing", "The owner's consent is incomplete",
                              "\(field) is required: a consent (개인정보 제3자 제공 동의) states scope, recipient, purpose and retain_until",
                              errors: [.init(field: field, reason: "required")])
            }
            throw Problem.badRequest("\(field) is required", field: field)
        } catch let DecodingError.typeMismatch(expected, context), let DecodingError.valueNotFound(expected, context) {
            guard !context.codingPath.isEmpty else {
                throw Problem.badRequest("the body must be a JSON object as the OpenAPI document describes (GET /openapi.json)")
            }
            throw Problem.badRequest("\(Self.path(context.codingPath)) has the wrong type: \(Self.kind(expected)) expected", field: Self.path(context.codingPath))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            // A number where a whole one is expected (1.5, 1e400), and the like.
            throw Problem.badRequest("\(Self.path(context.codingPath)) is not a valid value of its type (see GET /openapi.json)", field: Self.path(context.codingPath))
        } catch {
            throw Problem.badRequest("the body must be a JSON object as the OpenAPI document describes (GET /openapi.json)")
        }
    }

    /// What a decoding error expected, in the API's words.
    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt.Type, is Int32.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// `business.trade_name`: the JSON path of a decoding error.
    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue.snakeCased }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    static func json(_ status: Int, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        json(status, bytes: Array((try? APIWire.encoder.encode(value)) ?? Data("{}".utf8)), headers: headers)
    }

    /// JSON already written (``JSONText``).
    static func json(_ status: Int, bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension String {
    var snakeCased: String {
        var result = ""
        for character in self {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }

    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

extension AgencyAPI {
    /// A path parameter, percent-decoded (Hummingbird's router hands segments over as sent:
    /// `semas%3AR-1` and Korean ids written as UTF-8 escapes must name the same referral as
    /// their decoded form).
    static func pathParameter(_ text: String?) throws -> String {
        guard let text, let decoded = text.removingPercentEncoding else {
            throw Problem.badRequest("the path holds a malformed % escape", field: "path")
        }
        // No id holds a control character (`%00` cut an id short in C strings downstream).
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw Problem.badRequest("the path holds a control character", field: "path")
        }
        return decoded
    }
}
