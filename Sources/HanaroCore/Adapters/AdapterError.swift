/// Why an agency's native API could not be read or written: the envelope-level failures that make
/// the agency `failing` (bad records inside a good page are quarantined instead and never throw).
///
/// The message says what went wrong and what to do; it never contains a person's data.
public struct AdapterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Stable: the status port and the metrics use the raw value.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The agency's server could not be reached (connection refused, timeout, DNS).
        case unreachable
        /// The TLS handshake was refused or the agency's certificate did not verify.
        case tls
        /// The credentials were refused (HTTP 401/403, `SERVICE_KEY_IS_NOT_REGISTERED_ERROR`).
        case unauthorized
        /// The agency asked us to slow down (HTTP 429, `LIMITED_NUMBER_OF_SERVICE_REQUESTS...`).
        case rateLimited = "rate_limited"
        /// The answer's envelope carried an error (HTTP 200 with an error code, HTTP 5xx).
        case envelope
        /// The body was cut short or is not the agency's format at all.
        case schema
        /// The replica could not store what was read (disk full, ...): nothing of the page was kept.
        case store
    }

    public var code: Code
    /// The agency concerned.
    public var agency: AgencyID
    /// What went wrong and what to do.
    public var message: String
    /// How long the agency asked us to wait (`Retry-After`), when it did.
    public var retryAfterSeconds: Int?
    /// The HTTP status of the answer that failed, when there was one.
    public var httpStatus: Int?

    public init(_ code: Code, agency: AgencyID, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.agency = agency
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(agency.rawValue): \(code.rawValue): \(message)" }
}
