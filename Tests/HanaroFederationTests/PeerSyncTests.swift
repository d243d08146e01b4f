import HanaroFederation
import HanaroTesting
import Testing

/// The pull loop's decisions, driven event by event: no network, no replica, no waiting.
@Suite("Peer sync state machine")
struct PeerSyncTests {
    typealias Page = PeerSync.PageSummary

    @Test("cursor text: parsed and written in one form; anything else is not a cursor")
    func cursorText() {
        #expect(PeerCursor(text: "e1 42")?.text == "e1 42")
        #expect(PeerCursor(text: "e1 0 full") == PeerCursor(epoch: "e1", seq: 0, full: true))
        #expect(PeerCursor(text: "- 7") == PeerCursor(epoch: nil, seq: 7))
        for bad in ["", "e1", "e1 x", "e1 -3", "e1 4 partial", "e1 4 full extra"] { #expect(PeerCursor(text: bad) == nil, "\(bad)") }
        #expect(PeerCursor(epoch: "e", seq: 9).restartedInFull(epoch: "f") == PeerCursor(epoch: "f", seq: 0, full: true))
    }

    @Test("first contact: a full read from the beginning, pages pipelined, caught up when no more follow")
    func firstContact() {
        var machine = PeerSync(longPollMilliseconds: 25_000)
        // Given nothing stored, When the loop starts, Then it reads the cursor and pulls in full at once.
        #expect(machine.handle(.start) == .loadCursor)
        #expect(machine.handle(.cursorLoaded(nil)) == .pull(.firstContact, waitMilliseconds: 0))
        // When a page with more to come arrives, Then it is stored (compare-and-set against
        // nothing stored) while the next one is pulled, and the read stays full.
        let first = PeerCursor(epoch: "e", seq: 100, full: true)
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 100, more: true, frameCount: 100)))
                == .apply(checkpoint: first, expected: nil, write: true, prefetch: first))
        #expect(machine.handle(.applied) == .awaitPrefetch)
        // When the last page arrives, Then the full read ends with it and the cursor is plain.
        let last = PeerCursor(epoch: "e", seq: 150)
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 150, more: false, frameCount: 50)))
                == .apply(checkpoint: last, expected: first, write: true, prefetch: nil))
        #expect(machine.handle(.applied) == .loadCursor)
        #expect(machine.isCaughtUp)
        // Then, caught up, the next pull is a long-poll.
        #expect(machine.handle(.cursorLoaded(last)) == .pull(last, waitMilliseconds: 25_000))
    }

    @Test("an empty long-poll answer that moves nothing writes nothing (idle nodes do not wake each other)")
    func idleWritesNothing() {
        var machine = PeerSync(longPollMilliseconds: 25_000, startCaughtUp: true)
        let stored = PeerCursor(epoch: "e", seq: 7)
        _ = machine.handle(.start)
        #expect(machine.handle(.cursorLoaded(stored)) == .pull(stored, waitMilliseconds: 25_000))
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 7, more: false, frameCount: 0)))
                == .apply(checkpoint: stored, expected: stored, write: false, prefetch: nil))
        // But an empty page that moves the cursor (echoes skipped) is stored.
        _ = machine.handle(.applied)
        _ = machine.handle(.cursorLoaded(stored))
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 9, more: false, frameCount: 0)))
                == .apply(checkpoint: PeerCursor(epoch: "e", seq: 9), expected: stored, write: true, prefetch: nil))
    }

    @Test("a full reconciliation never long-polls and stays full until the peer's head")
    func fullNeverLongPolls() {
        var machine = PeerSync(longPollMilliseconds: 25_000, startCaughtUp: true)
        let full = PeerCursor(epoch: "e", seq: 0, full: true)
        _ = machine.handle(.start)
        #expect(machine.handle(.cursorLoaded(full)) == .pull(full, waitMilliseconds: 0))
        guard case .apply(let checkpoint, _, _, _) = machine.handle(.pageReceived(Page(epoch: "e", next: 10, more: true, frameCount: 10))) else {
            Issue.record("expected an apply")
            return
        }
        #expect(checkpoint.full)
    }

    @Test("a reset (the peer's replica was recreated or restored) restarts the read in full under the new epoch")
    func reset() {
        var machine = PeerSync(longPollMilliseconds: 25_000, startCaughtUp: true)
        let stored = PeerCursor(epoch: "old", seq: 500)
        _ = machine.handle(.start)
        _ = machine.handle(.cursorLoaded(stored))
        #expect(machine.handle(.reset(epoch: "new")) == .restartInFull(checkpoint: PeerCursor(epoch: "new", seq: 0, full: true), expected: stored))
        #expect(machine.resets == 1)
        #expect(machine.handle(.applied) == .loadCursor)
        // The pull after a reset is immediate, not a long-poll.
        #expect(machine.handle(.cursorLoaded(PeerCursor(epoch: "new", seq: 0, full: true))) == .pull(PeerCursor(epoch: "new", seq: 0, full: true), waitMilliseconds: 0))
    }

    @Test("failures back off exponentially with jitter, honour Retry-After, and a success resets the backoff")
    func backoff() {
        var machine = PeerSync(longPollMilliseconds: 25_000, backoff: Backoff(initialSeconds: 0.5, maximumSeconds: 8))
        let now = Duration.seconds(100)
        _ = machine.handle(.start)
        // Full jitter (1.0): the ceiling itself — 0.5 s, then 1 s, 2 s, 4 s, 8 s, 8 s.
        var deadlines: [Duration] = []
        for _ in 0..<6 {
            let action = machine.handle(.failed(retryAfterSeconds: nil, jitter: 1, now: now))
            guard case .backoff(let until) = action else { Issue.record("expected a backoff, got \(action)"); return }
            deadlines.append(until - now)
            #expect(machine.handle(.timerFired) == .loadCursor)
        }
        #expect(deadlines == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8)])
        // No jitter draws zero; Retry-After is a floor.
        #expect(machine.handle(.failed(retryAfterSeconds: 30, jitter: 0, now: now)) == .backoff(until: now + .seconds(30)))
        // A stored page resets the backoff.
        _ = machine.handle(.timerFired)
        _ = machine.handle(.cursorLoaded(nil))
        _ = machine.handle(.pageReceived(Page(epoch: "e", next: 1, more: false, frameCount: 1)))
        _ = machine.handle(.applied)
        #expect(machine.backoff.failures == 0)
        #expect(machine.handle(.failed(retryAfterSeconds: nil, jitter: 1, now: now)) == .backoff(until: now + .milliseconds(500)))
        // After a failure the next pull catches up first (no long-poll).
        _ = machine.handle(.timerFired)
        #expect(machine.handle(.cursorLoaded(PeerCursor(epoch: "e", seq: 1))) == .pull(PeerCursor(epoch: "e", seq: 1), waitMilliseconds: 0))
    }

    @Test("without pipelining, each page is one round: stored, then the cursor is read again")
    func notPipelined() {
        var machine = PeerSync(longPollMilliseconds: 0, pipelined: false)
        _ = machine.handle(.start)
        _ = machine.handle(.cursorLoaded(nil))
        let checkpoint = PeerCursor(epoch: "e", seq: 10, full: true)
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 10, more: true, frameCount: 10)))
                == .apply(checkpoint: checkpoint, expected: nil, write: true, prefetch: nil))
        #expect(machine.handle(.applied) == .loadCursor)
        #expect(!machine.isCaughtUp)
    }

    @Test("an event out of place restarts the round from the stored cursor (always safe)")
    func outOfPlace() {
        var machine = PeerSync(longPollMilliseconds: 25_000)
        #expect(machine.handle(.applied) == .loadCursor)
        #expect(machine.handle(.pageReceived(Page(epoch: "e", next: 1, more: false, frameCount: 1))) == .loadCursor)
    }
}
