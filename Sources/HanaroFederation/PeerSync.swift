/// The pull loop of one peer, as a pure state machine: it takes what happened (a cursor loaded, a
/// page received, a reset, a failure, a timer) and says what to do next (load the cursor, pull,
/// store a page, restart in full, back off). ``PeerLink`` is the shell that carries the actions
/// out against the network and the replica; tests drive the machine with events and a clock of
/// their own, in microseconds.
///
/// The loop:
///
/// 1. Load the stored cursor (a resync or a detected restore may have rewritten it meanwhile).
/// 2. Pull the page after it: at once while catching up, as a long-poll once caught up (never
///    while a full reconciliation is under way).
/// 3. Store the page's versions with the advanced cursor, in one transaction, compare-and-set
///    against the cursor it was pulled from. While more pages follow, the next one is pulled
///    concurrently (pipelining: the peer encodes its next page while we store this one).
///    A page that brings nothing and does not move the cursor writes nothing, so two idle nodes
///    long-polling each other do not wake each other.
/// 4. A full reconciliation stays full until the read reaches the peer's head.
/// 5. A peer that answers `409` (its replica was recreated or restored) is read again from its
///    beginning, in full. Merging is idempotent, so nothing is lost or duplicated.
/// 6. A failure backs off with full jitter (honouring Retry-After), then starts again at 1.
public struct PeerSync: Sendable {
    /// What the shell must do next.
    public enum Action: Hashable, Sendable {
        /// Read the stored cursor, then report ``Event/cursorLoaded(_:)``.
        case loadCursor
        /// Pull the page after `cursor`, holding the request up to `waitMilliseconds` when there
        /// is nothing yet; report ``Event/pageReceived(_:)``, ``Event/reset(epoch:)`` or
        /// ``Event/failed(retryAfterSeconds:jitter:now:)``.
        case pull(PeerCursor, waitMilliseconds: Int)
        /// Store the received page with `checkpoint` (compare-and-set against `expected`; nil: no
        /// cursor was stored yet). With `write` false, nothing moved: write nothing. With
        /// `prefetch`, pull the page after it (at once) while storing. Report ``Event/applied``.
        case apply(checkpoint: PeerCursor, expected: PeerCursor?, write: Bool, prefetch: PeerCursor?)
        /// Report the prefetched pull's outcome, as for ``pull(_:waitMilliseconds:)``.
        case awaitPrefetch
        /// Store `checkpoint` alone (compare-and-set against `expected`): the peer's feed must be
        /// read again from its beginning. Report ``Event/applied``.
        case restartInFull(checkpoint: PeerCursor, expected: PeerCursor?)
        /// Wait until the monotonic instant `until`, then report ``Event/timerFired``.
        case backoff(until: Duration)
    }

    /// What happened.
    public enum Event: Hashable, Sendable {
        /// The loop starts.
        case start
        /// The stored cursor (nil: none yet — first contact).
        case cursorLoaded(PeerCursor?)
        /// A page arrived.
        case pageReceived(PageSummary)
        /// The peer refused the cursor: its replica was recreated or restored; `epoch` is its current one.
        case reset(epoch: String)
        /// The last ``Action/apply(checkpoint:expected:write:prefetch:)`` or
        /// ``Action/restartInFull(checkpoint:expected:)`` committed.
        case applied
        /// The last action failed; `jitter` in [0, 1] picks the delay under the backoff ceiling;
        /// `now` is the monotonic time.
        case failed(retryAfterSeconds: Double?, jitter: Double, now: Duration)
        /// A backoff ended.
        case timerFired
    }

    /// What the machine needs of a page (the frames stay with the shell).
    public struct PageSummary: Hashable, Sendable {
        public var epoch: String
        /// The cursor for the next page: the last sequence scanned.
        public var next: Int64
        /// Whether more changes follow.
        public var more: Bool
        public var frameCount: Int

        public init(epoch: String, next: Int64, more: Bool, frameCount: Int) {
            self.epoch = epoch
            self.next = next
            self.more = more
            self.frameCount = frameCount
        }
    }

    enum Phase: Hashable, Sendable {
        case idle
        case loading
        /// A pull after `cursor` is under way (or prefetched); `stored` is what the store holds.
        case pulling(cursor: PeerCursor, stored: PeerCursor?)
        case applying(checkpoint: PeerCursor, prefetching: Bool)
        case restarting
        case backingOff
    }

    /// How long a caught-up pull waits for news.
    public let longPollMilliseconds: Int
    /// Whether the next page is pulled while the current one is stored.
    public let pipelined: Bool
    private(set) var phase: Phase = .idle
    /// Whether the last stored page reached the peer's head (the pull after it long-polls).
    public private(set) var isCaughtUp: Bool
    /// Full reconciliations started because the peer reset its feed.
    public private(set) var resets = 0
    public private(set) var backoff: Backoff

    /// - Parameters:
    ///   - startCaughtUp: pull the first page as a long-poll (a caller that knows it is caught up).
    public init(longPollMilliseconds: Int, pipelined: Bool = true, backoff: Backoff = Backoff(), startCaughtUp: Bool = false) {
        self.longPollMilliseconds = longPollMilliseconds
        self.pipelined = pipelined
        self.backoff = backoff
        self.isCaughtUp = startCaughtUp
    }

    /// Takes an event and returns the next action.
    ///
    /// An event that does not fit the current phase (a shell bug) is answered by starting the
    /// round again from the stored cursor, which is always safe: every write is compare-and-set
    /// and merging is idempotent.
    public mutating func handle(_ event: Event) -> Action {
        switch (event, phase) {
        case (.start, _), (.timerFired, .backingOff):
            phase = .loading
            return .loadCursor

        case (.cursorLoaded(let stored), .loading):
            let cursor = stored ?? .firstContact
            phase = .pulling(cursor: cursor, stored: stored)
            // A full reconciliation never long-polls: it wants the peer's pages as fast as they come.
            return .pull(cursor, waitMilliseconds: isCaughtUp && !cursor.full ? longPollMilliseconds : 0)

        case (.pageReceived(let page), .pulling(let cursor, let stored)):
            let checkpoint = PeerCursor(epoch: page.epoch, seq: page.next, full: cursor.full && page.more)
            let write = page.frameCount > 0 || checkpoint != stored
            let prefetch = pipelined && page.more ? checkpoint : nil
            phase = .applying(checkpoint: checkpoint, prefetching: prefetch != nil)
            isCaughtUp = !page.more
            return .apply(checkpoint: checkpoint, expected: stored, write: write, prefetch: prefetch)

        case (.applied, .applying(let checkpoint, let prefetching)):
            backoff.reset()
            if prefetching {
                phase = .pulling(cursor: checkpoint, stored: checkpoint)
                return .awaitPrefetch
            }
            phase = .loading
            return .loadCursor

        case (.reset(let epoch), .pulling(let cursor, let stored)):
            resets += 1
            isCaughtUp = false
            phase = .restarting
            return .restartInFull(checkpoint: cursor.restartedInFull(epoch: epoch), expected: stored)

        case (.applied, .restarting):
            phase = .loading
            return .loadCursor

        case (.failed(let retryAfter, let jitter, let now), _):
            isCaughtUp = false
            phase = .backingOff
            let delay = backoff.nextDelay(retryAfter: retryAfter, jitter: jitter)
            return .backoff(until: now + .milliseconds(Int64((delay * 1000).rounded())))

        default:
            phase = .loading
            return .loadCursor
        }
    }
}
