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
    let trigger = ResyncTrigger()
    let metrics: HanaroMetrics?

    public init(ingest: AdapterIngest, pollIntervalSeconds: Int, board: FreshnessBoard, logger: Logger, metrics: HanaroMetrics? = nil) {
        self.ingest = ingest
        self.metrics = metrics
        pollInterval = .seconds(pollIntervalSeconds)
        self.board = board
        self.logger = logger
    }

    public var agency: AgencyID { ingest.agency }

    /// Asks for a cycle now; with `full`, from the beginning (a full resync).
    public func requestResync(full: Bool) async { await trigger.request(full: full) }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var backoff = Backoff(initialSeconds: 1, maximumSeconds: 300)
            var random = SystemRandomNumberGenerator()
            var full = false
            while !Task.isCancelled {
                var delay = self.pollInterval
                do throws(AdapterError) {
                    try await self.cycle(full: full)
                    backoff.reset()
                } catch {
                    await self.board.failed(self.agency, .inbound, kind: .init(error.code), reason: error.message)
                    self.metrics?.countFailure(self.agency, kind: .init(error.code))
                    self.logger.warning("adapter failing", metadata: ["agency": "\(self.agency.rawValue)", "kind": "\(error.code.rawValue)", "reason": "\(error.message)"])
                    delay = .milliseconds(Int64(backoff.nextDelay(retryAfter: error.retryAfterSeconds.map(Double.init), using: &random) * 1000))
                }
                full = await self.trigger.wait(upTo: delay)
            }
        }
    }

    /// One round: programs, referral events, deliveries.
    /// - Throws: ``AdapterError`` of the first step that failed (earlier steps stay stored).
    public func cycle(full: Bool) async throws(AdapterError) {
        let programs = try await ingest.ingestPrograms(full: full)
        let events = try await ingest.ingestReferralEvents(full: full)
        metrics?.countRecords(agency, kind: "program", programs.items)
        metrics?.countRecords(agency, kind: "referral", events.items)
        let asOf = Date(timeIntervalSince1970: TimeInterval(min(programs.signpost.secondsSince1970, events.signpost.secondsSince1970)))
        await board.succeeded(agency, .inbound, asOf: asOf)
        if let reset = programs.cursorReset ?? events.cursorReset {
            logger.notice("adapter cursor set aside", metadata: ["agency": "\(agency.rawValue)", "reason": "\(reset)"])
        }
        do {
            try await ingest.deliverOutbound()
            await board.succeeded(agency, .outbound, asOf: await board.now())
        } catch {
            await board.failed(agency, .outbound, kind: .init(error.code), reason: error.message)
            throw error
        }
    }
}

/// Wakes a waiting loop early: a resync requested by an admin.
actor ResyncTrigger {
    private var pending: Bool?

    func request(full: Bool) { pending = (pending ?? false) || full }

    private func take() -> Bool? {
        defer { pending = nil }
        return pending
    }

    /// Waits for `duration` or a request (checked every 100 ms); returns whether a full resync
    /// was asked. Returns at once when the task is cancelled.
    func wait(upTo duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let full = take() { return full }
            try? await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
        return take() ?? false
    }
}
