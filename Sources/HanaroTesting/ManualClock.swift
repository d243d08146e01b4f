public import HanaroCore

import Synchronization

/// A clock the test moves by hand: wall time for the replica and the simulated agencies
/// (``WallClock``), and monotonic time for the sync loops (``MonotonicClock``). Sleepers wake when
/// ``advance(by:)`` moves the clock past their deadline — never by themselves.
public final class ManualClock: WallClock, MonotonicClock, Sendable {
    private struct State {
        var wallMilliseconds: UInt64
        var monotonic: Duration = .zero
        var sleepers: [(deadline: Duration, id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
        var parkWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Sleeps that ever parked (a test waits for the n-th one).
        var parkedTotal = 0
    }

    private let state: Mutex<State>

    /// - Parameter wallMilliseconds: the wall time to start at (default: 2026-09-21T07:33:20Z).
    public init(wallMilliseconds: UInt64 = 1_790_000_000_000) {
        state = Mutex(State(wallMilliseconds: wallMilliseconds))
    }

    public func nowMilliseconds() -> UInt64 { state.withLock { $0.wallMilliseconds } }

    public var now: Duration { state.withLock { $0.monotonic } }

    /// Sleepers waiting right now (a test can wait until the code under test parks).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Returns once `count` sleeps in all have parked on this clock (the code under test is then
    /// waiting for time to pass) — an event, not a poll.
    public func parked(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.parkedTotal >= count { return true }
                state.parkWaiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Moves both clocks forward and wakes the sleepers whose deadline passed.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.monotonic += duration
            let (seconds, attoseconds) = duration.components
            state.wallMilliseconds += UInt64(max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            let due = state.sleepers.filter { $0.deadline <= state.monotonic }
            state.sleepers.removeAll { $0.deadline <= state.monotonic }
            return due.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Moves both clocks forward by `milliseconds`.
    public func advance(milliseconds: UInt64) { advance(by: .milliseconds(Int64(milliseconds))) }

    public func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resumeNow, parkWaiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if deadline <= state.monotonic || Task.isCancelled { return (true, []) }
                    state.sleepers.append((deadline, id, continuation))
                    state.parkedTotal += 1
                    let total = state.parkedTotal
                    let due = state.parkWaiters.filter { $0.count <= total }.map(\.continuation)
                    state.parkWaiters.removeAll { $0.count <= total }
                    return (false, due)
                }
                if resumeNow { continuation.resume() }
                for waiter in parkWaiters { waiter.resume() }
            }
        } onCancel: {
            let parked = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index).continuation
            }
            parked?.resume(throwing: CancellationError())
        }
    }
}
