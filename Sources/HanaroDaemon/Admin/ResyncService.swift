import Foundation
public import HanaroCore
import HanaroFederation
import HanaroStore
import Logging
public import ServiceLifecycle

/// Carries out the resyncs admins ask for, one at a time, recording progress in ``ResyncJobs``.
///
/// - An agency whose adapter runs here: its programs and referral events are read again (from
///   the beginning with `full`), then pending referrals delivered.
/// - An agency read over federation: with `full`, the peer's feed is read again from the start
///   (its cursor becomes `<epoch> 0 full`); otherwise the link catches up now.
///
/// Either way nothing is lost or duplicated: merging by version vector is idempotent, so
/// reading everything again changes neither the counts nor the digest unless something was
/// missing.
public final class ResyncService: Service, Sendable {
    let jobs: ResyncJobs
    let replica: Replica
    let links: [PeerLink]
    let adapters: [AdapterService]
    let logger: Logger
    let requests: AsyncStream<(String, AgencyID?, Bool)>
    let continuation: AsyncStream<(String, AgencyID?, Bool)>.Continuation
    /// Brings the status port's report up to date (``NodeStatus/refresh()``) before a job is
    /// marked finished: `/status` otherwise trails by up to its refresh interval, and a script
    /// reading it right after `hanaro resync --wait` would see the agency as before.
    let refreshStatus: @Sendable () async -> Void

    init(jobs: ResyncJobs, replica: Replica, links: [PeerLink], adapters: [AdapterService], logger: Logger,
         refreshStatus: @escaping @Sendable () async -> Void = {}) {
        self.refreshStatus = refreshStatus
        self.jobs = jobs
        self.replica = replica
        self.links = links
        self.adapters = adapters
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// The agencies a resync can reach from this node.
    public var resyncable: [AgencyID] { (adapters.map(\.agency) + links.map(\.peer)).sorted() }

    /// Queues a resync of `agency` (nil: all).
    /// - Throws: a message when this node neither reads that agency's adapter nor pulls from its node.
    func request(_ agency: AgencyID?, full: Bool) async throws(AdminError) -> ResyncJob {
        if let agency, !resyncable.contains(agency) {
            throw AdminError(.badRequest, "this node neither runs \(agency.rawValue)'s adapter nor pulls from its node; resync it where its data enters (\(resyncable.map(\.rawValue).joined(separator: ", ")))")
        }
        let job = await jobs.create(agency: agency?.rawValue ?? "all", full: full)
        continuation.yield((job.id, agency, full))
        return job
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            for await (id, agency, full) in self.requests {
                await self.perform(id, agency: agency, full: full)
            }
        }
    }

    func perform(_ id: String, agency: AgencyID?, full: Bool) async {
        let before = try? await replica.summary()
        await jobs.update(id) {
            $0.state = .running
            $0.programsBefore = before?.programs
            $0.referralsBefore = before?.referrals
            $0.digestBefore = before?.digest
        }
        let targets = agency.map { [$0] } ?? resyncable
        var failures: [String] = []
        for target in targets {
            do {
                try await resync(target, full: full, job: id)
            } catch {
                failures.append("\(target.rawValue): \(error)")
            }
        }
        let failure = failures.isEmpty ? nil : failures.joined(separator: "; ")
        let after = try? await replica.summary()
        // Finished as far as /status goes (`isRunning`), then the report, then the job: a
        // `--wait` that returns finds the status port's report already showing the outcome.
        await jobs.update(id) { $0.finishedAt = Date() }
        await refreshStatus()
        await jobs.update(id) {
            $0.state = failure == nil ? .done : .failed
            $0.error = failure
            $0.finishedAt = Date()
            $0.programsAfter = after?.programs
            $0.referralsAfter = after?.referrals
            $0.digestAfter = after?.digest
        }
        logger.notice("resync finished", metadata: ["job": "\(id)", "agency": "\(agency?.rawValue ?? "all")", "full": "\(full)", "outcome": "\(failure ?? "done")"])
    }

    private func resync(_ agency: AgencyID, full: Bool, job: String) async throws {
        let jobs = self.jobs
        if let adapter = adapters.first(where: { $0.agency == agency }) {
            await jobs.update(job) { $0.step = "\(agency.rawValue): adapter\(full ? " (full)" : "")" }
            // Through the adapter's own lock: never interleaved with its poll.
            try await adapter.cycle(full: full) { count in await jobs.update(job) { $0.itemsRead += count; $0.pagesRead += 1 } }
            return
        }
        guard let link = links.first(where: { $0.peer == agency }) else { return }
        await jobs.update(job) { $0.step = "\(agency.rawValue): federation\(full ? " (full)" : "")" }
        let before = link.status.applied
        if full {
            try await link.resyncInFull { _ in await jobs.update(job) { $0.pagesRead += 1; $0.itemsRead = link.status.applied - before } }
        } else {
            try await link.catchUp()
        }
        await jobs.update(job) { $0.itemsRead = link.status.applied - before }
    }
}
