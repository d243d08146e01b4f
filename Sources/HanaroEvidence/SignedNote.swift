/// A note text with signature lines (c2sp.org/signed-note).
///
/// The encoded form is the text (ending in a newline), a blank line, and one line per signature:
///
///     If you think cryptography is the answer to your problem,
///     then you don't know what your problem is.
///
///     — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
///
/// A note must be valid UTF-8 with no ASCII control character other than newline. The text may
/// hold blank lines; the last blank line separates it from the signatures.
///
/// The text of a note means nothing until a trusted key's signature on it is verified: use
/// `SignedNote.open(_:verifiers:)` on notes from outside, and `SignedNote(parsing:)` only to
/// inspect or forward one.
public struct SignedNote: Sendable, Hashable {
    /// The most signature lines a note may carry (the spec requires accepting at least 16).
    public static let maximumSignatures = 100

    /// The note text, including its final newline.
    public private(set) var text: String
    /// The signatures, in note order.
    public private(set) var signatures: [NoteSignature]

    /// A note of `text` with `signatures`.
    ///
    /// - Throws: `malformedNote` if `text` does not end in a newline or holds a control
    ///   character, or a signature's name is not a valid key name or it has no bytes.
    public init(text: String, signatures: [NoteSignature] = []) throws(EvidenceError) {
        try Self.validateText(text)
        for signature in signatures {
            try Self.validateSignature(signature)
        }
        self.text = text
        self.signatures = signatures
    }

    /// Parses an encoded note without verifying any signature.
    ///
    /// - Throws: `malformedNote` if the bytes are not a signed note with 1 to
    ///   `maximumSignatures` well-formed signature lines.
    public init(parsing note: [UInt8]) throws(EvidenceError) {
        guard note.allSatisfy({ $0 >= 0x20 || $0 == 0x0A }), String(validating: note, as: UTF8.self) != nil else {
            throw EvidenceError(.malformedNote, "A signed note must be UTF-8 with no control character but newline.")
        }
        guard let split = Self.lastBlankLine(in: note) else {
            throw EvidenceError(.malformedNote, "A signed note needs a blank line before its signature lines.")
        }
        let block = note[(split + 2)...]
        guard block.last == 0x0A else {
            throw EvidenceError(.malformedNote, "A signed note must end in a signature line and a newline.")
        }
        let lines = block.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count <= Self.maximumSignatures else {
            throw EvidenceError(.malformedNote, "The note has \(lines.count) signature lines; at most \(Self.maximumSignatures) are read.")
        }
        var signatures: [NoteSignature] = []
        for line in lines {
            guard let signature = NoteSignature(line: line) else {
                throw EvidenceError(.malformedNote, "A signature line is not of the form \"— <name> <base64 signature>\".")
            }
            signatures.append(signature)
        }
        self.text = String(decoding: note[...split], as: UTF8.self)
        self.signatures = signatures
    }

    /// Parses an encoded note without verifying any signature.
    ///
    /// - Throws: `malformedNote`, as `init(parsing:)` on bytes.
    public init(parsing note: String) throws(EvidenceError) {
        try self.init(parsing: Array(note.utf8))
    }

    /// The encoded note: text, blank line, signature lines. A note is only valid to send once it
    /// has at least one signature.
    public var encoded: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    /// Adds `signature`, replacing any signature by the same key (same name and key ID).
    ///
    /// - Throws: `malformedNote` if its name is not a valid key name or it has no bytes.
    public mutating func add(_ signature: NoteSignature) throws(EvidenceError) {
        try Self.validateSignature(signature)
        signatures.removeAll { $0.name == signature.name && $0.keyID == signature.keyID }
        signatures.append(signature)
    }

    /// Checks that `text` can be a note text: it ends in a newline and holds no control character
    /// other than newline.
    static func validateText(_ text: String) throws(EvidenceError) {
        guard text.utf8.last == 0x0A else {
            throw EvidenceError(.malformedNote, "A note text must end in a newline.")
        }
        guard text.utf8.allSatisfy({ $0 >= 0x20 || $0 == 0x0A }) else {
            throw EvidenceError(.malformedNote, "A note text must hold no control character but newline.")
        }
    }

    /// Checks that `signature` can be written as a line that parses back.
    static func validateSignature(_ signature: NoteSignature) throws(EvidenceError) {
        guard NoteKey.isValidName(signature.name) else {
            throw EvidenceError(.malformedNote, "Signature name \"\(signature.name)\" is empty or holds a space or \"+\".")
        }
        guard !signature.bytes.isEmpty else {
            throw EvidenceError(.malformedNote, "The signature by \(signature.name) has no bytes after its key ID.")
        }
    }

    /// The index of the first newline of the last "\n\n" in `bytes`.
    private static func lastBlankLine(in bytes: [UInt8]) -> Int? {
        var index = bytes.count - 2
        while index >= 0 {
            if bytes[index] == 0x0A && bytes[index + 1] == 0x0A { return index }
            index -= 1
        }
        return nil
    }
}
