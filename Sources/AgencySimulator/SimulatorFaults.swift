/// Faults the simulator injects into its native API, set through `POST /_sim/faults` (JSON with
/// these keys) or ``AgencySimulator/setFaults(_:)``. Counts are consumed request by request.
public struct SimulatorFaults: Sendable, Codable, Hashable {
    /// Added to every native answer.
    public var latencyMilliseconds = 0
    /// The next n native requests answer with the agency's own error envelope (HTTP 200 carrying an
    /// error code for the data.go.kr agencies, HTTP 500 for the others).
    public var errorBurst = 0
    /// The error burst starts only after this many more native requests were served normally
    /// (an error in the middle of a read).
    public var errorAfterPages = 0
    /// The next n native requests answer 429 with `Retry-After: retryAfterSeconds`.
    public var rateLimited = 0
    public var retryAfterSeconds = 1
    /// The next n native bodies are cut in half.
    public var truncate = 0
    /// The next n requests for a page after the first are answered with the previous page again.
    public var duplicatePages = 0
    /// After the next first page (of more than one item) is served, this many of the records it served are changed
    /// (so they move behind the read, and positions shift).
    public var changeWhilePaging = 0
    /// This many records (the oldest not yet malformed) are rewritten with a field no adapter can map.
    public var malformedRecords = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case latencyMilliseconds = "latency_ms", errorBurst = "error_burst", errorAfterPages = "error_after_pages", rateLimited = "rate_limited"
        case retryAfterSeconds = "retry_after_s", truncate, duplicatePages = "duplicate_pages"
        case changeWhilePaging = "change_while_paging", malformedRecords = "malformed_records"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        latencyMilliseconds = try c.decodeIfPresent(Int.self, forKey: .latencyMilliseconds) ?? 0
        errorBurst = try c.decodeIfPresent(Int.self, forKey: .errorBurst) ?? 0
        errorAfterPages = try c.decodeIfPresent(Int.self, forKey: .errorAfterPages) ?? 0
        rateLimited = try c.decodeIfPresent(Int.self, forKey: .rateLimited) ?? 0
        retryAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? 1
        truncate = try c.decodeIfPresent(Int.self, forKey: .truncate) ?? 0
        duplicatePages = try c.decodeIfPresent(Int.self, forKey: .duplicatePages) ?? 0
        changeWhilePaging = try c.decodeIfPresent(Int.self, forKey: .changeWhilePaging) ?? 0
        malformedRecords = try c.decodeIfPresent(Int.self, forKey: .malformedRecords) ?? 0
    }
}
