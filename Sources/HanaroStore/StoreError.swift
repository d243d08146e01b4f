/// Why the replica refused or failed an operation. HanaroStore's one error type.
///
/// The message says what went wrong and what to do, names the file where there is one, and never
/// contains personal data or key material.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The key file is missing, unreadable, of the wrong size or readable by others.
        case keyFile = "key_file"
        /// The database file cannot be opened, migrated or written (permissions, full disk, corruption).
        case database
        /// Stored bytes do not decode: the file was damaged or written by an incompatible version.
        case corrupt
        /// Personal fields do not decrypt: wrong key file for this replica.
        case decryption
        /// A caller asked for something that does not exist or does not fit.
        case invalidRequest = "invalid_request"
        /// The disk holding the replica is full (or its size cap was reached): nothing of the
        /// operation was written; it can be retried once space is freed.
        case diskFull = "disk_full"
    }

    public var code: Code
    public var message: String
    /// The underlying error, when there is one (never printed with personal data).
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
