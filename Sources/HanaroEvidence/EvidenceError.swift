/// Why an evidence operation was refused. HanaroEvidence's one error type.
///
/// The message says what went wrong and what to do; it never contains private key material.
public struct EvidenceError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A proof, root or leaf was asked for a size or index the tree does not have, or a leaf
        /// hash to append is not 32 bytes.
        case invalidTreeRange = "invalid_tree_range"
        /// A signed note (or the text to be signed) breaks the C2SP signed-note syntax.
        case malformedNote = "malformed_note"
        /// A verifier or signer key string, name, seed or public key is not well formed, or its
        /// key ID does not match the key.
        case malformedKey = "malformed_key"
        /// Two verifiers given to one open share a name and key ID, so a signature cannot be
        /// attributed to one of them.
        case ambiguousKey = "ambiguous_key"
        /// A signature from a known key does not verify: the note was altered or forged.
        case invalidSignature = "invalid_signature"
        /// The note is well formed but no signature in it is from a known key.
        case unverifiedNote = "unverified_note"
        /// A checkpoint body breaks the C2SP tlog-checkpoint syntax.
        case malformedCheckpoint = "malformed_checkpoint"
        /// A cosignature timestamp exceeds 2^63 - 1, which tlog-cosignature forbids.
        case invalidTimestamp = "invalid_timestamp"
        /// The cryptography library refused to sign (should not happen with a valid key).
        case signingFailed = "signing_failed"
    }

    /// What kind of failure this is, for callers that branch on it.
    public var code: Code
    /// What went wrong and what to do, for people.
    public var message: String
    /// The underlying error, when there is one.
    public var cause: (any Error & Sendable)?

    /// An error of `code` explained by `message`.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message, followed by the cause when there is one.
    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
