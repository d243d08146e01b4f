public import HanaroCore
public import HanaroStore
public import Logging
public import Foundation
import Synchronization

/// What a link knows about its peer, for the status port and the CLI.
public struct PeerLinkStatus: Sendable, Hashable {
    /// When a pull last succeeded and brought this node up to the peer's head at that moment.
    public var lastCaughtUpAt: Date?
    public var consecutiveFailures = 0
    public var lastError: String?
    public var lastErrorCode: FederationError.Code?
    /// Versions applied from this peer since start.
    public var applied = 0
    /// Versions from this peer refused by the rules since start.
    public var refused = 0
    /// Versions from this peer older than the ones held (not applied) since start: a peer that
    /// is behind, or a relay replaying old versions.
    public var stale = 0
    /// Full reconciliations triggered by a recreated or restored peer.
    public var resets = 0
    /// Page body bytes received from this peer since start, as they crossed the wire (gzipped
    /// when the page came compressed).
    public var bytesReceived = 0
    /// The peer's own view of each agency's freshness, from its last answer.
    public var relayView = RelayFreshness()
    /// How far ahead of this node's clock the versions of the last stored page were stamped, when
    /// some were held for it (the author's clock is wrong; they are retried once the clock allows).
    public var clockSkewSeconds: Int?
    public var clockSkewReason: String?
}

/// Keeps this replica up to date with one peer: the shell that carries out what ``PeerSync``
/// decides — pulls over ``PeerClient``, stores pages with their ``PeerCursor`` in the replica (one
/// transaction each), sleeps out backoffs on an injected ``MonotonicClock`` — and keeps the link's
/// status and failure count.
public final class PeerLink: Sendable {
    public let peer: AgencyID
    /// This node's agency (personal fields it may not hold are withheld on arrival).
    public let localAgency: AgencyID
    public let url: String
    let client: PeerClient
    let replica: Replica
    let logger: Logger
    let pageSize: Int
    let longPollMilliseconds: Int
    let clock: any MonotonicClock
    /// Called once per failure, where it happens (the daemon counts it in its metrics).
    let onFailure: @Sendable (AgencyID, FederationError) -> Void
    let state = Mutex(PeerLinkStatus())
    /// The peer's pinned certificate fingerprint (`federation.fingerprint`), if any.
    let pin: String?
    /// When the server last proved to be `peer` (monotonic); nil: prove it before the next pull.
    let identityProvenAt = Mutex<Duration?>(nil)

    public init(peer: AgencyID, localAgency: AgencyID, url: String, client: PeerClient, replica: Replica, logger: Logger,
                pageSize: Int = 1000, longPollMilliseconds: Int = 25_000, clock: any MonotonicClock = SystemMonotonicClock(),
                pin: String? = nil, onFailure: @escaping @Sendable (AgencyID, FederationError) -> Void = { _, _ in }) {
        self.pin = pin
        self.peer = peer
        self.localAgency = localAgency
        self.url = url
        self.client = client
        self.replica = replica
        var logger = logger
        logger[metadataKey: "peer"] = "\(peer.rawValue)"
        self.logger = logger
        self.pageSize = pageSize
        self.longPollMilliseconds = longPollMilliseconds
        self.clock = clock
        self.onFailure = onFailure
    }

    /// The checkpoint stream of this peer.
    public var stream: StreamID { .peer(peer) }

    public var status: PeerLinkStatus { state.withLock { $0 } }

    /// Runs until the task is cancelled (graceful shutdown cancels it; a batch in flight is one
    /// transaction, so it either commits with its checkpoint or not at all).
    public func run() async {
        var round = Round(machine: PeerSync(longPollMilliseconds: longPollMilliseconds))
        var action = round.machine.handle(.start)
        while !Task.isCancelled {
            action = await step(action, &round)
        }
    }

    /// One pull and store: at most one page, no pipelining. Returns whether anything was applied.
    /// - Throws: ``FederationError``.
    @discardableResult
    public func syncOnce(waitMilliseconds: Int = 0) async throws(FederationError) -> Bool {
        var round = Round(machine: PeerSync(longPollMilliseconds: waitMilliseconds, pipelined: false, startCaughtUp: waitMilliseconds > 0))
        var action = round.machine.handle(.start)
        var acted = false
        while true {
            switch action {
            case .loadCursor where acted:
                return round.applied > 0
            case .backoff:
                throw round.lastError ?? FederationError(.store, "the pull of \(peer.rawValue) failed")
            default:
                acted = action != .loadCursor
                action = await step(action, &round)
            }
        }
    }

    /// Pulls until caught up with the peer's head, fetching the next page while the current one
    /// is stored, and reading the peer again in full if it reset its feed. Returns the number of
    /// versions applied.
    /// - Throws: ``FederationError`` at the first failure (what was stored stays stored).
    @discardableResult
    public func catchUp() async throws(FederationError) -> Int {
        var round = Round(machine: PeerSync(longPollMilliseconds: 0))
        var action = round.machine.handle(.start)
        while true {
            if case .loadCursor = action, round.machine.isCaughtUp { return round.applied }
            if case .backoff = action { throw round.lastError ?? FederationError(.store, "the pull of \(peer.rawValue) failed") }
            action = await step(action, &round)
        }
    }

    /// Restarts this peer's stream from the beginning in full and reads it to the peer's head
    /// (an admin's full resync). `progress` hears each stored page's versions.
    /// - Throws: ``FederationError``.
    public func resyncInFull(progress: @Sendable (Int) async -> Void = { _ in }) async throws(FederationError) {
        // Compare-and-set against what the pull loop may be writing meanwhile: read, rewrite, check.
        var restarted = false
        for _ in 0..<5 where !restarted {
            let stored = try await storedCursor()
            let restart = (stored ?? .firstContact).restartedInFull()
            do {
                try await replica.apply([], from: stream, checkpoint: Checkpoint(stream: stream, value: restart.text, expected: stored?.text ?? ""))
            } catch {
                throw recorded(error)
            }
            restarted = try await storedCursor()?.full == true
        }
        guard restarted else {
            throw FederationError(.store, "could not restart the cursor of \(peer.rawValue): the pull loop kept moving it; try again")
        }
        var pages = 0
        while try await storedCursor()?.full == true {
            let before = status.applied
            try await syncOnce()
            await progress(status.applied - before)
            pages += 1
            if pages > 100_000 {
                throw FederationError(.protocolError, "the full read of \(peer.rawValue) did not end after \(pages) pages (does the peer keep resetting?)")
            }
        }
        try await catchUp()
    }

    /// Checks, at most once a minute while pulls succeed, that the server at `url` is `peer`
    /// (``PeerClient/checkServer(_:is:pin:)``): a node must not send its cursor to, or take a
    /// freshness claim from, another agency answering on that address.
    func proveIdentity() async throws(FederationError) {
        let now = clock.now
        if let proven = identityProvenAt.withLock({ $0 }), now - proven < .seconds(60) { return }
        try await client.checkServer(url, is: peer, pin: pin)
        identityProvenAt.withLock { $0 = now }
    }

    /// The state of one run of the machine in the shell: the machine, the page it is storing,
    /// what was applied and the last failure.
    struct Round {
        var machine: PeerSync
        var page: PulledPage.Page?
        var applied = 0
        var lastError: FederationError?
    }

    /// Carries out one action and returns the machine's next.
    func step(_ action: PeerSync.Action, _ round: inout Round) async -> PeerSync.Action {
        switch action {
        case .loadCursor:
            do {
                return round.machine.handle(.cursorLoaded(try await storedCursor()))
            } catch {
                return failed(error, &round)
            }
        case .pull(let cursor, let wait):
            do {
                try await proveIdentity()
                return received(try await client.pull(from: url, after: cursor, limit: pageSize, waitMilliseconds: wait), &round)
            } catch {
                // After a failure the server proves who it is again (an address may change hands).
                identityProvenAt.withLock { $0 = nil }
                return failed(error, &round)
            }
        case .apply(let checkpoint, let expected, let write, let prefetch):
            guard let page = round.page else { return failed(FederationError(.protocolError, "no page to store"), &round) }
            async let upcoming = Self.prefetch(client, url: url, after: prefetch, limit: pageSize, preparingFor: write ? replica : nil)
            do {
                round.applied += try await store(page, checkpoint: checkpoint, expected: expected, write: write)
            } catch {
                _ = await upcoming
                return failed(error, &round)
            }
            let next = round.machine.handle(.applied)
            guard next == .awaitPrefetch else { return next }
            switch await upcoming {
            case .success(let pulled?): return received(pulled, &round)
            case .success(nil): return failed(FederationError(.protocolError, "the prefetch was not started"), &round)
            case .failure(let error): return failed(error, &round)
            }
        case .awaitPrefetch:
            // Handled with the apply that started it; reaching here is a shell bug: start over.
            return round.machine.handle(.start)
        case .restartInFull(let checkpoint, let expected):
            logger.notice("peer replica was recreated or restored; reconciling in full", metadata: ["epoch": "\(checkpoint.epoch ?? "-")"])
            do {
                try await replica.apply([], from: stream, checkpoint: Checkpoint(stream: stream, value: checkpoint.text, expected: expected?.text ?? ""))
            } catch {
                return failed(error, &round)
            }
            state.withLock { $0.resets += 1 }
            return round.machine.handle(.applied)
        case .backoff(let until):
            try? await clock.sleep(until: until)
            return round.machine.handle(.timerFired)
        }
    }

    /// Feeds a pulled page (or reset) to the machine, keeping the page's frames for the store.
    private func received(_ pulled: PulledPage, _ round: inout Round) -> PeerSync.Action {
        switch pulled {
        case .reset(let epoch):
            round.page = nil
            return round.machine.handle(.reset(epoch: epoch))
        case .page(let page):
            round.page = page
            return round.machine.handle(.pageReceived(.init(epoch: page.epoch, next: page.next, more: page.more, frameCount: page.frames.count)))
        }
    }

    /// Counts a failure, logs it once, and lets the machine decide the backoff.
    private func failed(_ error: any Error, _ round: inout Round) -> PeerSync.Action {
        let failure = recorded(error)
        round.lastError = failure
        round.page = nil
        let action = round.machine.handle(.failed(retryAfterSeconds: failure.retryAfterSeconds, jitter: Double.random(in: 0...1), now: clock.now))
        if !Task.isCancelled, case .backoff(let until) = action {
            let delay = until - clock.now
            logger.warning("pull failed; retrying", metadata: ["reason": "\(failure.message)", "code": "\(failure.code.rawValue)",
                                                            "retry_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"])
        }
        return action
    }

    /// The error as a ``FederationError``, counted in the link's status and reported at once.
    private func recorded(_ error: any Error) -> FederationError {
        let failure: FederationError = switch error {
        case let error as FederationError: error
        case let error as StoreError: FederationError(.store, "applying \(peer.rawValue)'s changes failed: \(error.message)")
        default: FederationError(.store, "applying \(peer.rawValue)'s changes failed: \(error)")
        }
        state.withLock {
            $0.consecutiveFailures += 1
            $0.lastError = failure.message
            $0.lastErrorCode = failure.code
        }
        onFailure(peer, failure)
        return failure
    }

    /// Stores a page with its checkpoint (compare-and-set against `expected`): the versions, and
    /// one audit entry summarising refusals, in one transaction; then updates the status.
    /// - Returns: the versions applied.
    func store(_ page: PulledPage.Page, checkpoint: PeerCursor, expected: PeerCursor?, write: Bool) async throws -> Int {
        try await noticeRestore(peerCursorOfUs: page.yourCursor)
        var outcomes: [WriteOutcome] = []
        if write {
            outcomes = try await replica.apply(prepared: page.prepared ?? replica.prepare(page.frames), from: stream,
                                               checkpoint: Checkpoint(stream: stream, value: checkpoint.text, expected: expected?.text ?? ""),
                                               withholdingFor: localAgency, auditingRefusals: RefusalAudit(actor: stream.rawValue, action: "federation.reject"))
        }
        let counts = PeerAudit.counts(outcomes)
        let skew = Self.clockSkew(in: outcomes)
        state.withLock {
            $0.applied += counts.applied
            $0.refused += counts.quarantined
            $0.stale += counts.stale
            $0.bytesReceived += page.bodyBytes
            if let view = page.freshness { $0.relayView = view }
            if write {
                $0.clockSkewSeconds = skew?.seconds
                $0.clockSkewReason = skew?.reason
            }
            $0.consecutiveFailures = 0
            $0.lastError = nil
            $0.lastErrorCode = nil
            if !page.more { $0.lastCaughtUpAt = Date() }
        }
        return counts.applied
    }

    /// The largest clock skew among the versions of a page held for one.
    static func clockSkew(in outcomes: [WriteOutcome]) -> (seconds: Int, reason: String)? {
        var worst: (seconds: Int, reason: String)?
        for case .quarantined(let error) in outcomes where error.code == .clockSkew {
            let seconds = error.message.firstMatch(of: /clock skew (-?\d+) s/).flatMap { Int($0.1) } ?? 0
            if seconds > (worst?.seconds ?? -1) { worst = (seconds, error.message) }
        }
        return worst
    }

    /// The most versions a pull decodes ahead of the writer. A decoded version takes ~5 KB, and
    /// two decoded pages of 5,000 put a node over its 150 MB budget (docs/BENCHMARKS.md, session
    /// 11); pages of the default `federation.page_size` (1,000) are read ahead, larger ones are
    /// decoded when stored, as before.
    static let readAheadVersions = 2_000

    /// The next page, fetched concurrently, or nil when there is none to fetch. With `replica`,
    /// a page of at most ``readAheadVersions`` is also decoded and verified
    /// (``Replica/prepare(_:)``) while the page before it is being written: the writer is the one
    /// serial resource of a sync, and this keeps the checks off its path.
    static func prefetch(_ client: PeerClient, url: String, after cursor: PeerCursor?, limit: Int, preparingFor replica: Replica?) async -> Result<PulledPage?, FederationError> {
        guard let cursor else { return .success(nil) }
        do {
            var pulled = try await client.pull(from: url, after: cursor, limit: limit, waitMilliseconds: 0)
            if let replica, case .page(var page) = pulled, page.frames.count <= readAheadVersions {
                page.prepared = replica.prepare(page.frames)
                pulled = .page(page)
            }
            return .success(pulled)
        } catch {
            return .failure(error)
        }
    }

    /// The stored cursor (nil: first contact). A stored value that does not parse is treated as
    /// first contact: a full read loses and duplicates nothing.
    func storedCursor() async throws(FederationError) -> PeerCursor? {
        let text: String?
        do {
            text = try await replica.checkpoint(stream)
        } catch {
            throw FederationError(.store, "cannot read the cursor of \(peer.rawValue): \(error.message)")
        }
        return text.flatMap(PeerCursor.init(text:))
    }

    /// A peer that has read our feed beyond what this file held when it was opened, at a sequence
    /// this process did not issue, proves the file was restored from an older copy: what we wrote
    /// after that copy lives on only at our peers, and they hold it as echoes of us. Restart every
    /// peer stream in full (echoes included), once per process.
    func noticeRestore(peerCursorOfUs: PeerCursor?) async throws {
        guard let theirs = peerCursorOfUs, theirs.epoch == replica.epoch,
              theirs.seq > replica.headAtOpen, theirs.seq < replica.firstSeqOfThisProcess
        else { return }
        try await RestoreRecovery.restartPeerStreams(replica, actor: stream.rawValue, logger: logger,
                                                     evidence: "peer read our feed to \(theirs.seq), beyond head \(replica.headAtOpen) at open")
    }
}

/// What a node does when it learns its replica file was restored from an older copy.
enum RestoreRecovery {
    /// Restarts every peer stream from the beginning in full (echoes included), once per
    /// process, and audits it in the same transaction.
    static func restartPeerStreams(_ replica: Replica, actor: String, logger: Logger, evidence: String) async throws {
        guard replica.noteRestored() else { return }
        logger.warning("this replica was restored from an older copy; pulling everything again from every peer", metadata: ["evidence": "\(evidence)"])
        let note = AuditNote(actor: actor, action: "federation.restore-detected", target: "replica", outcome: "ok",
                             detail: "\(evidence); all peer streams restarted in full")
        try await replica.rewriteCheckpoints(selecting: { $0.isPeer }, audit: note) { _, value in
            (PeerCursor(text: value) ?? .firstContact).restartedInFull().text
        }
        // The file's log is behind what the witnesses cosigned: continuing it would contradict
        // that (an equivocation). A new log starts under a new origin; the old one stays with them.
        try await replica.startNewLog(reason: "\(evidence); the restored file's log is behind what the witnesses cosigned")
    }
}
