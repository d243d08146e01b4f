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
    /// Full reconciliations triggered by a recreated or restored peer.
    public var resets = 0
    /// Response body bytes received from this peer since start.
    public var bytesReceived = 0
}

/// Keeps this replica up to date with one peer: pulls the peer's change feed from a checkpointed
/// cursor (`<epoch> <seq>`, stored with each batch in one transaction), long-polling when caught
/// up, backing off with jitter on failure and honouring Retry-After. A cursor the peer refuses
/// (recreated or restored replica) restarts the pull from the beginning: merging is idempotent,
/// so a full re-read loses and duplicates nothing.
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
    let state = Mutex(PeerLinkStatus())

    public init(peer: AgencyID, localAgency: AgencyID, url: String, client: PeerClient, replica: Replica, logger: Logger,
                pageSize: Int = 1000, longPollMilliseconds: Int = 25_000) {
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
    }

    /// The checkpoint stream of this peer.
    public var stream: String { "peer:\(peer.rawValue)" }

    public var status: PeerLinkStatus { state.withLock { $0 } }

    /// Runs until the task is cancelled (graceful shutdown cancels it; a batch in flight is one
    /// transaction, so it either commits with its checkpoint or not at all).
    public func run() async {
        var backoff = Backoff()
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            do {
                try await catchUp()
                _ = try await syncOnce(waitMilliseconds: longPollMilliseconds)
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.nextDelay(retryAfter: error.retryAfterSeconds, using: &random)
                logger.warning("pull failed; retrying", metadata: ["reason": "\(error.message)", "code": "\(error.code.rawValue)", "retry_in_s": "\(String(format: "%.2f", delay))"])
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }

    /// One pull and apply. Returns whether anything was applied.
    /// - Throws: ``FederationError``.
    @discardableResult
    public func syncOnce(waitMilliseconds: Int = 0) async throws(FederationError) -> Bool {
        do {
            let cursor = try await currentCursor()
            let pulled = try await client.pull(from: url, epoch: cursor.epoch, after: cursor.seq, limit: pageSize,
                                               waitMilliseconds: cursor.full ? 0 : waitMilliseconds, full: cursor.full)
            switch pulled {
            case .reset(let epoch):
                logger.notice("peer replica was recreated or restored; reconciling in full", metadata: ["epoch": "\(epoch)"])
                try await replica.apply([], from: stream, checkpoint: Checkpoint(stream: stream, value: "\(epoch) 0 full", expected: cursor.raw))
                state.withLock { $0.resets += 1 }
                return false
            case .page(let epoch, let frames, let next, let more, let bodyBytes, let yourCursor):
                let page = Page(epoch: epoch, frames: frames, next: next, more: more, bodyBytes: bodyBytes, yourCursor: yourCursor)
                return try await store(page, after: cursor).applied > 0
            }
        } catch {
            throw recorded(error)
        }
    }

    /// Pulls until caught up, fetching the next page while the current one is applied, so that
    /// the peer's work (reading and encoding its feed) overlaps ours (decoding and storing).
    /// Returns the number of versions applied. Pages that follow a reset go through
    /// ``syncOnce(waitMilliseconds:)``.
    @discardableResult
    public func catchUp() async throws(FederationError) -> Int {
        var applied = 0
        do {
            var cursor = try await currentCursor()
            var current = try await client.pull(from: url, epoch: cursor.epoch, after: cursor.seq, limit: pageSize, waitMilliseconds: 0, full: cursor.full)
            while case .page(let epoch, let frames, let next, let more, let bodyBytes, let yourCursor) = current {
                let full = cursor.full && more
                async let upcoming = Self.prefetch(client, url: url, epoch: epoch, after: next, limit: pageSize, full: full, when: more)
                let page = Page(epoch: epoch, frames: frames, next: next, more: more, bodyBytes: bodyBytes, yourCursor: yourCursor)
                let stored = try await store(page, after: cursor)
                applied += stored.applied
                guard let following = try await upcoming.get() else { return applied }
                cursor = (epoch, next, full, stored.checkpoint)
                current = following
            }
        } catch {
            throw recorded(error)
        }
        // A reset: handled (with its counters and error accounting) by the single-page path.
        _ = try await syncOnce()
        return applied
    }

    /// The error as a ``FederationError``, counted in the link's status.
    private func recorded(_ error: any Error) -> FederationError {
        let failure: FederationError = switch error {
        case let error as FederationError: error
        case let error as StoreError: FederationError(.store, "applying \(peer.rawValue)'s changes failed: \(error.message)")
        default: FederationError(.store, "applying \(peer.rawValue)'s changes failed: \(error)")
        }
        record(failure)
        return failure
    }

    /// One pulled page.
    struct Page {
        var epoch: String
        var frames: [[UInt8]]
        var next: Int64
        var more: Bool
        var bodyBytes: Int
        var yourCursor: String?
    }

    /// Applies a page with its checkpoint (compare-and-set against `cursor`), audits refusals and
    /// updates the status. A full reconciliation stays full until it reaches the peer's head; an
    /// empty page that moves nothing writes nothing.
    func store(_ page: Page, after cursor: (epoch: String?, seq: Int64, full: Bool, raw: String)) async throws -> (applied: Int, checkpoint: String) {
        try await noticeRestore(peerCursorOfUs: page.yourCursor)
        let value = "\(page.epoch) \(page.next)" + (cursor.full && page.more ? " full" : "")
        var outcomes: [WriteOutcome] = []
        if !page.frames.isEmpty || value != cursor.raw {
            outcomes = try await replica.apply(encoded: page.frames, from: stream, checkpoint: Checkpoint(stream: stream, value: value, expected: cursor.raw),
                                               withholdingFor: localAgency)
        }
        try await PeerAudit.recordRefusals(outcomes, from: peer, replica: replica)
        let counts = PeerAudit.counts(outcomes)
        state.withLock {
            $0.applied += counts.applied
            $0.refused += counts.quarantined
            $0.bytesReceived += page.bodyBytes
            $0.consecutiveFailures = 0
            $0.lastError = nil
            $0.lastErrorCode = nil
            if !page.more { $0.lastCaughtUpAt = Date() }
        }
        return (counts.applied, value)
    }

    /// The next page, fetched concurrently, or nil when there is none to fetch.
    static func prefetch(_ client: PeerClient, url: String, epoch: String, after: Int64, limit: Int, full: Bool, when needed: Bool) async -> Result<PulledPage?, FederationError> {
        guard needed else { return .success(nil) }
        do {
            return .success(try await client.pull(from: url, epoch: epoch, after: after, limit: limit, waitMilliseconds: 0, full: full))
        } catch {
            return .failure(error)
        }
    }

    private func record(_ error: FederationError) {
        state.withLock {
            $0.consecutiveFailures += 1
            $0.lastError = error.message
            $0.lastErrorCode = error.code
        }
    }

    /// The stored cursor, `<epoch> <seq>[ full]`, and its raw value (empty when none). First
    /// contact is a full read: a new replica wants everything, echoes of what it once sent included.
    func currentCursor() async throws -> (epoch: String?, seq: Int64, full: Bool, raw: String) {
        guard let value = try await replica.checkpoint(stream) else { return (nil, 0, true, "") }
        let parts = value.split(separator: " ")
        guard parts.count >= 2, let seq = Int64(parts[1]) else { return (nil, 0, true, value) }
        let epoch = parts[0] == "-" ? nil : String(parts[0])
        return (epoch, seq, parts.count > 2 && parts[2] == "full", value)
    }

    /// A peer that has read our feed beyond what this file held when it was opened, at a sequence
    /// this process did not issue, proves the file was restored from an older copy: what we wrote
    /// after that copy lives on only at our peers, and they hold it as echoes of us. Restart every
    /// peer stream in full (echoes included), once per process.
    func noticeRestore(peerCursorOfUs: String?) async throws {
        guard let parts = peerCursorOfUs?.split(separator: " "), parts.count >= 2, String(parts[0]) == replica.epoch,
              let seq = Int64(parts[1]), seq > replica.headAtOpen, seq < replica.firstSeqOfThisProcess
        else { return }
        try await RestoreRecovery.restartPeerStreams(replica, actor: "peer:\(peer.rawValue)", logger: logger,
                                                     evidence: "peer read our feed to \(seq), beyond head \(replica.headAtOpen) at open")
    }
}

/// What a node does when it learns its replica file was restored from an older copy.
enum RestoreRecovery {
    /// Restarts every `peer:` stream from the beginning in full (echoes included), once per
    /// process, and audits it.
    static func restartPeerStreams(_ replica: Replica, actor: String, logger: Logger, evidence: String) async throws {
        guard replica.noteRestored() else { return }
        logger.warning("this replica was restored from an older copy; pulling everything again from every peer", metadata: ["evidence": "\(evidence)"])
        try await replica.rewriteCheckpoints(prefix: "peer:") { value in
            let epoch = value.split(separator: " ").first.map(String.init) ?? "-"
            return "\(epoch) 0 full"
        }
        try await replica.appendAudit(actor: actor, action: "federation.restore-detected", target: "replica", outcome: "ok",
                                      detail: "\(evidence); all peer streams restarted in full")
    }
}
