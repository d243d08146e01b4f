/// Exponential backoff with full jitter, honouring a peer's Retry-After. Pure: the caller gives
/// the random source, so tests are exact.
public struct Backoff: Sendable, Hashable {
    public var initialSeconds: Double
    public var maximumSeconds: Double
    /// Consecutive failures so far.
    public private(set) var failures: Int = 0

    public init(initialSeconds: Double = 0.2, maximumSeconds: Double = 30) {
        self.initialSeconds = initialSeconds
        self.maximumSeconds = maximumSeconds
    }

    /// The delay before the next attempt after a failure: uniformly random in
    /// [0, min(maximum, initial · 2^failures)] ("full jitter"), but never less than what the peer
    /// asked for with Retry-After (capped at ten minutes).
    public mutating func nextDelay(retryAfter: Double? = nil, using random: inout some RandomNumberGenerator) -> Double {
        nextDelay(retryAfter: retryAfter, jitter: Double.random(in: 0...1, using: &random))
    }

    /// The same with the jitter given: `jitter` in [0, 1] picks the point below the ceiling.
    public mutating func nextDelay(retryAfter: Double? = nil, jitter: Double) -> Double {
        let ceiling = min(maximumSeconds, initialSeconds * Double(1 << min(failures, 20)))
        failures += 1
        let jittered = ceiling * min(max(jitter, 0), 1)
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, 600))
    }

    /// Back to the first delay after a success.
    public mutating func reset() { failures = 0 }
}
