import Synchronization

/// Wakes long-polling readers of the change feed when a write commits, so that a change reaches a
/// peer within milliseconds instead of a poll interval.
final class HeadWatch: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits that ended (timeout or cancellation) before their waiter parked.
        var finished: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Called after every committed write: wakes every parked reader.
    func notify() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The current generation: pass it to ``wait(since:timeout:)`` to wait for the next commit.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Returns when a write commits after `generation` was read, after `timeout`, or when the
    /// calling task is cancelled.
    func wait(since generation: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.generation != generation || state.finished.remove(id) != nil { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            // Whichever finished first, release the other: a parked waiter is resumed, one that has
            // not parked yet finds its id finished and returns at once; the sleeper is cancelled.
            let parked = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let parked = state.waiters.removeValue(forKey: id) { return parked }
                state.finished.insert(id)
                return nil
            }
            parked?.resume()
            group.cancelAll()
        }
        state.withLock { _ = $0.finished.remove(id) }
    }
}
