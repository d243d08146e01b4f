import Crypto

/// Key names, key IDs and key strings shared by verifiers, signers and cosigners.
enum NoteKey {
    /// SHA-256(name || 0x0A || type || publicKey)[:4], big-endian (signed-note "key ID").
    static func keyID(name: String, type: NoteSignatureType, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type.rawValue] + publicKey)
        return Array(hasher.finalize()).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A key name must be non-empty and hold no Unicode space and no "+" (signed-note), nor an
    /// ASCII control character (which no note may hold).
    static func isValidName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains {
            $0.properties.isWhitespace || $0 == "+" || $0.value < 0x20
        }
    }

    /// The key ID as eight lowercase hex digits.
    static func hex(_ id: UInt32) -> String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Parses exactly eight lowercase hex digits.
    static func parseHex(_ text: some StringProtocol) -> UInt32? {
        guard text.utf8.count == 8, text.utf8.allSatisfy({ (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0) }) else {
            return nil
        }
        return UInt32(text, radix: 16)
    }

    /// The 32-byte public key of an Ed25519 seed.
    static func publicKey(seed: [UInt8]) throws(EvidenceError) -> [UInt8] {
        try Array(privateKey(seed: seed).publicKey.rawRepresentation)
    }

    static func privateKey(seed: [UInt8]) throws(EvidenceError) -> Curve25519.Signing.PrivateKey {
        guard seed.count == 32 else {
            throw EvidenceError(.malformedKey, "An Ed25519 seed must be 32 bytes, not \(seed.count).")
        }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw EvidenceError(.malformedKey, "The Ed25519 seed was refused.", cause: error)
        }
    }

    static func randomSeed() -> [UInt8] {
        Array(Curve25519.Signing.PrivateKey().rawRepresentation)
    }


    /// The private key string `PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>`, the form of
    /// golang.org/x/mod/sumdb/note.
    static func encodePrivateKey(name: String, keyID: UInt32, type: NoteSignatureType, seed: [UInt8]) -> String {
        "PRIVATE+KEY+\(name)+\(hex(keyID))+\(Base64.encode([type.rawValue] + seed))"
    }

    /// Parses a private key string of `type`, checking that its key ID matches the key.
    static func decodePrivateKey(_ encoded: String, type: NoteSignatureType) throws(EvidenceError) -> (name: String, seed: [UInt8]) {
        let malformed = EvidenceError(.malformedKey, "Not a private key of the form PRIVATE+KEY+<name>+<hex key id>+<base64 key>.")
        // The base64 part may itself contain "+", so split at most four times.
        let parts = encoded.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", isValidName(parts[2]),
              let id = parseHex(parts[3]), let key = Base64.decode(parts[4]), key.count == 33
        else { throw malformed }
        guard key[0] == type.rawValue else {
            throw EvidenceError(.malformedKey, "The private key is of signature type \(key[0]), not \(type.rawValue) (\(type)).")
        }
        let name = String(parts[2])
        let seed = Array(key[1...])
        guard keyID(name: name, type: type, publicKey: try publicKey(seed: seed)) == id else {
            throw EvidenceError(.malformedKey, "The key ID \(parts[3]) does not match the private key of \(name).")
        }
        return (name, seed)
    }
}

/// An Ed25519 private key derived from its seed once: deriving it costs a scalar multiplication,
/// as much as a signature, and a node signs every version it authors. swift-crypto's key is not
/// `Sendable`; this box is never mutated after init, so sharing it across threads is safe.
final class SigningKeyBox: @unchecked Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// - Throws: `malformedKey` for a seed that is not 32 bytes.
    init(seed: [UInt8]) throws(EvidenceError) {
        key = try NoteKey.privateKey(seed: seed)
    }

    /// The Ed25519 signature of `message`.
    func sign(_ message: [UInt8]) throws(EvidenceError) -> [UInt8] {
        do {
            return Array(try key.signature(for: message))
        } catch {
            throw EvidenceError(.signingFailed, "Ed25519 signing failed.", cause: error)
        }
    }
}
