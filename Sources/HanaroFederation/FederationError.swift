/// Why a federation operation failed. HanaroFederation's one error type.
///
/// The message says what is wrong and what to do, names the file or peer where it can, and never
/// contains key material or personal data.
public struct FederationError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A certificate, key or CA file is missing, unreadable, malformed or expired.
        case certificate
        /// The peer refused us or we refused it (TLS, identity, authorization).
        case refused
        /// The peer could not be reached or the connection broke.
        case unreachable
        /// The peer asked us to slow down (429/503).
        case rateLimited = "rate_limited"
        /// The peer answered something we cannot read.
        case protocolError = "protocol"
        /// Our own replica failed.
        case store
    }

    public var code: Code
    public var message: String
    /// Seconds the peer asked us to wait (Retry-After), when it did.
    public var retryAfterSeconds: Double?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Double? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { message }
}
