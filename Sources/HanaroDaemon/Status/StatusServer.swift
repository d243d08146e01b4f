import Foundation
public import Hummingbird
public import Logging
import NIOCore
public import HanaroFederation

/// The status port (plain HTTP, default `127.0.0.1:9464`) for probes and Prometheus, and the
/// admin Unix socket.
///
/// | path | answer |
/// |---|---|
/// | `GET /healthz` | 200 while the process serves |
/// | `GET /readyz` | 200 when the replica is open, migrated and takes writes and the configuration is loaded; 503 with a JSON reason otherwise |
/// | `GET /status` | the ``NodeStatusReport`` as JSON (no personal data) |
/// | `GET /metrics` | Prometheus text format |
/// | `/admin/...` | the ``AdminAPI``, with `Authorization: Bearer <status.admin_token_file>` |
///
/// `/status` and `/metrics` serve the report ``StatusRefresher`` computed at most a second ago,
/// so probes never wait on the database; ``Node`` runs the port on its own ``ProbeThread``, so they
/// do not wait on a sync's work either.
public enum StatusServer {
    public static func application(
        status: NodeStatus, admin: AdminAPI, token: String?, host: String, port: Int, logger: Logger,
        connections: ConnectionGuard = ConnectionGuard(listener: "status"),
        eventLoopGroup: EventLoopGroupProvider = .singleton,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        Application(
            router: router(status: status, admin: admin, token: token),
            server: try connections.serverBuilder(),
            configuration: .init(address: .hostname(host, port: port), serverName: "hanaro-status",
                                 availableConnectionsDelegate: connections.availableConnections),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: eventLoopGroup,
            logger: logger)
    }

    /// The status port's routes (tests run them without a socket).
    public static func router(status: NodeStatus, admin: AdminAPI, token: String?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        router.get("readyz") { _, _ in
            guard let report = status.report else {
                return AdminAPI.json(503, ["status": "starting", "reason": "the first status report is not ready yet"])
            }
            guard report.ready else { return AdminAPI.json(503, ["status": "not ready", "reason": report.notReadyReason ?? "unknown"]) }
            return AdminAPI.json(200, ["status": "ready"])
        }
        router.get("status") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: status.json)))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: status.exposition)))
        }
        admin.addRoutes(to: router, actor: "admin:status-port") { request in
            guard let token else { return "the admin API is not enabled on the status port (no status.admin_token_file); use the admin socket" }
            guard let presented = request.headers[.authorization].flatMap(Self.bearerToken) else { return "a bearer token is required" }
            return Self.constantTimeEqual(presented, token) ? nil : "the bearer token is wrong"
        }
        return router
    }

    /// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
    /// (RFC 9110 §11.1), spaces around the token are ignored.
    static func bearerToken(_ header: String) -> String? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " "), trimmed[..<space].lowercased() == "bearer" else { return nil }
        let token = trimmed[space...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The admin API on a Unix socket; the socket file is made owner-only (0600) as soon as it
    /// exists, in a directory the node also keeps owner-only.
    public static func adminSocket(admin: AdminAPI, path: String, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: socketRouter(admin: admin),
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "hanaro-admin"),
            onServerRunning: { _ in _ = chmod(path, 0o600) },
            logger: logger)
    }

    /// The admin socket's routes: the socket's mode is its authentication.
    public static func socketRouter(admin: AdminAPI) -> Router<BasicRequestContext> {
        let router = Router()
        admin.addRoutes(to: router, actor: "admin:socket") { _ in nil }
        return router
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
