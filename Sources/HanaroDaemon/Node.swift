public import HanaroCore
public import HanaroFederation
public import HanaroStore
public import Logging
import HanaroAdapters
import Hummingbird
import Foundation
import NIOSSL
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Why a node could not start. One line, naming the file or key and what to do.
public struct NodeStartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One Hanaro node, wired: the replica, the federation port (mutual TLS) and a link to every
/// peer. ``run(onFederationPort:)`` runs it as a swift-service-lifecycle `ServiceGroup` until
/// SIGTERM/SIGINT; shutdown lets the batch in flight commit or roll back (each is one transaction).
public final class Node: Sendable {
    public let configuration: NodeConfiguration
    public let replica: Replica
    public let tls: TLSMaterial
    public let links: [PeerLink]
    /// One service per agency whose adapter this node runs (its own; in hub mode, others too).
    public let adapters: [AdapterService]
    /// Freshness per agency and direction, for the status port.
    public let board: FreshnessBoard
    /// The status report and metrics served on the status port.
    public let status: NodeStatus
    let resync: ResyncService
    let admin: AdminAPI
    let retry: QuarantineRetry
    let peerCertificates = PeerCertificateLog()
    /// The limits of the federation port's and the status port's connections (metrics read them).
    let federationConnections = ConnectionGuard(listener: "federation")
    let statusConnections: ConnectionGuard = {
        var limits = ConnectionGuard.Limits()
        limits.maxConnections = 128
        return ConnectionGuard(listener: "status", limits: limits)
    }()
    /// The Agency API's listener limits (nil when `api.listen` is not set).
    let apiConnections: ConnectionGuard?
    let metrics: HanaroMetrics
    let signer: AgencySigningKey
    let adapterHTTP: [AgencyHTTP]
    let client: PeerClient
    let witnessing: LogWitnessing
    let logger: Logger
    /// Held for the node's lifetime: the exclusive lock on its data directory.
    let dataLock: DataDirectoryLock

    /// Opens the replica and loads the TLS material.
    /// - Throws: ``NodeStartupError`` with a one-line reason.
    public init(configuration: NodeConfiguration, logger: Logger, version: String = "dev") throws(NodeStartupError) {
        self.configuration = configuration
        self.logger = logger
        if let problem = NodeConfiguration.directoryProblems(configuration.dataDirectory, file: "node", key: "node.data_dir").first {
            throw NodeStartupError(problem)
        }
        // One data directory serves one process: a second `hanaro serve` on it would share the
        // replica's writer and race its checkpoints.
        dataLock = try DataDirectoryLock(directory: configuration.dataDirectory)
        do {
            let key: ReplicaKey
            if FileManager.default.fileExists(atPath: configuration.keyFile) {
                key = try ReplicaKey.load(from: configuration.keyFile)
            } else if !FileManager.default.fileExists(atPath: configuration.replicaPath) {
                // First start: a new replica gets a new key.
                key = try ReplicaKey.create(at: configuration.keyFile)
            } else {
                throw StoreError(.keyFile, "node.key_file \(configuration.keyFile) is missing but the replica \(configuration.replicaPath) exists; restore the key file from backup (a new key could not read stored personal fields)")
            }
            // Every version this agency authors is signed; every version received is verified
            // against the agencies' listed keys, whoever relayed it.
            let signer: AgencySigningKey
            do {
                signer = try AgencySigningKey(text: (try? String(contentsOfFile: configuration.signingKey, encoding: .utf8)) ?? "")
            } catch {
                throw NodeStartupError("federation.signing_key \(configuration.signingKey) \(error.description)")
            }
            guard signer.agency == configuration.agency else {
                throw NodeStartupError("federation.signing_key \(configuration.signingKey) is a key of \(signer.agency.rawValue), not of \(configuration.agency.rawValue)")
            }
            var opening = signer
            for file in configuration.previousSigningKeys {
                do {
                    opening.previous.append(try AgencySigningKey(text: (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""))
                } catch {
                    throw NodeStartupError("federation.previous_signing_keys \(file) \(error.description)")
                }
            }
            self.signer = signer
            var options = Replica.Options()
            options.authentication = VersionAuthentication(signer: opening, keys: configuration.agencies.values.flatMap(\.signingKeys))
            // The search index and webhook matching cost every apply: only a node serving the API keeps them.
            options.agencyAPI = configuration.api != nil
            replica = try Replica(path: configuration.replicaPath, key: key, options: options)
            // Files of an older version, or created under another umask, become owner-only too.
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: configuration.replicaPath + suffix) {
                _ = chmod(configuration.replicaPath + suffix, 0o600)
            }
        } catch {
            throw NodeStartupError("\(error)")
        }
        do {
            tls = try TLSMaterial(certificatePath: configuration.certificate, keyPath: configuration.privateKey, caPath: configuration.ca)
        } catch {
            throw NodeStartupError(error.message)
        }
        guard tls.agency == configuration.agency else {
            throw NodeStartupError("federation.certificate \(configuration.certificate) names \(tls.agency.rawValue), but node.agency is \(configuration.agency.rawValue); use this agency's certificate")
        }
        let client = PeerClient(tls: tls, requestTimeout: .seconds(Int64(configuration.longPollSeconds + 15)),
                                compressPages: configuration.compressPages)
        let replica = self.replica
        self.client = client
        let metrics = HanaroMetrics(version: version)
        self.metrics = metrics
        apiConnections = configuration.api.map { api in
            var limits = ConnectionGuard.Limits()
            limits.maxConnections = api.maxConnections
            return ConnectionGuard(listener: "api", limits: limits)
        }
        links = configuration.peers.compactMap { peer in
            guard let url = peer.federationURL else { return nil }
            return PeerLink(peer: peer.id, localAgency: configuration.agency, url: url, client: client, replica: replica, logger: logger,
                            pageSize: configuration.pageSize, longPollMilliseconds: configuration.longPollSeconds * 1000,
                            pin: peer.fingerprint, onFailure: { agency, error in metrics.countFailure(agency, kind: FreshnessBoard.FailureKind(error.code)) })
        }
        let board = FreshnessBoard()
        self.board = board
        var adapterByAgency: [AgencyID: any AgencyAdapter] = [:]
        var ingests: [(AdapterIngest, AdapterConfiguration)] = []
        var transports: [AgencyHTTP] = []
        for agency in configuration.adapterAgencies {
            guard let adapter = agency.adapter else { continue }
            let settings = adapter.settings
            let http: AgencyHTTP
            do { http = try AgencyHTTP(agency: agency.id, settings: settings) } catch {
                throw NodeStartupError("agencies/\(agency.id.rawValue).yaml: \(error.message)")
            }
            transports.append(http)
            let native = AgencyFormats.makeAdapter(for: agency.id, settings: settings, http: http)
            adapterByAgency[agency.id] = native
            ingests.append((AdapterIngest(adapter: native, replica: replica, pageSize: adapter.pageSize, readsReferralEvents: settings.readsReferralEvents), adapter))
        }
        let retry = QuarantineRetry(replica: replica, localAgency: configuration.agency, adapters: adapterByAgency)
        self.retry = retry
        let services = ingests.map { ingest, adapter in
            AdapterService(ingest: ingest, pollIntervalSeconds: adapter.pollIntervalSeconds, board: board, logger: logger, metrics: metrics, retry: retry,
                           degradedAfter: adapter.degradedAfter)
        }
        adapters = services
        adapterHTTP = transports
        let witnessList = configuration.peers.compactMap { peer in peer.federationURL.map { LogWitnessing.Witness(agency: peer.id, url: $0, pin: peer.fingerprint) } }
        let witnessing = LogWitnessing(replica: replica, client: client, witnesses: witnessList,
                                       interval: .seconds(configuration.checkpointSeconds), logger: logger)
        self.witnessing = witnessing
        let jobs = ResyncJobs()
        let status = NodeStatus(configuration: configuration, replica: replica, board: board, links: links, adapters: services, tls: tls,
                                peerCertificates: peerCertificates, metrics: metrics, version: version, resyncs: jobs,
                                connections: [federationConnections, statusConnections] + (apiConnections.map { [$0] } ?? []),
                                witnessing: witnessing, quorum: min(configuration.witnessQuorum, witnessList.count))
        self.status = status
        // A finished resync's outcome is on /status when `hanaro resync --wait` returns.
        resync = ResyncService(jobs: jobs, replica: replica, links: links, adapters: services, logger: logger,
                               refreshStatus: { await status.refresh() })
        admin = AdminAPI(node: configuration, replica: replica, resync: resync, jobs: jobs, retry: retry, metrics: metrics, logger: logger)
    }

    /// Who may connect: every configured agency but this one, with its pinned fingerprint.
    public var policy: PeerPolicy {
        PeerPolicy(localAgency: configuration.agency,
                   peers: Dictionary(uniqueKeysWithValues: configuration.agencies.values.filter { $0.id != configuration.agency }.map { ($0.id, $0.fingerprint) }),
                   seen: peerCertificates)
    }

    /// Runs until SIGTERM or SIGINT.
    /// - Throws: ``NodeStartupError`` when a port cannot be bound; otherwise what a service threw.
    public func run(onFederationPort: @escaping @Sendable (Int) async -> Void = { _ in }, onStatusPort: @escaping @Sendable (Int) async -> Void = { _ in },
                    onAPIPort: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        do {
            try await runServices(onFederationPort: onFederationPort, onStatusPort: onStatusPort, onAPIPort: onAPIPort)
        } catch {
            await shutdownClients()
            throw Self.explain(error, configuration: configuration)
        }
        await shutdownClients()
    }

    private func runServices(onFederationPort: @escaping @Sendable (Int) async -> Void, onStatusPort: @escaping @Sendable (Int) async -> Void,
                             onAPIPort: @escaping @Sendable (Int) async -> Void) async throws {
        let status = self.status
        let server = try PeerServer.application(
            replica: replica, tls: tls, policy: policy, host: configuration.federationHost, port: configuration.federationPort,
            logger: logger, connections: federationConnections, freshness: { status.relayFreshness }, onRunning: onFederationPort)
        await self.status.refresh()
        let probeThread = await ProbeThread()
        defer { Task { await probeThread.shutdown() } }
        if let refused = probeThread.priority {
            logger.notice("status port thread: \(refused)")
        } else {
            logger.debug("status port thread at nice \(ProbeThread.niceness)")
        }
        let statusServer = try StatusServer.application(status: status, admin: admin, token: configuration.adminToken,
                                                        host: configuration.statusHost, port: configuration.statusPort, logger: logger,
                                                        connections: statusConnections, eventLoopGroup: .shared(probeThread.group),
                                                        onRunning: onStatusPort)
        try Self.prepareSocket(configuration.adminSocket)
        let adminSocket = StatusServer.adminSocket(admin: admin, path: configuration.adminSocket, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: server), .init(service: OnProbeThread(service: statusServer, thread: probeThread)),
                       .init(service: adminSocket),
                       .init(service: StatusRefresher(status: status), successTerminationBehavior: .ignore),
                       .init(service: resync, successTerminationBehavior: .ignore),
                       .init(service: LinksService(links: links), successTerminationBehavior: .ignore),
                       .init(service: Housekeeping(retry: retry, replica: replica, agency: configuration.agency, logger: logger), successTerminationBehavior: .ignore),
                       .init(service: WitnessService(witnessing: witnessing), successTerminationBehavior: .ignore)]
                + adapters.map { .init(service: $0, successTerminationBehavior: .ignore) }
                + (try apiServices(onAPIPort: onAPIPort)),
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        if let from = replica.clampedClockFrom {
            let ahead = (Int64(from) - Int64(Date().timeIntervalSince1970 * 1000)) / 1000
            logger.critical("the replica's logical clock was \(ahead) s ahead of the wall clock (the node ran with its clock set ahead); brought back to now so that peers accept this node's writes — check NTP",
                            metadata: ["ahead_s": "\(ahead)"])
            do {
                try await replica.appendAudit(actor: "node", action: "clock.clamped", target: "replica", outcome: "ok",
                                              detail: "logical clock \(ahead) s ahead of the wall clock at start; brought back to the wall clock")
            } catch {
                logger.error("could not audit the clock clamp", metadata: ["reason": "\(error.message)"])
            }
        }
        let group = ServiceGroup(configuration: groupConfiguration)
        logger.info("node starting", metadata: ["agency": "\(configuration.agency.rawValue)", "federation": "\(configuration.federationHost):\(configuration.federationPort)",
                                                "peers": "\(links.map(\.peer.rawValue))", "adapters": "\(adapters.map(\.agency.rawValue))"])
        defer { logger.info("node stopped") }
        try await group.run()
    }

    /// The Agency API's listener and its webhook sender, when `api.listen` is set.
    private func apiServices(onAPIPort: @escaping @Sendable (Int) async -> Void) throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        guard let api = configuration.api, let connections = apiConnections else { return [] }
        var tls: TLSConfiguration?
        if let certificate = api.certificate, let key = api.privateKey {
            do {
                tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }, privateKey: .file(key))
            } catch {
                throw NodeStartupError("api.certificate \(certificate) / api.private_key \(key): \(error); give a PEM certificate chain and its key")
            }
        }
        let server = try AgencyAPI(agency: configuration.agency, configuration: api, replica: replica, metrics: metrics, logger: logger)
            .application(host: api.host, port: api.port, tls: tls, connections: connections, onRunning: onAPIPort)
        return [.init(service: server),
                .init(service: WebhookService(replica: replica, signer: signer, metrics: metrics, logger: logger), successTerminationBehavior: .ignore)]
    }

    /// Checks the admin socket's place: its directory must be owner-only (the socket is made
    /// 0600 once bound, and the directory closes the moment before), and a socket file left there
    /// is removed only when no node answers on it.
    static func prepareSocket(_ path: String) throws(NodeStartupError) {
        let directory = (path as NSString).deletingLastPathComponent
        if let mode = (try? FileManager.default.attributesOfItem(atPath: directory))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw NodeStartupError("admin.socket \(path): its directory \(directory) is open to others (mode \(String(mode, radix: 8))); make it owner-only (chmod 700) or set admin.socket elsewhere")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
        guard attributes[.type] as? FileAttributeType == .typeSocket else {
            throw NodeStartupError("admin.socket \(path) exists and is not a socket; remove it or choose another path")
        }
        if UnixSocketProbe.answers(path) {
            throw NodeStartupError("admin.socket \(path) belongs to a node that is running; stop it first, or give this node its own data_dir and admin.socket")
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    func shutdownClients() async {
        await client.shutdown()
        for http in adapterHTTP { await http.shutdown() }
    }

    /// Turns a bind failure into the one line an operator needs.
    static func explain(_ error: any Error, configuration: NodeConfiguration) -> any Error {
        let text = String(describing: error)
        if text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98") {
            return NodeStartupError("cannot listen on \(configuration.federationHost):\(configuration.federationPort) (federation.listen) or \(configuration.statusHost):\(configuration.statusPort) (status.listen): the address is already in use; stop the other process or change the port")
        }
        if text.contains("Permission denied") || text.contains("errno: 13") {
            return NodeStartupError("cannot listen on \(configuration.federationHost):\(configuration.federationPort) (federation.listen): permission denied; use a port above 1024 or grant CAP_NET_BIND_SERVICE")
        }
        return error
    }
}

/// An exclusive lock on a data directory (`flock` on `<data_dir>/hanaro.lock`, which holds the
/// holder's pid), held while the value lives; the kernel releases it if the process dies.
final class DataDirectoryLock: Sendable {
    let path: String
    let descriptor: Int32

    init(directory: String) throws(NodeStartupError) {
        path = directory + "/hanaro.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw NodeStartupError("cannot open \(path) to lock node.data_dir: \(String(cString: strerror(errno))); check that the service user owns \(directory)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw NodeStartupError("node.data_dir \(directory) is in use by another hanaro process\(holder.isEmpty ? "" : " (pid \(holder))") holding \(path); one data directory serves one node — stop the other, or give this one its own data_dir")
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// The node's periodic chores: every 30 s, versions held for a clock skew are retried (those the
/// clock now allows apply); at start and then hourly, the personal fields of this agency's
/// referrals whose consented retention has ended are purged (``Replica/purgeExpiredPersonal``).
struct Housekeeping: Service {
    let retry: QuarantineRetry
    let replica: Replica
    let agency: AgencyID
    let logger: Logger

    static let retentionEvery: Duration = .seconds(3600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPurge: ContinuousClock.Instant?
            while !Task.isCancelled {
                do throws(AdminError) {
                    let (released, ahead) = try await retry.retryClockSkewed()
                    if released > 0 { logger.notice("versions held for a clock skew applied", metadata: ["released": "\(released)", "still_ahead": "\(ahead)"]) }
                } catch {
                    logger.warning("retrying clock-skewed versions failed", metadata: ["reason": "\(error.message)"])
                }
                if lastPurge.map({ ContinuousClock.now - $0 >= Self.retentionEvery }) ?? true {
                    lastPurge = .now
                    let today = LocalDate.inKorea(secondsSince1970: Int64(Date().timeIntervalSince1970))
                    do throws(StoreError) {
                        let purged = try await replica.purgeExpiredPersonal(origin: agency, before: today)
                        if purged > 0 { logger.notice("personal fields past their retention purged", metadata: ["referrals": "\(purged)"]) }
                    } catch {
                        logger.warning("purging personal fields past their retention failed; tried again within the hour", metadata: ["reason": "\(error.message)"])
                    }
                }
                try? await Task.sleep(for: .seconds(30))
            }
        }
    }
}

/// Keeps the agency's log checkpointed and cosigned until graceful shutdown, then signs a last
/// checkpoint (so that a copy of the file taken after a clean stop is anchored to its end).
struct WitnessService: Service {
    let witnessing: LogWitnessing

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await witnessing.run()
        }
    }
}

/// Runs every peer link until graceful shutdown.
struct LinksService: Service {
    let links: [PeerLink]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for link in links { group.addTask { await link.run() } }
            }
        }
    }
}
