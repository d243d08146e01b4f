/// Opening a note: parsing it and verifying its signatures against known keys.
extension SignedNote {
    /// Parses `note` and verifies every signature made by one of `verifiers`.
    ///
    /// Signatures by keys not in `verifiers` (no verifier with the same name *and* key ID) are
    /// ignored and listed as unverified, as the spec requires. A signature by a known key that
    /// fails to verify rejects the whole note.
    ///
    /// - Throws: `malformedNote` if the note is not well formed; `ambiguousKey` if a signature
    ///   matches two different verifiers; `invalidSignature` if a known key's signature fails;
    ///   `unverifiedNote` if no signature is by a known key.
    public static func open(_ note: [UInt8], verifiers: [NoteVerifier]) throws(EvidenceError) -> OpenedNote {
        let parsed = try SignedNote(parsing: note)
        let text = Array(parsed.text.utf8)

        var known: [KeyName: [NoteVerifier]] = [:]
        for verifier in Set(verifiers) {
            known[KeyName(name: verifier.name, keyID: verifier.keyID), default: []].append(verifier)
        }

        var verified: [VerifiedSignature] = []
        var unverified: [NoteSignature] = []
        for signature in parsed.signatures {
            let key = KeyName(name: signature.name, keyID: signature.keyID)
            guard let candidates = known[key] else {
                if !unverified.contains(signature) { unverified.append(signature) }
                continue
            }
            guard candidates.count == 1, let verifier = candidates.first else {
                throw EvidenceError(.ambiguousKey, "Two verifiers share the key \(signature.name)+\(NoteKey.hex(signature.keyID)); configure only one.")
            }
            guard verifier.isValid(signature, for: text) else {
                throw EvidenceError(.invalidSignature, "The signature by \(signature.name)+\(NoteKey.hex(signature.keyID)) does not verify: the note was altered or forged.")
            }
            if !verified.contains(where: { $0.verifier == verifier }) {
                verified.append(VerifiedSignature(verifier: verifier, signature: signature))
            }
        }
        guard !verified.isEmpty else {
            throw EvidenceError(.unverifiedNote, "No signature on the note is by a known key (signed by: \(unverified.map(\.name).joined(separator: ", "))).")
        }
        return OpenedNote(text: parsed.text, verified: verified, unverified: unverified)
    }

    /// Parses `note` and verifies its signatures, as `open(_:verifiers:)` on bytes.
    public static func open(_ note: String, verifiers: [NoteVerifier]) throws(EvidenceError) -> OpenedNote {
        try open(Array(note.utf8), verifiers: verifiers)
    }

    private struct KeyName: Hashable {
        var name: String
        var keyID: UInt32
    }
}

/// A note whose signatures by known keys all verified, with at least one such signature.
public struct OpenedNote: Sendable, Hashable {
    /// The note text, including its final newline. Trust it only as far as the verifiers
    /// in `verified` are trusted.
    public let text: String
    /// One entry per known key that signed, in note order.
    public let verified: [VerifiedSignature]
    /// Signatures by keys that were not given, unchecked, without duplicates.
    public let unverified: [NoteSignature]

    /// The verifiers whose signatures are on the note.
    public var verifiers: [NoteVerifier] { verified.map(\.verifier) }
}

/// A signature that verified, and the key it verified under.
public struct VerifiedSignature: Sendable, Hashable {
    /// The key the signature verified under.
    public let verifier: NoteVerifier
    /// The signature line as read.
    public let signature: NoteSignature

    /// For a cosignature/v1, the POSIX time (seconds) the cosigner signed at; nil for a plain
    /// Ed25519 note signature.
    public var timestamp: UInt64? {
        verifier.type == .cosignatureV1 ? Cosigner.timestamp(of: signature.bytes) : nil
    }
}
