import Crypto
import Foundation
import HTTPTypes
public import HanaroCore
public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import UnixSignals
public import HummingbirdCore
public import NIOSSL

/// Serves a simulated agency like Hummingbird's `Application` does, except that the `Date` of every
/// answer comes from the simulator's own clock — the signpost of an adapter's read — so that tests
/// can move the agency's time by hand instead of waiting for it (Hummingbird stamps answers from
/// the machine's clock, which no test controls).
public struct SimulatorApplication: Service {
    let responder: RouterResponder<BasicRequestContext>
    let server: HTTPServerBuilder
    let configuration: ServerConfiguration
    let simulator: AgencySimulator
    let logger: Logger
    let onRunning: @Sendable (Int) async -> Void

    public func run() async throws {
        let responder = self.responder, simulator = self.simulator, logger = self.logger, serverName = configuration.serverName
        let server = try self.server.buildServer(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger) {
            request, responseWriter, channel in
            let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = simulator.httpDate()
            if let serverName { response.headers[.server] = serverName }
            try await responseWriter.write(response: response.head, body: response.body)
        } onServerRunning: { [onRunning] channel in
            await onRunning(channel.localAddress?.port ?? 0)
        }
        try await server.run()
    }
}

/// The HTTP(S) server of a simulated agency: its native API (see the format files) and the
/// control endpoints under `/_sim/` (create, change, delete programs; create and advance
/// referrals; faults). Control endpoints never show a person's data.
public enum SimulatorServer {
    /// The application serving `simulator` on `host:port` (port 0 picks one; `onRunning` learns it).
    /// - Parameter tls: serve HTTPS with this configuration (as the agencies do), or plain HTTP.
    public static func application(
        simulator: AgencySimulator, host: String, port: Int, tls: TLSConfiguration? = nil, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> SimulatorApplication {
        let router = Router()
        addControlRoutes(router, simulator: simulator)
        switch simulator.agency {
        case .semas: SEMASAPI.addRoutes(router, simulator: simulator)
        case .koreg: DataGoKrAPI.addRoutes(router, simulator: simulator, flavour: .koreg)
        case .kodit: KODITAPI.addRoutes(router, simulator: simulator)
        case .kamco: KAMCOAPI.addRoutes(router, simulator: simulator)
        case .kinfa: DataGoKrAPI.addRoutes(router, simulator: simulator, flavour: .kinfa)
        case .ewpc: EWPCAPI.addRoutes(router, simulator: simulator)
        }
        return SimulatorApplication(
            responder: router.buildResponder(), server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
            configuration: ServerConfiguration(address: .hostname(host, port: port), serverName: "agency-simulator/\(simulator.agency.rawValue)"),
            simulator: simulator, logger: logger, onRunning: onRunning)
    }

    /// Serves until SIGINT/SIGTERM.
    public static func run(
        simulator: AgencySimulator, host: String, port: Int, tls: TLSConfiguration?, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let app = try application(simulator: simulator, host: host, port: port, tls: tls, logger: logger, onRunning: onRunning)
        try await ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }

    /// A server TLS configuration from PEM files (the agency's certificate and key).
    public static func tlsConfiguration(certificatePath: String, keyPath: String) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        configuration.shutdownTimeout = .milliseconds(300)
        return configuration
    }

    static func addControlRoutes(_ router: Router<BasicRequestContext>, simulator: AgencySimulator) {
        let sim = router.group("_sim")
        sim.get("health") { _, _ in
            jsonResponse(["agency": simulator.agency.rawValue, "programs": await simulator.programCount, "native_requests": await simulator.nativeRequests])
        }
        sim.post("programs") { _, _ in
            let program = await simulator.createProgram()
            return jsonResponse(["id": program.id, "updated_at": program.updatedAt.digits], status: .created)
        }
        sim.post("programs/:id/change") { _, context in
            guard let program = await simulator.changeProgram(context.parameters.get("id") ?? "") else { return jsonResponse(["error": "no such program"], status: .notFound) }
            return jsonResponse(["id": program.id, "updated_at": program.updatedAt.digits])
        }
        sim.delete("programs/:id") { _, context in
            guard let program = await simulator.deleteProgram(context.parameters.get("id") ?? "") else { return jsonResponse(["error": "no such program"], status: .notFound) }
            return jsonResponse(["id": program.id, "updated_at": program.updatedAt.digits])
        }
        sim.post("referrals") { request, context in
            let body = try await request.body.collect(upTo: 1 << 16)
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            guard let target = (object["target"] as? String).flatMap(AgencyID.init(rawValue:)), target != simulator.agency else {
                return jsonResponse(["error": "body must be {\"target\": AGENCY} naming another agency"], status: .badRequest)
            }
            // Optional field overrides (tests use known names to prove they never leak).
            let overrides = (object["fields"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            let id = await simulator.createReferral(to: target, fields: overrides)
            return jsonResponse(["referral_id": id], status: .created)
        }
        sim.post("referrals/:id/status") { request, context in
            let body = try await request.body.collect(upTo: 1 << 16)
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            guard let status = object["status"] as? String, ReferralStatus(name: status) != nil else {
                return jsonResponse(["error": "body must be {\"status\": one of \(ReferralStatus.allCases.map(\.name))}"], status: .badRequest)
            }
            let known = await simulator.setReferralStatus(context.parameters.get("id") ?? "", to: status, note: object["note"] as? String)
            return known ? jsonResponse(["ok": true]) : jsonResponse(["error": "no such referral"], status: .notFound)
        }
        sim.get("intake") { _, _ in
            // What reached the intake, without personal fields (the control view is not the agency's system).
            let intake = await simulator.intakeSnapshot()
            var view: [String: Any] = [:]
            for (id, fields) in intake {
                view[id] = ["status": fields["sttsCd"] ?? "", "origin": fields["orgnAgency"] ?? "", "target": fields["trgtAgency"] ?? "",
                            "has_personal_fields": !(fields["ownrNm"] ?? "").isEmpty]
            }
            return jsonResponse(view)
        }
        sim.post("faults") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            guard let faults = try? JSONDecoder().decode(SimulatorFaults.self, from: Data(body.readableBytesView)) else {
                return jsonResponse(["error": "body must be a JSON object of fault counts (latency_ms, error_burst, rate_limited, truncate, duplicate_pages, change_while_paging, malformed_records)"], status: .badRequest)
            }
            await simulator.setFaults(faults)
            return jsonResponse(["ok": true])
        }
    }

    static func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: NativeText.json(object))))
    }

    /// A page of a list answered natively: rendered now, or — for a program list (`cached`) while
    /// the simulator keeps its answers (``AgencySimulator/cacheProgramPages(_:)``) — the bytes
    /// rendered for the same window before.
    /// A render that yields nil (a text the native encoding cannot carry) answers 500.
    static func listAnswer(_ simulator: AgencySimulator, cached: Bool, since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int,
                           contentType: String, digest: Bool = false, render: () async -> [UInt8]?) async -> Response {
        let kept = cached ? await simulator.renderedProgramPage(since: since, until: until, offset: offset, limit: limit) : (key: "", bytes: nil, version: 0)
        if let bytes = kept.bytes { return await native(bytes, contentType: contentType, simulator: simulator, digest: digest) }
        guard let bytes = await render() else { return Response(status: .internalServerError) }
        if cached { await simulator.keepRenderedProgramPage(kept.key, bytes, version: kept.version) }
        return await native(bytes, contentType: contentType, simulator: simulator, digest: digest)
    }

    /// A native answer: the body (cut short when a truncation fault is pending), its type, and
    /// with `digest` an RFC 9530 `Repr-Digest` of the whole body (as file exports publish a checksum).
    static func native(_ bytes: [UInt8], contentType: String, simulator: AgencySimulator, status: HTTPResponse.Status = .ok, digest: Bool = false) async -> Response {
        var body = bytes
        var headers: HTTPFields = [.contentType: contentType]
        if digest { headers[HTTPField.Name("Repr-Digest")!] = "sha-256=:\(Data(SHA256.hash(data: bytes)).base64EncodedString()):" }
        if await simulator.takeTruncation() { body = Array(body.prefix(body.count / 2)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func rateLimited(_ seconds: Int) -> Response {
        Response(status: .tooManyRequests, headers: [.retryAfter: String(seconds), .contentType: "text/plain"],
                 body: .init(byteBuffer: ByteBuffer(string: "Too Many Requests")))
    }
}
