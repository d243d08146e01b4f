import Foundation
public import HanaroCore
public import HanaroFederation
public import HanaroStore
import Synchronization

/// Builds the node's status report from the replica, the freshness board, the peer links and the
/// adapters. ``refresh()`` is run once a second by ``StatusRefresher``; the status port serves
/// the last report, so a probe never waits on the database.
public final class NodeStatus: Sendable {
    let configuration: NodeConfiguration
    let replica: Replica
    let board: FreshnessBoard
    let links: [PeerLink]
    let adapters: [AdapterService]
    let tls: TLSMaterial
    let peerCertificates: PeerCertificateLog
    public let metrics: HanaroMetrics
    let version: String
    let startedAt = Date()
    let resyncs: ResyncJobs
    let current = Mutex<(report: NodeStatusReport?, json: [UInt8], metrics: String)>((nil, Array("{}".utf8), ""))
    let lastConflicts = Mutex<Int64?>(nil)
    let lastLinkApplied = Mutex<[AgencyID: Int]>([:])
    let lastLinkStale = Mutex<[AgencyID: Int]>([:])
    let lastWriteProbe = Mutex<(at: Date, error: String?)?>(nil)
    /// The listeners' connection guards, and how many evictions the metrics counted so far.
    let connections: [ConnectionGuard]
    let lastEvicted = Mutex<[String: Int]>([:])
    /// Pending deliveries are counted every 10 s (a scan of the change feed), not every second.
    let pendingCache = Mutex<[AgencyID: (at: Date, count: Int)]>([:])
    /// Keeps the log cosigned (nil without a signing key or peers).
    let witnessing: LogWitnessing?
    /// Cosignatures the newest checkpoint needs.
    let quorum: Int

    init(configuration: NodeConfiguration, replica: Replica, board: FreshnessBoard, links: [PeerLink], adapters: [AdapterService],
         tls: TLSMaterial, peerCertificates: PeerCertificateLog, metrics: HanaroMetrics, version: String, resyncs: ResyncJobs,
         connections: [ConnectionGuard] = [], witnessing: LogWitnessing? = nil, quorum: Int = 1) {
        self.connections = connections
        self.witnessing = witnessing
        self.quorum = quorum
        self.configuration = configuration
        self.replica = replica
        self.board = board
        self.links = links
        self.adapters = adapters
        self.tls = tls
        self.peerCertificates = peerCertificates
        self.metrics = metrics
        self.version = version
        self.resyncs = resyncs
    }

    /// The last report, as JSON.
    public var json: [UInt8] { current.withLock { $0.json } }
    /// The last report.
    public var report: NodeStatusReport? { current.withLock { $0.report } }
    /// The last metrics exposition.
    public var exposition: String { current.withLock { $0.metrics } }

    /// Recomputes the report and the metrics.
    public func refresh() async {
        let now = Date()
        var ready = true
        var notReady: String?
        var summary: ReplicaSummary?
        do {
            summary = try await replica.summary()
        } catch {
            ready = false
            notReady = "the replica cannot be read: \(error)"
        }
        if ready, let problem = await writeProbe(now: now) {
            ready = false
            notReady = problem
        }
        var rows: [NodeStatusReport.Agency] = []
        // Every agency with a file here has a row, and so has one heard of only through a relay
        // (reported as fresh as the relay's view of it).
        for id in AgencyID.allCases {
            let configured = configuration.agencies[id]
            guard configured != nil || Self.relayed(id, links: links, stale: 900, now: now) != nil else { continue }
            let agency = configured ?? AgencyConfiguration(id: id, koreanName: id.koreanName, englishName: id.englishName)
            rows.append(await row(agency, now: now))
        }
        var report = NodeStatusReport(
            node: configuration.agency.rawValue, version: version, startedAt: startedAt, uptimeSeconds: Int(now.timeIntervalSince(startedAt)),
            ready: ready, notReadyReason: notReady,
            replica: .init(programs: summary?.programs ?? 0, referrals: summary?.referrals ?? 0, openConflicts: summary?.openConflicts ?? 0,
                           conflictsLogged: summary?.conflictsLogged ?? 0, quarantined: summary?.quarantined ?? 0, digest: summary?.digest ?? "", headSeq: summary?.headSeq ?? 0),
            certificate: .init(nodeExpiresAt: tls.expiresAt, caExpiresAt: tls.caExpiresAt),
            agencies: rows)
        if configuration.api != nil, let outbox = try? await replica.outboxSummary() {
            report.webhooks = .init(activeSubscriptions: outbox.activeSubscriptions, disabledSubscriptions: outbox.disabledSubscriptions,
                                    pending: outbox.pending, delivered: outbox.delivered, failed: outbox.failed, oldestPendingSeconds: outbox.oldestPendingSeconds)
        }
        if let log = try? await replica.logStatus(), let origin = log.origin {
            let problems = witnessing?.problems.withLock { $0 } ?? [:]
            let equivocations = log.equivocations > 0 ? (try? await replica.equivocations()) ?? [] : []
            report.log = .init(origin: origin, size: log.size, checkpointSize: log.checkpointSize, checkpointAt: log.checkpointAt,
                               cosignedBy: log.cosigners.map(\.rawValue), quorum: quorum, quorumMet: log.cosigners.count >= quorum,
                               witnessProblems: Dictionary(uniqueKeysWithValues: problems.map { ($0.key.rawValue, $0.value) }),
                               witnessing: log.witnessed.map { .init(agency: $0.agency.rawValue, origin: $0.origin, cosignedSize: $0.size, cosignedAt: $0.updatedAt) },
                               equivocations: log.equivocations, lastEquivocation: equivocations.first.map { "\($0.agency): \($0.reason)" })
        }
        // Counters that follow the replica and the links.
        let logged = summary?.conflictsLogged ?? 0
        let previous = lastConflicts.withLock { value -> Int64? in defer { value = logged }; return value }
        metrics.countConflicts(Int(logged - (previous ?? logged)))
        for link in links {
            // (Federation failures are counted by the link itself, as they happen.)
            metrics.setClockSkew(link.peer, seconds: link.status.clockSkewSeconds ?? 0)
            let applied = link.status.applied
            let before = lastLinkApplied.withLock { seen -> Int in defer { seen[link.peer] = applied }; return seen[link.peer] ?? 0 }
            metrics.countRecords(link.peer, kind: "federation", applied - before)
            let stale = link.status.stale
            let staleBefore = lastLinkStale.withLock { seen -> Int in defer { seen[link.peer] = stale }; return seen[link.peer] ?? 0 }
            metrics.countStale(link.peer, stale - staleBefore)
        }
        for guardian in connections {
            let counts = guardian.counts
            let before = lastEvicted.withLock { seen -> Int in defer { seen[guardian.listener] = counts.evicted }; return seen[guardian.listener] ?? 0 }
            metrics.updateConnections(listener: guardian.listener, pending: counts.pending, established: counts.established, newlyEvicted: counts.evicted - before)
        }
        metrics.update(from: report)
        let json = (try? NodeStatusReport.encoder.encode(report)).map { Array($0) } ?? Array("{}".utf8)
        let exposition = metrics.exposition()
        current.withLock { $0 = (report, json, exposition) }
    }

    /// Checks that the replica takes writes (every 5 s): a full disk or a read-only file makes
    /// the node unready with the reason.
    private func writeProbe(now: Date) async -> String? {
        if let last = lastWriteProbe.withLock({ $0 }), now.timeIntervalSince(last.at) < 5 { return last.error }
        var problem: String?
        do {
            try await replica.author([], by: configuration.agency, source: .writeProbe, checkpoint: Checkpoint(stream: .writeProbe, value: "\(Int(now.timeIntervalSince1970))"))
        } catch {
            problem = "the replica does not take writes: \(error)"
        }
        lastWriteProbe.withLock { $0 = (now, problem) }
        return problem
    }

    private func row(_ agency: AgencyConfiguration, now: Date) async -> NodeStatusReport.Agency {
        let stale = agency.staleAfterSeconds
        let adapter = adapters.first { $0.agency == agency.id }
        let link = links.first { $0.peer == agency.id }
        var via = "none"
        var inbound: NodeStatusReport.Direction?
        var outbound: NodeStatusReport.Direction?
        var pending: Int?
        if let adapter {
            via = agency.id == configuration.agency ? "self+adapter" : "adapter"
            inbound = await direction(agency.id, .inbound, stale: stale, now: now)
            outbound = await direction(agency.id, .outbound, stale: stale, now: now)
            pending = await pendingOutbound(adapter, now: now)
        } else if let link {
            via = "federation"
            inbound = Self.direction(of: link.status, stale: stale, now: now)
        } else if agency.id == configuration.agency {
            via = "self"
            inbound = NodeStatusReport.Direction(state: .fresh, lastSuccessAt: now, lagSeconds: 0, consecutiveFailures: 0)
        } else if let hub = agency.adapter?.runBy, let hubLink = links.first(where: { $0.peer == hub }) {
            via = "federation via \(hub.rawValue)"
            // The hub's own view of the agency it reads, when it sends one; else the link to it.
            inbound = Self.relayed(agency.id, links: [hubLink], stale: stale, now: now)?.1 ?? Self.direction(of: hubLink.status, stale: stale, now: now)
        } else if let (relay, relayed) = Self.relayed(agency.id, links: links, stale: stale, now: now) {
            via = "federation via \(relay.rawValue)"
            inbound = relayed
        }
        let worst = [inbound, outbound].compactMap { $0 }.max { $0.state < $1.state }
        let main = inbound ?? worst
        return NodeStatusReport.Agency(
            agency: agency.id.rawValue, name: agency.koreanName, via: via, state: worst?.state ?? .never,
            lastSuccessAt: main?.lastSuccessAt, lagSeconds: main?.lagSeconds,
            consecutiveFailures: max(inbound?.consecutiveFailures ?? 0, outbound?.consecutiveFailures ?? 0),
            lastError: worst?.lastError ?? inbound?.lastError, pendingOutbound: pending,
            certExpiresAt: agency.id == configuration.agency ? tls.expiresAt : peerCertificates.expiry(of: agency.id),
            staleAfterSeconds: stale, inbound: inbound, outbound: outbound,
            resyncRunning: await resyncs.isRunning(agency.id), usableItems: inbound?.usableItems, quarantinedItems: inbound?.quarantinedItems)
    }

    private func pendingOutbound(_ adapter: AdapterService, now: Date) async -> Int? {
        let cached = pendingCache.withLock { $0[adapter.agency] }
        if let cached, now.timeIntervalSince(cached.at) < 10 { return cached.count }
        guard let count = try? await adapter.ingest.pendingOutbound(limit: 10_000) else { return cached?.count }
        pendingCache.withLock { $0[adapter.agency] = (now, count) }
        return count
    }

    private func direction(_ agency: AgencyID, _ direction: FreshnessBoard.Direction, stale: Int, now: Date) async -> NodeStatusReport.Direction {
        let entry = await board.entry(agency, direction)
        let state = FreshnessBoard.state(of: entry, staleAfterSeconds: stale, now: now)
        return NodeStatusReport.Direction(
            state: state, lastSuccessAt: entry?.lastSuccessAt, lagSeconds: entry?.asOf.map { max(0, Int(now.timeIntervalSince($0))) },
            consecutiveFailures: entry?.consecutiveFailures ?? 0, lastError: entry?.lastError, lastErrorKind: entry?.lastErrorKind,
            usableItems: entry?.usableItems, quarantinedItems: entry?.refusedItems)
    }

    /// An agency this node hears of only through relays: the best relay's view of it, never
    /// fresher than this node's own link to that relay.
    static func relayed(_ agency: AgencyID, links: [PeerLink], stale: Int, now: Date) -> (AgencyID, NodeStatusReport.Direction)? {
        var best: (AgencyID, NodeStatusReport.Direction)?
        for link in links {
            let status = link.status
            guard let view = status.relayView.agencies[agency] else { continue }
            let own = direction(of: status, stale: stale, now: now)
            let theirs = FreshnessBoard.State(rawValue: view.state) ?? .never
            var state = max(theirs, own.state)
            if state == .fresh, let asOf = view.asOf, now.timeIntervalSince(asOf) > Double(stale) { state = .stale }
            let direction = NodeStatusReport.Direction(
                state: state, lastSuccessAt: view.asOf, lagSeconds: view.asOf.map { max(0, Int(now.timeIntervalSince($0))) },
                consecutiveFailures: own.consecutiveFailures, lastError: own.lastError ?? (theirs == .fresh ? nil : "\(link.peer.rawValue) reports \(agency.rawValue) \(view.state)"),
                lastErrorKind: own.lastErrorKind)
            if best == nil || direction.state < best!.1.state { best = (link.peer, direction) }
        }
        return best
    }

    /// This node's own view of every agency, for the nodes that pull from it (a relay's view).
    public var relayFreshness: RelayFreshness {
        guard let report else { return RelayFreshness() }
        var view: [AgencyID: RelayFreshness.View] = [:]
        for row in report.agencies {
            guard let agency = AgencyID(rawValue: row.agency), row.via != "none" else { continue }
            let asOf = row.lagSeconds.map { report.startedAt.addingTimeInterval(TimeInterval(report.uptimeSeconds - $0)) }
            view[agency] = RelayFreshness.View(state: row.state.rawValue, asOf: asOf)
        }
        return RelayFreshness(view)
    }

    /// A federation link's freshness: `fresh` only when a pull reached the peer's head within
    /// `stale_after`.
    static func direction(of status: PeerLinkStatus, stale: Int, now: Date) -> NodeStatusReport.Direction {
        var state: FreshnessBoard.State
        if status.consecutiveFailures > 0 {
            state = .failing
        } else if status.clockSkewSeconds != nil {
            // The peer answers, and its versions are held for a clock skew: not fresh.
            state = .degraded
        } else if let caughtUp = status.lastCaughtUpAt {
            state = now.timeIntervalSince(caughtUp) > Double(stale) ? .stale : .fresh
        } else {
            state = .never
        }
        return NodeStatusReport.Direction(
            state: state, lastSuccessAt: status.lastCaughtUpAt, lagSeconds: status.lastCaughtUpAt.map { max(0, Int(now.timeIntervalSince($0))) },
            consecutiveFailures: status.consecutiveFailures, lastError: status.lastError ?? status.clockSkewReason,
            lastErrorKind: status.lastErrorCode.map { FreshnessBoard.FailureKind($0) } ?? (status.clockSkewSeconds != nil ? .clockSkew : nil))
    }
}
