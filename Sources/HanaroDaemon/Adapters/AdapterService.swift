import Foundation
public import HanaroCore
import HanaroFederation
public import Logging
public import ServiceLifecycle

/// Runs one agency's adapter for as long as the node runs: every poll interval (or at once when
/// an admin asks for a resync) it reads the agency's programs and referral events and delivers
/// pending referrals, then reports freshness. An envelope-level failure marks the agency
/// `failing` with the reason and backs off (honouring Retry-After); nothing is lost, because the
/// cursor only moves with stored pages.
public final class AdapterService: Service, Sendable {
    public let ingest: AdapterIngest
    let pollInterval: Duration
    let board: FreshnessBoard
    let logger: Logger
    let metrics: HanaroMetrics?
    /// Retries the referral events this adapter holds in quarantine.
    let retry: QuarantineRetry?
    /// The share of refused items above which a complete read counts as `degraded`, not fresh.
    let degradedAfter: Double
    /// One reader of this agency at a time: the poll loop and an admin's resync never interleave
    /// (a resync's older snapshot could otherwise land after a poll's newer one).
    let lock = AsyncLock()

    public init(ingest: AdapterIngest, pollIntervalSeconds: Int, board: FreshnessBoard, logger: Logger, metrics: HanaroMetrics? = nil,
                retry: QuarantineRetry? = nil, degradedAfter: Double = 0.5) {
        self.ingest = ingest
        self.degradedAfter = degradedAfter
        self.retry = retry
        self.metrics = metrics
        pollInterval = .seconds(pollIntervalSeconds)
        self.board = board
        self.logger = logger
    }

    public var agency: AgencyID { ingest.agency }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var backoff = Backoff(initialSeconds: 1, maximumSeconds: 300)
            var random = SystemRandomNumberGenerator()
            while !Task.isCancelled {
                var delay = self.pollInterval
                do throws(AdapterError) {
                    try await self.cycle(full: false)
                    backoff.reset()
                } catch {
                    self.logger.warning("adapter failing", metadata: ["agency": "\(self.agency.rawValue)", "kind": "\(error.code.rawValue)", "reason": "\(error.message)"])
                    delay = .milliseconds(Int64(backoff.nextDelay(retryAfter: error.retryAfterSeconds.map(Double.init), using: &random) * 1000))
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// One round — referral events, programs, deliveries — holding the agency's lock; each step
    /// reports its own direction to the freshness board. `progress` hears the items of each page.
    /// - Throws: ``AdapterError`` of the first step that failed (earlier steps stay stored).
    public func cycle(full: Bool, progress: (@Sendable (Int) async -> Void)? = nil) async throws(AdapterError) {
        await lock.acquire()
        do throws(AdapterError) {
            try await unlockedCycle(full: full, progress: progress)
            await lock.release()
        } catch {
            await lock.release()
            throw error
        }
    }

    private func unlockedCycle(full: Bool, progress: (@Sendable (Int) async -> Void)?) async throws(AdapterError) {
        // Our own clock when the read starts: the point up to which the agency is then known
        // (its own clock, the signpost, could run ahead of ours and stretch `fresh`).
        let started = Date()
        let programs: AdapterIngest.Outcome
        var events: AdapterIngest.Outcome?
        do throws(AdapterError) {
            // Referral events first (where the agency has a feed): a counsellor's decision should
            // not wait behind a page of programs.
            if ingest.readsReferralEvents { events = try await ingest.ingestReferralEvents(full: full, progress: progress) }
            programs = try await ingest.ingestPrograms(full: full, progress: progress)
            guard programs.summary.isComplete else {
                throw AdapterError(.envelope, agency: agency, programs.summary.incompleteReason
                    ?? "the agency's list kept moving or repeating pages while it was read (\(programs.summary.restarts) passes); what was read is stored, nothing was closed, and the next read goes through it again")
            }
        } catch {
            await board.failed(agency, .inbound, kind: .init(error.code), reason: error.message)
            metrics?.countFailure(agency, kind: .init(error.code))
            throw error
        }
        metrics?.countRecords(agency, kind: "program", programs.summary.items)
        metrics?.countRecords(agency, kind: "referral", events?.summary.items ?? 0)
        metrics?.countQuarantined(agency, programs.quarantined + (events?.quarantined ?? 0))
        // Refused: quarantined by this read, or by an earlier one and sent again (a server that
        // ignores the filter): a bad item is as unusable the second time.
        let counted = programs.usable + programs.refused
        if counted > 0, programs.usable == 0 || Double(programs.refused) / Double(counted) > degradedAfter {
            // A read that completed but could use nothing, or too little, of what it got.
            await board.degraded(agency, asOf: started, usable: programs.usable, refused: programs.refused,
                                 reason: FreshnessBoard.degradedReason(usable: programs.usable, refused: programs.refused))
            logger.warning("adapter degraded", metadata: ["agency": "\(agency.rawValue)", "usable": "\(programs.usable)", "quarantined": "\(programs.refused)"])
        } else if counted == 0 {
            // A quiet read (nothing new): fresh, unless the agency is degraded — nothing usable
            // was stored since, so it stays so until a read stores something usable.
            await board.quiet(agency, asOf: started)
        } else {
            await board.succeeded(agency, .inbound, asOf: started, usable: programs.usable, refused: programs.refused)
        }
        if programs.summary.unstamped > 0 {
            logger.notice("items without a readable update stamp: reading the whole list until they have one", metadata: [
                "agency": "\(agency.rawValue)", "items": "\(programs.summary.unstamped)", "example": "\(programs.summary.unstampedExample ?? "-")"])
        }
        if programs.summary.aheadOfClock > 0 {
            logger.warning("items stamped ahead of the agency's clock: stored; the cursor stays at the read's signpost", metadata: [
                "agency": "\(agency.rawValue)", "items": "\(programs.summary.aheadOfClock)", "example": "\(programs.summary.aheadOfClockExample ?? "-")"])
        }
        if programs.closed > 0 {
            logger.notice("programs closed: absent from two complete snapshots", metadata: ["agency": "\(agency.rawValue)", "closed": "\(programs.closed)"])
        }
        if let reset = programs.summary.cursorReset ?? events?.summary.cursorReset {
            logger.notice("adapter cursor set aside", metadata: ["agency": "\(agency.rawValue)", "reason": "\(reset)"])
        }
        // Status changes that came before their referral: retried once it is here. A failure here
        // is the store's; the next cycle retries, so it is reported, not thrown.
        if let retry, ingest.readsReferralEvents {
            do throws(AdminError) {
                try await retry.retryHeldReferralEvents(of: agency)
            } catch {
                logger.warning("retrying held referral events failed", metadata: ["agency": "\(agency.rawValue)", "reason": "\(error.message)"])
                metrics?.countFailure(agency, kind: .store)
            }
        }
        do throws(AdapterError) {
            try await ingest.deliverOutbound()
            await board.succeeded(agency, .outbound, asOf: Date())
        } catch {
            await board.failed(agency, .outbound, kind: .init(error.code), reason: error.message)
            metrics?.countFailure(agency, kind: .init(error.code))
            throw error
        }
    }
}

/// A mutual-exclusion lock for async code: waiters are resumed in order.
actor AsyncLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { held = false } else { waiters.removeFirst().resume() }
    }
}
