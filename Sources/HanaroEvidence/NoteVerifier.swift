import Crypto

/// A public key that verifies note signatures: an Ed25519 note key or a cosignature/v1 key.
///
/// Its text form is the C2SP verifier key ("vkey") `<name>+<hex key id>+<base64(type || key)>`,
/// for example `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
public struct NoteVerifier: Sendable, Hashable, CustomStringConvertible {
    /// The key name, as it appears in signature lines.
    public let name: String
    /// SHA-256(name || 0x0A || type || publicKey)[:4].
    public let keyID: UInt32
    /// What the key signs: plain note text, or cosignature/v1 messages.
    public let type: NoteSignatureType
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    /// Parses a verifier key string.
    ///
    /// - Throws: `malformedKey` if the string is not of the vkey form, names an unsupported
    ///   signature type, or its key ID does not match its name and key.
    public init(_ encoded: String) throws(EvidenceError) {
        // The base64 part may itself contain "+", so split at most twice.
        let parts = encoded.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, NoteKey.isValidName(parts[0]), let id = NoteKey.parseHex(parts[1]),
              let key = Base64.decode(parts[2]), let typeByte = key.first
        else {
            throw EvidenceError(.malformedKey, "Not a verifier key of the form <name>+<hex key id>+<base64 key>.")
        }
        guard let type = NoteSignatureType(rawValue: typeByte) else {
            throw EvidenceError(.malformedKey, "Verifier key \(parts[0]) has signature type \(typeByte); only 1 (Ed25519) and 4 (cosignature/v1) are supported.")
        }
        try self.init(name: String(parts[0]), publicKey: Array(key.dropFirst()), type: type)
        guard keyID == id else {
            throw EvidenceError(.malformedKey, "The key ID \(parts[1]) does not match the key of \(name).")
        }
    }

    /// A verifier for the Ed25519 `publicKey` under `name`.
    ///
    /// - Throws: `malformedKey` if the name is empty or holds a space or "+", or the key is not 32 bytes.
    public init(name: String, publicKey: [UInt8], type: NoteSignatureType = .ed25519) throws(EvidenceError) {
        guard NoteKey.isValidName(name) else {
            throw EvidenceError(.malformedKey, "Key name \"\(name)\" is empty or holds a space, \"+\" or control character.")
        }
        guard publicKey.count == 32 else {
            throw EvidenceError(.malformedKey, "An Ed25519 public key must be 32 bytes, not \(publicKey.count).")
        }
        self.name = name
        self.type = type
        self.publicKey = publicKey
        self.keyID = NoteKey.keyID(name: name, type: type, publicKey: publicKey)
    }

    /// The verifier key string.
    public var encoded: String {
        "\(name)+\(NoteKey.hex(keyID))+\(Base64.encode([type.rawValue] + publicKey))"
    }

    /// The verifier key string.
    public var description: String { encoded }

    /// Whether `signature` (already matched to this key by name and ID) signs `text`.
    /// A key ID as it is written in key texts: eight lower-case hex digits.
    public static func text(ofKeyID id: UInt32) -> String { NoteKey.hex(id) }

    /// The same public key as a cosignature/v1 verifier (see ``NoteSigner/cosigner``).
    public var cosignatureVerifier: NoteVerifier {
        // Same name and a 32-byte key: valid.
        try! NoteVerifier(name: name, publicKey: publicKey, type: .cosignatureV1)
    }

    /// Whether `signature` is this Ed25519 key's signature of `message` (raw bytes, not a note).
    public func isValidSignature(_ signature: [UInt8], forBytes message: [UInt8]) -> Bool {
        guard type == .ed25519, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    func isValid(_ signature: NoteSignature, for text: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        switch type {
        case .ed25519:
            return signature.bytes.count == 64 && key.isValidSignature(signature.bytes, for: text)
        case .cosignatureV1:
            guard signature.bytes.count == 72, let timestamp = Cosigner.timestamp(of: signature.bytes) else { return false }
            let message = Cosigner.message(text: text, timestamp: timestamp)
            return key.isValidSignature(signature.bytes[8...], for: message)
        }
    }
}
