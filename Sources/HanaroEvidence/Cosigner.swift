/// A witness key that cosigns checkpoints (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1,
/// signature type 0x04).
///
/// A cosignature states that, as of its timestamp, this is the largest consistent tree the
/// cosigner has seen for the checkpoint's origin. It signs
/// `"cosignature/v1\ntime <seconds>\n" + checkpoint text`, and its signature line carries
/// key ID || 8-byte big-endian timestamp || 64-byte Ed25519 signature.
///
/// Its private key string is `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || seed)>`, where the
/// key ID is computed with type byte 0x04. Keep it secret; neither `description` nor
/// `dump` prints it.
public struct Cosigner: Sendable, CustomStringConvertible, CustomReflectable {
    /// The cosigner name written in signature lines, for example `witness.example.com/w1`.
    public let name: String
    /// SHA-256(name || 0x0A || 0x04 || publicKey)[:4].
    public let keyID: UInt32
    /// The verifier (type 0x04) for this cosigner's signatures.
    public let verifier: NoteVerifier
    private let seed: [UInt8]
    private let key: SigningKeyBox

    /// Parses a cosigner private key string.
    ///
    /// - Throws: `malformedKey` if the string is not of that form, is not of type 0x04, or its
    ///   key ID does not match the key.
    public init(_ encodedPrivateKey: String) throws(EvidenceError) {
        let (name, seed) = try NoteKey.decodePrivateKey(encodedPrivateKey, type: .cosignatureV1)
        try self.init(name: name, seed: seed)
    }

    /// A cosigner for the Ed25519 key with the 32-byte `seed`, under `name`.
    ///
    /// - Throws: `malformedKey` if the name is not a valid key name or the seed is not 32 bytes.
    public init(name: String, seed: [UInt8]) throws(EvidenceError) {
        let verifier = try NoteVerifier(name: name, publicKey: try NoteKey.publicKey(seed: seed), type: .cosignatureV1)
        self.name = name
        self.keyID = verifier.keyID
        self.verifier = verifier
        self.seed = seed
        self.key = try SigningKeyBox(seed: seed)
    }

    /// A cosigner with a fresh random key.
    ///
    /// - Throws: `malformedKey` if `name` is not a valid key name.
    public static func generate(name: String) throws(EvidenceError) -> Cosigner {
        try Cosigner(name: name, seed: NoteKey.randomSeed())
    }

    /// The private key string. Secret.
    public var encodedPrivateKey: String {
        NoteKey.encodePrivateKey(name: name, keyID: keyID, type: .cosignatureV1, seed: seed)
    }

    /// Names the key by name and key ID; never prints the secret.
    public var description: String { "Cosigner(\(name)+\(NoteKey.hex(keyID)))" }

    /// Shows the name and key ID to `dump` and debuggers, never the seed.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "keyID": NoteKey.hex(keyID)])
    }

    /// The cosignature of `checkpoint` at `timestamp` (POSIX seconds), to be appended to the
    /// checkpoint's signed note.
    ///
    /// - Throws: `invalidTimestamp` if `timestamp` exceeds 2^63 - 1, which the spec forbids.
    public func cosignature(for checkpoint: Checkpoint, timestamp: UInt64) throws(EvidenceError) -> NoteSignature {
        guard timestamp <= UInt64(Int64.max) else {
            throw EvidenceError(.invalidTimestamp, "A cosignature timestamp must not exceed 2^63 - 1 (got \(timestamp)).")
        }
        let message = Self.message(text: Array(checkpoint.text.utf8), timestamp: timestamp)
        let signature = try key.sign(message)
        let time = (0 ..< 8).map { UInt8(timestamp >> (56 - 8 * $0) & 0xFF) }
        return NoteSignature(name: name, keyID: keyID, bytes: time + signature)
    }

    /// The signed message: `cosignature/v1`, the time line, then the note text.
    static func message(text: [UInt8], timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + text
    }

    /// The timestamp at the head of a cosignature's bytes, if it is at most 2^63 - 1.
    static func timestamp(of bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 8 else { return nil }
        let timestamp = bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        return timestamp <= UInt64(Int64.max) ? timestamp : nil
    }
}
