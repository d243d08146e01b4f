import Synchronization
public import HanaroCore
public import HanaroStore
public import Hummingbird
public import HummingbirdTLS
public import Logging
public import NIOCore
public import Foundation
import HTTPTypes
import NIOSSL
import ServiceLifecycle
import SwiftASN1
import X509

/// A request context that can say which certificate the client presented, and carries the agency
/// the identity middleware mapped it to. Split from the TLS channel so that the routes can be
/// tested without TLS (a test context takes the certificate from elsewhere).
public protocol PeerIdentityContext: RequestContext {
    /// The DER bytes of the verified client certificate of `request`'s connection, or nil when
    /// none was presented.
    func peerCertificateDER(for request: Request) async throws -> [UInt8]?
    /// Set by the identity middleware before any route runs.
    var peer: AgencyID? { get set }
}

/// The request context of the federation port: it keeps the child channel, so that the peer's
/// verified certificate can be read from the TLS handler (Hummingbird hands the channel to the
/// context source), and the agency that certificate names.
public struct PeerRequestContext: PeerIdentityContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public var peer: AgencyID?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public func peerCertificateDER(for request: Request) async throws -> [UInt8]? {
        try await channel.nioSSL_peerCertificate().get()?.toDERBytes()
    }

    /// Federation bodies are batches of at most a few MiB.
    public var maxUploadSize: Int { PeerServer.maxBodyBytes }
}

/// Who may talk to this node: the configured peer agencies, optionally pinned by certificate
/// fingerprint, never this node's own agency.
public struct PeerPolicy: Sendable {
    public var localAgency: AgencyID
    /// Each allowed peer, with its pinned fingerprint (`sha256:<hex>`) if any.
    public var peers: [AgencyID: String?]
    /// Where the expiry of each peer's presented certificate is noted (for the status port).
    public var seen: PeerCertificateLog?

    public init(localAgency: AgencyID, peers: [AgencyID: String?], seen: PeerCertificateLog? = nil) {
        self.localAgency = localAgency
        self.peers = peers
        self.seen = seen
    }

    /// The agency a verified certificate may act as.
    /// - Throws: ``FederationError`` `.refused` with the reason.
    public func authorize(certificateDER: [UInt8]) throws(FederationError) -> AgencyID {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDER)
        } catch {
            throw FederationError(.refused, "the client certificate does not parse")
        }
        let agency = try AgencyIdentity.agency(of: certificate)
        guard agency != localAgency else {
            throw FederationError(.refused, "the client certificate names this node's own agency (\(agency.rawValue)); a node does not talk to itself")
        }
        guard let pin = peers[agency] else {
            throw FederationError(.refused, "\(agency.rawValue) is not a configured peer of this node (agencies/\(agency.rawValue).yaml)")
        }
        if let pin, pin != AgencyIdentity.fingerprint(derBytes: certificateDER) {
            throw FederationError(.refused, "the certificate of \(agency.rawValue) does not match the fingerprint pinned in agencies/\(agency.rawValue).yaml")
        }
        seen?.note(agency, expiresAt: certificate.notValidAfter)
        return agency
    }
}

/// The expiry of the certificate each peer last presented to this node.
public final class PeerCertificateLog: Sendable {
    private let expiries = Mutex<[AgencyID: Date]>([:])

    public init() {}

    func note(_ agency: AgencyID, expiresAt: Date) { expiries.withLock { $0[agency] = expiresAt } }

    /// When the certificate `agency` last presented expires, if it connected since start.
    public func expiry(of agency: AgencyID) -> Date? { expiries.withLock { $0[agency] } }
}

/// Maps the verified client certificate to an agency before any route reads a payload.
struct PeerIdentityMiddleware<Context: PeerIdentityContext>: RouterMiddleware {
    let policy: PeerPolicy
    let replica: Replica

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let certificate = try await context.peerCertificateDER(for: request) else {
            throw HTTPError(.unauthorized, message: "a client certificate is required")
        }
        let peer: AgencyID
        do {
            peer = try policy.authorize(certificateDER: certificate)
        } catch {
            context.logger.warning("refused a peer", metadata: ["reason": "\(error.message)"])
            do {
                try await replica.appendAudit(actor: "tls", action: "federation.refuse", target: request.uri.path, outcome: "refused", detail: error.message)
            } catch {
                // The refusal stands; the log line is then the only record of it.
                context.logger.error("could not audit a refused peer", metadata: ["reason": "\(error.message)"])
            }
            throw HTTPError(.forbidden, message: error.message)
        }
        context.peer = peer
        context.logger[metadataKey: "peer"] = "\(peer.rawValue)"
        return try await next(request, context)
    }
}

/// The federation port: HTTPS with mutual TLS, serving this replica's change feed to peers and
/// accepting pushed batches. Protocol: docs/FEDERATION.md.
public enum PeerServer {
    /// Largest request body accepted (a pushed batch).
    public static let maxBodyBytes = 16 << 20
    /// Largest page served, and most versions in one pushed batch.
    public static let maxPageSize = 5_000
    public static let maxFramesPerPush = 10_000
    /// Longest long-poll.
    public static let maxWaitMilliseconds = 60_000

    static let epochHeader = HTTPField.Name("Hanaro-Epoch")!
    static let nextHeader = HTTPField.Name("Hanaro-Next")!
    static let moreHeader = HTTPField.Name("Hanaro-More")!
    static let yourCursorHeader = HTTPField.Name("Hanaro-Your-Cursor")!
    static let freshnessHeader = HTTPField.Name("Hanaro-Freshness")!

    /// The routes, for any context that can name the client's certificate (tests run them without TLS).
    /// - Parameter freshness: this node's own view of each agency, sent to pullers so that a node
    ///   that hears of an agency only through this one can say how fresh that agency is.
    public static func router<Context: PeerIdentityContext>(replica: Replica, policy: PeerPolicy, logger: Logger, context: Context.Type = PeerRequestContext.self,
                                                          freshness: @escaping @Sendable () -> RelayFreshness = { RelayFreshness() }) -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: PeerIdentityMiddleware<Context>(policy: policy, replica: replica))
        router.get("/v1/hello") { _, context -> Response in
            let summary = try await replica.summary()
            let body = "{\"agency\":\"\(policy.localAgency.rawValue)\",\"epoch\":\"\(replica.epoch)\",\"head\":\(summary.headSeq),\"peer\":\"\(context.peer?.rawValue ?? "")\"}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/v1/changes") { request, context -> Response in
            var response = try await changes(request, context: context, replica: replica)
            let view = freshness()
            if !view.agencies.isEmpty { response.headers[freshnessHeader] = view.headerValue }
            return response
        }
        WitnessRoutes.add(to: router, replica: replica)
        let budget = RefusalBudget()
        router.post("/v1/push") { request, context -> Response in
            try await push(request, context: context, replica: replica, policy: policy, budget: budget)
        }
        return router
    }

    /// GET /v1/changes?epoch=E&after=SEQ&limit=N&wait_ms=MS
    static func changes(_ request: Request, context: some PeerIdentityContext, replica: Replica) async throws -> Response {
        guard let peer = context.peer else { throw HTTPError(.unauthorized, message: "no peer identity") }
        let query = request.uri.queryParameters
        guard let after = Int64(query.get("after") ?? "0"), after >= 0 else {
            throw HTTPError(.badRequest, message: "`after` must be a non-negative integer sequence")
        }
        let limit = min(max(Int(query.get("limit") ?? "1000") ?? 1000, 1), maxPageSize)
        let wait = min(max(Int(query.get("wait_ms") ?? "0") ?? 0, 0), maxWaitMilliseconds)
        // A cursor from another epoch, or beyond our head, means this replica was recreated or
        // restored from an older copy: the peer must reconcile in full, not resume silently.
        let head = try await replica.headSeq()
        if let epoch = query.get("epoch"), !epoch.isEmpty, epoch != replica.epoch || after > head {
            let reason = epoch != replica.epoch ? "epoch_changed" : "cursor_ahead"
            if reason == "cursor_ahead" {
                // A peer has read further than we have written: this file was restored from an
                // older copy (the peer will re-read us in full; we re-read everyone in full).
                try await RestoreRecovery.restartPeerStreams(replica, actor: StreamID.peer(peer).rawValue, logger: context.logger,
                                                             evidence: "peer cursor \(after) is ahead of our head \(head)")
            }
            let body = "{\"reset\":\"\(reason)\",\"epoch\":\"\(replica.epoch)\"}"
            return Response(status: .conflict, headers: [.contentType: "application/json", epochHeader: replica.epoch],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let generation = replica.commitGeneration
        let echoes = query.get("echo") != "0"
        var page = try await replica.feed(after: after, limit: limit, for: peer, suppressingEchoes: echoes)
        // Long-poll: hold the request until a commit brings something for this peer, or the deadline.
        let deadline = ContinuousClock.now + .milliseconds(wait)
        var seen = generation
        while page.frames.isEmpty && !page.hasMore && ContinuousClock.now < deadline && !Task.isCancelled {
            // A graceful shutdown ends the wait at once (the peer gets an empty page and comes back
            // to another node or later), instead of holding the shutdown for the whole poll.
            let remaining = deadline - ContinuousClock.now
            await withGracefulShutdownHandler {
                await replica.waitForChange(since: seen, timeout: remaining)
            } onGracefulShutdown: {
                replica.wakeWaiters()
            }
            if Task.isShuttingDownGracefully { break }
            seen = replica.commitGeneration
            page = try await replica.feed(after: page.nextCursor, limit: limit, for: peer, suppressingEchoes: echoes)
        }
        var headers: HTTPFields = [.contentType: WireFrames.contentType]
        headers[epochHeader] = page.epoch
        headers[nextHeader] = String(page.nextCursor)
        headers[moreHeader] = page.hasMore ? "1" : "0"
        // How far this node has read the puller's own feed: lets a puller whose file was restored
        // from an older copy notice it (see PeerLink).
        if let cursor = try await replica.checkpoint(.peer(peer)) { headers[yourCursorHeader] = cursor }
        var body = WireFrames.encode(page.frames)
        headers[.vary] = "Accept-Encoding"
        if PageCompression.acceptsGzip(request.headers[.acceptEncoding]), let compressed = PageCompression.gzip(body) {
            body = compressed
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// POST /v1/push: a peer pushes versions (e.g. a new referral) instead of waiting to be pulled.
    static func push(_ request: Request, context: some PeerIdentityContext, replica: Replica, policy: PeerPolicy, budget: RefusalBudget) async throws -> Response {
        guard let peer = context.peer else { throw HTTPError(.unauthorized, message: "no peer identity") }
        // A peer whose pushes keep being refused waits: its refusals cost this node rows and work.
        if let wait = budget.exhausted(peer) {
            let seconds = max(1, Int(wait.components.seconds))
            if budget.claimAudit(peer) {
                do {
                    try await replica.appendAudit(actor: StreamID.peer(peer).rawValue, action: "federation.throttle", target: "push", outcome: "refused",
                                                  detail: "more than \(budget.perWindow) refused versions in \(Int(budget.window.components.seconds)) s; pushes refused for \(seconds) s")
                } catch {
                    context.logger.error("could not audit a throttled peer", metadata: ["reason": "\(error.message)"])
                }
            }
            let body = "{\"error\":\"too many refused versions from \(peer.rawValue); retry after \(seconds) s\"}"
            return Response(status: .tooManyRequests, headers: [.contentType: "application/json", .retryAfter: String(seconds)],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw HTTPError(.contentTooLarge, message: "a pushed batch is limited to \(maxBodyBytes) bytes; send smaller batches")
        }
        let frames: [[UInt8]]
        let stream = StreamID.peer(peer)
        do {
            frames = try WireFrames.decode(body, maxFrames: maxFramesPerPush)
        } catch {
            // A batch refused whole spends the budget as if all it could hold were refused (so a
            // stream of oversized or broken batches is throttled too), and is audited once.
            budget.spend(peer, maxFramesPerPush)
            do {
                try await replica.appendAudit(actor: stream.rawValue, action: "federation.reject", target: "push", outcome: "refused",
                                              detail: "malformed batch of \(body.readableBytes) bytes: \(error.message)")
            } catch {
                context.logger.error("could not audit a malformed batch", metadata: ["reason": "\(error.message)"])
            }
            throw HTTPError(error.message.contains("more than") ? .contentTooLarge : .badRequest, message: "malformed batch: \(error.message)")
        }
        let outcomes: [WriteOutcome]
        do {
            outcomes = try await replica.apply(encoded: frames, from: stream, withholdingFor: policy.localAgency,
                                               auditingRefusals: RefusalAudit(actor: stream.rawValue, action: "federation.reject"))
        } catch {
            // Nothing of the batch was kept (one transaction); the peer may send it again later.
            context.logger.error("a pushed batch could not be stored", metadata: ["reason": "\(error.message)", "code": "\(error.code.rawValue)"])
            let status: HTTPResponse.Status = error.code == .diskFull ? .serviceUnavailable : .internalServerError
            let reason = error.code == .diskFull ? "this node's disk is full; nothing of the batch was kept; retry later" : "this node could not store the batch (\(error.code.rawValue)); nothing of it was kept; retry later"
            var headers: HTTPFields = [.contentType: "application/json"]
            if error.code == .diskFull { headers[.retryAfter] = "60" }
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(reason)\"}")))
        }
        let counts = PeerAudit.counts(outcomes)
        budget.spend(peer, counts.quarantined)
        let json = "{\"applied\":\(counts.applied),\"unchanged\":\(counts.unchanged),\"stale\":\(counts.stale),\"quarantined\":\(counts.quarantined)}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// The federation application: HTTPS with mutual TLS on `host:port` (port 0 picks one;
    /// `onRunning` learns it), its connections held to `connections`' limits.
    public static func application(
        replica: Replica, tls: TLSMaterial, policy: PeerPolicy, host: String, port: Int, logger: Logger,
        connections: ConnectionGuard = ConnectionGuard(listener: "federation"),
        freshness: @escaping @Sendable () -> RelayFreshness = { RelayFreshness() },
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        Application(
            router: router(replica: replica, policy: policy, logger: logger, freshness: freshness),
            server: try connections.serverBuilder(tls: tls.serverConfiguration()),
            configuration: .init(address: .hostname(host, port: port), serverName: "hanaro-\(policy.localAgency.rawValue)",
                                 availableConnectionsDelegate: connections.availableConnections),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}

/// How many refused versions each peer may push per window: past it, its pushes answer 429 with
/// `Retry-After` until the window ends (audited once per window), so a flood of refusals costs
/// bounded rows and work.
final class RefusalBudget: Sendable {
    let perWindow: Int
    let window: Duration
    private let state = Mutex<[AgencyID: (start: ContinuousClock.Instant, used: Int, audited: Bool)]>([:])

    init(perWindow: Int = 20_000, window: Duration = .seconds(600)) {
        self.perWindow = perWindow
        self.window = window
    }

    /// How long until `peer` may push again, or nil when it may now.
    func exhausted(_ peer: AgencyID) -> Duration? {
        let now = ContinuousClock.now
        return state.withLock { budgets in
            guard let budget = budgets[peer] else { return nil }
            if now - budget.start >= window {
                budgets[peer] = nil
                return nil
            }
            return budget.used >= perWindow ? window - (now - budget.start) : nil
        }
    }

    /// Counts refused versions of a push.
    func spend(_ peer: AgencyID, _ refused: Int) {
        guard refused > 0 else { return }
        let now = ContinuousClock.now
        state.withLock { budgets in
            var budget = budgets[peer] ?? (now, 0, false)
            if now - budget.start >= window { budget = (now, 0, false) }
            budget.used += refused
            budgets[peer] = budget
        }
    }

    /// True the first time in a window that a throttled push is to be audited.
    func claimAudit(_ peer: AgencyID) -> Bool {
        state.withLock { budgets in
            guard var budget = budgets[peer], !budget.audited else { return false }
            budget.audited = true
            budgets[peer] = budget
            return true
        }
    }
}

/// Counts of what peers delivered (their refusals are audited in the batch's transaction).
enum PeerAudit {
    /// `unchanged` includes the `stale` ones (older than those held), also counted apart.
    static func counts(_ outcomes: [WriteOutcome]) -> (applied: Int, unchanged: Int, stale: Int, quarantined: Int) {
        var applied = 0, unchanged = 0, stale = 0, quarantined = 0
        for outcome in outcomes {
            switch outcome {
            case .inserted, .replaced, .merged: applied += 1
            case .unchanged: unchanged += 1
            case .stale: unchanged += 1; stale += 1
            case .quarantined: quarantined += 1
            }
        }
        return (applied, unchanged, stale, quarantined)
    }

}
