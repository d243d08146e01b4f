/// An Ed25519 note signing key (signature type 0x01).
///
/// Its text form is the golang.org/x/mod/sumdb/note private key
/// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>`. Keep it secret; neither
/// `description` nor `dump` prints it.
public struct NoteSigner: Sendable, CustomStringConvertible, CustomReflectable {
    /// The key name written in signature lines.
    public let name: String
    /// The key ID of the matching verifier.
    public let keyID: UInt32
    /// The verifier for this key's signatures.
    public let verifier: NoteVerifier
    private let seed: [UInt8]
    private let key: SigningKeyBox

    /// Parses a private key string.
    ///
    /// - Throws: `malformedKey` if the string is not of that form, is not an Ed25519 (0x01) key,
    ///   or its key ID does not match the key.
    public init(_ encodedPrivateKey: String) throws(EvidenceError) {
        let (name, seed) = try NoteKey.decodePrivateKey(encodedPrivateKey, type: .ed25519)
        try self.init(name: name, seed: seed)
    }

    /// A signer for the Ed25519 key with the 32-byte `seed`, under `name`.
    ///
    /// - Throws: `malformedKey` if the name is not a valid key name or the seed is not 32 bytes.
    public init(name: String, seed: [UInt8]) throws(EvidenceError) {
        let verifier = try NoteVerifier(name: name, publicKey: try NoteKey.publicKey(seed: seed), type: .ed25519)
        self.name = name
        self.keyID = verifier.keyID
        self.verifier = verifier
        self.seed = seed
        self.key = try SigningKeyBox(seed: seed)
    }

    /// A signer with a fresh random key.
    ///
    /// - Throws: `malformedKey` if `name` is not a valid key name.
    public static func generate(name: String) throws(EvidenceError) -> NoteSigner {
        try NoteSigner(name: name, seed: NoteKey.randomSeed())
    }

    /// The private key string. Secret.
    public var encodedPrivateKey: String {
        NoteKey.encodePrivateKey(name: name, keyID: keyID, type: .ed25519, seed: seed)
    }

    /// Names the key by name and key ID; never prints the secret.
    public var description: String { "NoteSigner(\(name)+\(NoteKey.hex(keyID)))" }

    /// Shows the name and key ID to `dump` and debuggers, never the seed.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "keyID": NoteKey.hex(keyID)])
    }

    /// The same key as a witness's cosigner (C2SP tlog-cosignature, type 0x04): a Hanaro agency
    /// cosigns its peers' checkpoints with its one signing key; the `cosignature/v1` prefix of the
    /// signed message keeps the two uses apart.
    public var cosigner: Cosigner {
        // The seed was valid for this signer, so it is valid for the cosigner.
        try! Cosigner(name: name, seed: seed)
    }

    /// Lends the seed to the sealing key's derivation (SealingKey.swift), and nothing else.
    func seedForSealing<T>(_ body: ([UInt8]) -> T) -> T { body(seed) }

    /// The signature of the note `text`.
    ///
    /// - Throws: `malformedNote` if `text` is not a valid note text (see `SignedNote`).
    public func signature(for text: String) throws(EvidenceError) -> NoteSignature {
        try SignedNote.validateText(text)
        return NoteSignature(name: name, keyID: keyID, bytes: try signature(forBytes: Array(text.utf8)))
    }

    /// An Ed25519 signature of arbitrary `message` bytes with this key (not a note: Hanaro signs
    /// record-version envelopes with an agency's note key, so one key text serves both).
    public func signature(forBytes message: [UInt8]) throws(EvidenceError) -> [UInt8] {
        try key.sign(message)
    }

    /// The signed note: `text`, a blank line, and this key's signature line.
    ///
    /// - Throws: `malformedNote` if `text` is not a valid note text (see `SignedNote`).
    public func sign(_ text: String) throws(EvidenceError) -> String {
        try SignedNote(text: text, signatures: [signature(for: text)]).encoded
    }
}

