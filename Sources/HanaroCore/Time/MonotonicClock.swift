/// Monotonic time for the sync loops: how long since an arbitrary origin, and a sleep until a
/// point of it. Injected so that tests drive time by hand (a manual clock resumes sleepers when
/// it is advanced) instead of waiting for it.
public protocol MonotonicClock: Sendable {
    /// Time since the clock's origin.
    var now: Duration { get }
    /// Returns at `deadline` (or at once if it has passed).
    /// - Throws: `CancellationError` when the task is cancelled.
    func sleep(until deadline: Duration) async throws
}

/// The system's monotonic clock (`ContinuousClock`), counted from when the value was made.
public struct SystemMonotonicClock: MonotonicClock {
    let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(until deadline: Duration) async throws {
        try await ContinuousClock().sleep(until: origin + deadline)
    }
}
