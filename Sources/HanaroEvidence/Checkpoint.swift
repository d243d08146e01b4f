/// A transparency log checkpoint: the note text that commits a log to its tree head
/// (c2sp.org/tlog-checkpoint).
///
///     example.com/behind-the-sofa
///     20852163
///     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
///
/// The origin line names the log, the second line is the tree size in decimal, the third the
/// base64 RFC 6962 root hash; optional extension lines follow. A checkpoint is carried as the text
/// of a signed note: open the note with the log's verifier, then parse its text here.
public struct Checkpoint: Sendable, Hashable {
    /// The log's identity, for example `example.com/behind-the-sofa`.
    public let origin: String
    /// The number of leaves in the tree.
    public let size: UInt64
    /// The RFC 6962 root hash of the tree at `size` (32 bytes).
    public let rootHash: [UInt8]
    /// Opaque non-empty lines after the root hash (their use is not recommended).
    public let extensionLines: [String]

    /// A checkpoint of the given tree head.
    ///
    /// - Throws: `malformedCheckpoint` if the origin or an extension line is empty or holds a
    ///   newline or control character, or the root hash is not 32 bytes.
    public init(origin: String, size: UInt64, rootHash: [UInt8], extensionLines: [String] = []) throws(EvidenceError) {
        guard Self.isValidLine(origin) else {
            throw EvidenceError(.malformedCheckpoint, "The checkpoint origin must be a non-empty line with no control character.")
        }
        guard rootHash.count == MerkleHash.size else {
            throw EvidenceError(.malformedCheckpoint, "The checkpoint root hash must be \(MerkleHash.size) bytes, not \(rootHash.count).")
        }
        guard extensionLines.allSatisfy(Self.isValidLine) else {
            throw EvidenceError(.malformedCheckpoint, "Checkpoint extension lines must be non-empty with no control character.")
        }
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensionLines = extensionLines
    }

    /// Parses a checkpoint note text strictly: every line newline-terminated and non-empty, a
    /// size with no sign, no leading zero (except "0") and within UInt64, and a canonical base64
    /// root hash of 32 bytes.
    ///
    /// - Throws: `malformedCheckpoint` naming the first rule broken.
    public init(parsing text: String) throws(EvidenceError) {
        guard text.utf8.last == 0x0A else {
            throw EvidenceError(.malformedCheckpoint, "A checkpoint must end in a newline.")
        }
        let lines = text.utf8.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard lines.count >= 3 else {
            throw EvidenceError(.malformedCheckpoint, "A checkpoint needs an origin, a size and a root hash line; it has \(lines.count) lines.")
        }
        guard let size = Self.parseSize(lines[1]) else {
            throw EvidenceError(.malformedCheckpoint, "The checkpoint size \"\(lines[1])\" is not a decimal number without leading zeros.")
        }
        guard let rootHash = Base64.decode(lines[2]), rootHash.count == MerkleHash.size else {
            throw EvidenceError(.malformedCheckpoint, "The checkpoint root hash is not the base64 of \(MerkleHash.size) bytes.")
        }
        try self.init(origin: lines[0], size: size, rootHash: rootHash, extensionLines: Array(lines[3...]))
    }

    /// The note text: origin, size, root hash and extension lines, each ending in a newline.
    public var text: String {
        ([origin, String(size), Base64.encode(rootHash)] + extensionLines).map { $0 + "\n" }.joined()
    }

    private static func isValidLine(_ line: String) -> Bool {
        !line.isEmpty && line.utf8.allSatisfy { $0 >= 0x20 }
    }

    private static func parseSize(_ line: String) -> UInt64? {
        let digits = Array(line.utf8)
        guard !digits.isEmpty, digits.allSatisfy({ (0x30 ... 0x39).contains($0) }) else { return nil }
        guard digits.count == 1 || digits[0] != 0x30 else { return nil }
        return UInt64(line)
    }
}
