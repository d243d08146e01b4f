import Synchronization

/// Admission for the Agency API's expensive reads (program search and eligibility: each can rank
/// or scan tens of thousands of programs on one of the replica's three reader connections).
///
/// At most `limit` run at once, so that a flood of searches cannot take every reader from the
/// federation's pulls and the status port; at most `queue` more wait, first come first served.
/// A call that finds the queue full is refused at once (503 with `Retry-After`, a bounded cost:
/// no reader, no wait), and so is one that waited longer than `maxWait` before its turn came:
/// under a sustained overload the queue would otherwise stay full and every answer late, and a
/// late answer serves no one. Nothing is lost by a refusal: these calls read, never write.
///
/// A plain counting semaphore with a bounded FIFO of continuations; no library offers one with a
/// bound and a refusal (swift-async-algorithms has no semaphore), hence these lines.
final class AdmissionGate: Sendable {
    enum Outcome: Sendable, Equatable {
        case admitted
        /// `queue` calls were already waiting.
        case queueFull
        /// Waited longer than `maxWait` for a turn.
        case waitedTooLong
        case cancelled
    }

    let limit: Int
    let queue: Int
    let maxWait: Duration
    /// Runs between deciding to wait and queueing (tests: what other calls may do in that gap).
    let beforeQueueing: (@Sendable () -> Void)?

    private struct Waiter {
        let id: UInt64
        let since: ContinuousClock.Instant
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private struct State {
        var running = 0
        var waiters: [Waiter] = []
        var head = 0
        var nextID: UInt64 = 0
        var waiting: Int { waiters.count - head }
    }

    private let state = Mutex(State())

    init(limit: Int, queue: Int, maxWait: Duration = .seconds(1), beforeQueueing: (@Sendable () -> Void)? = nil) {
        precondition(limit >= 1 && queue >= 0)
        self.beforeQueueing = beforeQueueing
        self.limit = limit
        self.queue = queue
        self.maxWait = maxWait
    }

    /// Calls running and waiting now.
    var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting) } }

    /// Runs `work` when admitted; otherwise throws ``RefusedAdmission`` without running it.
    func run<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        let outcome = await enter()
        guard outcome == .admitted else { throw RefusedAdmission(outcome: outcome, limit: limit, queue: queue) }
        defer { leave() }
        return try await work()
    }

    func enter() async -> Outcome {
        enum Decision { case admitted, refused, wait(UInt64) }
        let decision: Decision = state.withLock { state in
            if state.running < limit, state.waiting == 0 {
                state.running += 1
                return .admitted
            }
            guard state.waiting < queue else { return .refused }
            state.nextID &+= 1
            return .wait(state.nextID)
        }
        switch decision {
        case .admitted: return .admitted
        case .refused: return .queueFull
        case .wait(let id):
            beforeQueueing?()
            return await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    // Decided again under the lock that queues: between the first look and this
                    // one, running calls may have left (with no one queued to hand their slot to)
                    // or others may have queued.
                    let now: Outcome? = state.withLock { state in
                        // Cancelled before the continuation was queued: never queue it.
                        if Task.isCancelled { return .cancelled }
                        if state.running < limit, state.waiting == 0 {
                            state.running += 1
                            return .admitted
                        }
                        guard state.waiting < queue else { return .queueFull }
                        state.waiters.append(Waiter(id: id, since: .now, continuation: continuation))
                        return nil
                    }
                    if let now { continuation.resume(returning: now) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    guard let index = state.waiters[state.head...].firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                waiter?.continuation.resume(returning: .cancelled)
            }
        }
    }

    /// Frees a slot: the oldest waiter that has not waited too long takes it; the ones that have
    /// are refused on the way.
    func leave() {
        let now = ContinuousClock.now
        let (admitted, late) = state.withLock { state -> (Waiter?, [Waiter]) in
            var late: [Waiter] = []
            var admitted: Waiter?
            while state.head < state.waiters.count {
                let waiter = state.waiters[state.head]
                state.head += 1
                if now - waiter.since > maxWait {
                    late.append(waiter)
                } else {
                    admitted = waiter
                    break
                }
            }
            if admitted == nil { state.running -= 1 }
            // Reclaim the consumed prefix once it outweighs what is left.
            if state.head > 64, state.head * 2 > state.waiters.count {
                state.waiters.removeFirst(state.head)
                state.head = 0
            }
            return (admitted, late)
        }
        for waiter in late { waiter.continuation.resume(returning: .waitedTooLong) }
        admitted?.continuation.resume(returning: .admitted)
    }
}

/// A call the gate did not admit.
struct RefusedAdmission: Error, Sendable {
    let outcome: AdmissionGate.Outcome
    let limit: Int
    let queue: Int
}
