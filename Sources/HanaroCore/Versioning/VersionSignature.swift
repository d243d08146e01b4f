/// The author's signature on one version, as it travels after the version in a federation frame.
///
/// The signed bytes are ``SignedVersion/envelope(bodyHash:)``: the record key, the version vector,
/// the author's dot, the SHA-256 of the body and the SHA-256 of the personal part as the author held
/// it. Hashing the two parts apart keeps the evidence verifiable when a sender withholds the
/// personal part from an agency not entitled to it: the hash travels in the signature.
/// HanaroCore does no cryptography; HanaroStore signs and verifies (`VersionAuthentication`).
///
/// Two forms of signature exist. A version authored alone is signed directly: Ed25519 over its
/// envelope. Versions authored together (an adapter's page, a bulk load) are signed as a batch
/// (``BatchProof``): their envelopes are the leaves of an RFC 6962 Merkle tree, the author signs
/// the tree's head once (``SignedVersion/batchMessage(author:size:root:)``), and each version
/// carries that signature with its leaf's index and inclusion path. A receiver checks one
/// Ed25519 signature per batch, not per version, and each version stays verifiable on its own
/// (an evidence bundle, a relay's copy). This is the construction of the IETF draft "Batch
/// Signing for TLS" (draft-ietf-tls-batch-signing), on the hashes of RFC 6962.
///
/// Canonical form, in order: the author's agency (one byte; the dot's counter is the version
/// vector's entry for that agency, so it is not repeated; the high bit set for the batch form),
/// key id (four bytes, big-endian), personal hash (presence byte, then 32 bytes), for the batch
/// form only the batch's size and the leaf's index (two bytes each, big-endian) and the inclusion
/// path (as many 32-byte hashes as RFC 6962 gives for that index and size: the count is not
/// written), signature (64 bytes), then — only when there are any — the personal part sealed to
/// the referral's other party (count, then each: recipient agency, its key id, HPKE encapsulated
/// key, ciphertext). Fixed-size fields carry no length: 70 bytes for a program's direct
/// signature, 74 + 32 per level of the tree for a batch's. Decoding needs the version's vector
/// (``init(from:vector:)``), which comes first in every frame and every stored row.
public struct VersionSignature: Hashable, Sendable {
    /// The write the version records: its agency signed it, and its counter is the vector's entry
    /// for that agency.
    public var author: Dot
    /// Which of the author's keys (the first four bytes of its signed-note key hash).
    public var keyID: UInt32
    /// SHA-256 of the personal register's canonical bytes as authored (referrals only).
    public var personalHash: [UInt8]?
    /// Ed25519 (64 bytes) over the envelope, or over the batch's head when ``batch`` is set.
    public var signature: [UInt8]
    /// Where the envelope sits in the batch whose head was signed (nil: signed directly).
    public var batch: BatchProof?
    /// The personal register as authored, sealed (HPKE) to the referral's other party, so that it
    /// reaches that party through any relay; not signed itself: once opened it must hash to
    /// ``personalHash``, and the envelope is its associated data.
    public var sealed: [SealedPersonal]

    /// Most sealed parts a signature carries (one per current key of the other party).
    public static let maxSealedParts = 4

    public init(author: Dot, keyID: UInt32, personalHash: [UInt8]?, signature: [UInt8], batch: BatchProof? = nil, sealed: [SealedPersonal] = []) {
        self.author = author
        self.keyID = keyID
        self.personalHash = personalHash
        self.signature = signature
        self.batch = batch
        self.sealed = sealed
    }

    /// The agency byte's flag for the batch form (agency indexes are below 8).
    static let batchFlag: UInt8 = 0x80
    /// With ``batchFlag``: the inclusion path is left out, because the page that carries the frame
    /// carries every member of the batch and the receiver rebuilds the tree (see
    /// ``BatchProof/isPathElided``). Never stored, never in an evidence bundle.
    static let pathElidedFlag: UInt8 = 0x40

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(UInt8(author.agency.index) | (batch == nil ? 0 : Self.batchFlag) | (batch?.isPathElided == true ? Self.pathElidedFlag : 0))
        writer.writeBigEndian(keyID)
        writer.writeOptional(personalHash) { $0.bytes.append(contentsOf: $1) }
        if let batch {
            writer.bytes.append(UInt8(batch.size >> 8))
            writer.bytes.append(UInt8(batch.size & 0xff))
            writer.bytes.append(UInt8(batch.index >> 8))
            writer.bytes.append(UInt8(batch.index & 0xff))
            for hash in batch.path { writer.bytes.append(contentsOf: hash) }
        }
        writer.bytes.append(contentsOf: signature)
        if !sealed.isEmpty {
            writer.write(UInt64(sealed.count))
            for part in sealed {
                writer.write(UInt8(part.recipient.index))
                writer.writeBigEndian(part.keyID)
                writer.bytes.append(contentsOf: part.encapsulatedKey)
                writer.write(bytes: part.ciphertext)
            }
        }
    }

    /// The canonical bytes (as stored, and as they travel after the version).
    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 80)
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a whole buffer, refusing trailing bytes.
    /// - Parameter vector: the signed version's vector (the author's counter is its entry).
    /// - Throws: `.malformed`.
    public init(canonicalBytes bytes: some Collection<UInt8>, vector: VersionVector) throws(ValidationError) {
        var reader = CanonicalReader(Array(bytes))
        try self.init(from: &reader, vector: vector)
        try reader.expectEnd()
    }

    /// Reads a signature written by ``encode(to:)`` after the version whose vector is `vector`.
    /// An author with no entry in the vector decodes with counter 0, which no write has: the
    /// verifier refuses it (an agency not entitled to the record as `unauthorized_author`, any
    /// other as `signature_invalid`), so the reason names the forgery, not the bytes.
    /// - Throws: `.malformed`.
    public init(from reader: inout CanonicalReader, vector: VersionVector) throws(ValidationError) {
        let first = try reader.readByte()
        let flags = first & (Self.batchFlag | Self.pathElidedFlag)
        guard let agency = AgencyID(index: Int(first & ~flags)) else {
            throw ValidationError(.unknownAgency, "agency index \(first & ~flags) is outside the governed set")
        }
        guard flags != Self.pathElidedFlag else { throw ValidationError(.malformed, field: "signature", "a path can be left out of a batch's signature only") }
        author = Dot(agency, vector[agency])
        keyID = try reader.readUInt32BigEndian()
        personalHash = try reader.readOptional { reader throws(ValidationError) in try reader.readFixedBytes(32) }
        if first & Self.batchFlag != 0 {
            let head = try reader.readFixedBytes(4)
            let size = UInt16(head[0]) << 8 | UInt16(head[1]), index = UInt16(head[2]) << 8 | UInt16(head[3])
            guard (2...BatchProof.maxSize).contains(size), index < size else {
                throw ValidationError(.malformed, field: "signature.batch", "a batch has 2 to \(BatchProof.maxSize) versions and the leaf's index is below its size (read \(index) of \(size))")
            }
            var path: [[UInt8]] = []
            if flags & Self.pathElidedFlag == 0 {
                for _ in 0..<BatchProof.pathLength(index: Int(index), size: Int(size)) { path.append(try reader.readFixedBytes(32)) }
            }
            batch = BatchProof(size: size, index: index, path: path)
        } else {
            batch = nil
        }
        signature = try reader.readFixedBytes(64)
        sealed = []
        if !reader.isAtEnd {
            let count = try reader.readUInt64()
            guard count >= 1, count <= UInt64(Self.maxSealedParts), personalHash != nil else {
                throw ValidationError(.malformed, field: "signature.sealed", "1 to \(Self.maxSealedParts) sealed personal parts, on a referral's signature only")
            }
            for _ in 0..<count {
                let recipient = try reader.readAgency()
                let id = try reader.readUInt32BigEndian()
                let encapsulated = try reader.readFixedBytes(32)
                let ciphertext = try reader.readBytes()
                guard (16...8_192).contains(ciphertext.count) else {
                    throw ValidationError(.malformed, field: "signature.sealed", "a sealed part's ciphertext has 16 bytes to 8 KiB")
                }
                sealed.append(SealedPersonal(recipient: recipient, keyID: id, encapsulatedKey: encapsulated, ciphertext: ciphertext))
            }
        }
    }

    /// For the feed: when `bytes` (a stored signature's canonical form) is of the batch form with
    /// its path, which batch it belongs to — the key id, size and signature bytes — its index,
    /// and the same signature with the path left out. Nil for any other form.
    public static func batchMembership(canonicalBytes bytes: [UInt8]) -> (batch: [UInt8], size: UInt16, index: UInt16, elided: [UInt8])? {
        guard let first = bytes.first, first & (batchFlag | pathElidedFlag) == batchFlag, bytes.count > 6 else { return nil }
        let afterHash = bytes[5] == 0 ? 6 : 6 + 32
        guard bytes.count >= afterHash + 4 else { return nil }
        let size = UInt16(bytes[afterHash]) << 8 | UInt16(bytes[afterHash + 1]), index = UInt16(bytes[afterHash + 2]) << 8 | UInt16(bytes[afterHash + 3])
        guard (2...BatchProof.maxSize).contains(size), index < size else { return nil }
        let pathStart = afterHash + 4, pathEnd = pathStart + 32 * BatchProof.pathLength(index: Int(index), size: Int(size))
        guard bytes.count >= pathEnd + 64 else { return nil }
        let batch = Array(bytes[0..<5]) + [UInt8(size >> 8), UInt8(size & 0xff)] + Array(bytes[pathEnd..<(pathEnd + 64)])
        var elided = bytes
        elided[0] |= pathElidedFlag
        elided.removeSubrange(pathStart..<pathEnd)
        return (batch, size, index, elided)
    }

    /// Reads a signature in its first form (before replica migration v7, 2026-12-02): the whole
    /// author dot, varint key ids, length-prefixed fixed-size fields. The dot is kept as written:
    /// the verifier still requires it to be the vector's entry.
    /// - Throws: `.malformed`.
    public init(firstFormFrom reader: inout CanonicalReader) throws(ValidationError) {
        let refused = ValidationError(.malformed, field: "signature", "not a signature of the first form either")
        author = try reader.readDot()
        let id = try reader.readUInt64()
        personalHash = try reader.readOptional { reader throws(ValidationError) in try reader.readBytes() }
        signature = try reader.readBytes()
        guard id <= UInt64(UInt32.max), signature.count == 64, personalHash?.count ?? 32 == 32 else { throw refused }
        keyID = UInt32(id)
        batch = nil
        sealed = []
        if !reader.isAtEnd {
            let count = try reader.readUInt64()
            guard (1...UInt64(Self.maxSealedParts)).contains(count), personalHash != nil else { throw refused }
            for _ in 0..<count {
                let recipient = try reader.readAgency(), id = try reader.readUInt64()
                let encapsulated = try reader.readBytes(), ciphertext = try reader.readBytes()
                guard id <= UInt64(UInt32.max), encapsulated.count == 32, (16...8_192).contains(ciphertext.count) else { throw refused }
                sealed.append(SealedPersonal(recipient: recipient, keyID: UInt32(id), encapsulatedKey: encapsulated, ciphertext: ciphertext))
            }
        }
    }
}

/// Where a version's envelope sits in a batch signed as one (see ``VersionSignature``): the
/// batch's size, the leaf's index, and the RFC 6962 inclusion path from the leaf to the head.
public struct BatchProof: Hashable, Sendable {
    /// Versions in the batch (2 to ``maxSize``).
    public var size: UInt16
    /// This version's leaf, counted from 0 in the order they were authored.
    public var index: UInt16
    /// The inclusion path (RFC 6962 §2.1.1), leaf side first: ``pathLength(index:size:)`` hashes.
    public var path: [[UInt8]]

    /// The largest batch a receiver accepts (a path of at most 10 hashes). Authors batch fewer.
    public static let maxSize: UInt16 = 1_024

    public init(size: UInt16, index: UInt16, path: [[UInt8]]) {
        self.size = size
        self.index = index
        self.path = path
    }

    /// Whether the path was left out on the wire (a batch has two versions at least, so a path
    /// has one hash at least): the page carried the whole batch, and its receiver rebuilds the
    /// path from the other members' envelopes before verifying (`Replica.apply(encoded:)`).
    public var isPathElided: Bool { path.isEmpty }

    /// How many hashes the RFC 6962 inclusion path of leaf `index` in a tree of `size` has.
    public static func pathLength(index: Int, size: Int) -> Int {
        var index = index, size = size, length = 0
        while size > 1 {
            let split = 1 << (Int.bitWidth - 1 - (size - 1).leadingZeroBitCount)
            if index < split { size = split } else { index -= split; size -= split }
            length += 1
        }
        return length
    }
}

/// A referral's personal register sealed to one key of one agency (HPKE base mode,
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305; info `hanaro/personal/v1`;
/// associated data: the version's signed envelope).
public struct SealedPersonal: Hashable, Sendable {
    public var recipient: AgencyID
    /// Which of the recipient's keys (its signed-note key id).
    public var keyID: UInt32
    public var encapsulatedKey: [UInt8]
    public var ciphertext: [UInt8]

    public init(recipient: AgencyID, keyID: UInt32, encapsulatedKey: [UInt8], ciphertext: [UInt8]) {
        self.recipient = recipient
        self.keyID = keyID
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }
}

/// One federation frame: a version and, after it, its author's signature.
public struct SignedVersion: Sendable, Hashable {
    public var version: RecordVersion
    /// Nil for a frame without a signature (refused by a node that verifies).
    public var signature: VersionSignature?

    public init(_ version: RecordVersion, signature: VersionSignature?) {
        self.version = version
        self.signature = signature
    }

    /// Reads a frame: a canonical version, optionally followed by its signature; nothing else.
    /// - Throws: `.malformed`.
    public init(frame: some Collection<UInt8>) throws(ValidationError) {
        var reader = CanonicalReader(Array(frame))
        version = try RecordVersion(from: &reader)
        signature = reader.isAtEnd ? nil : try VersionSignature(from: &reader, vector: version.vector)
        try reader.expectEnd()
    }

    /// Reads a frame whose signature may also be in its first form (see
    /// ``VersionSignature/init(firstFormFrom:)``): from a peer not yet upgraded, a frame
    /// quarantined before the upgrade, a version in an evidence bundle exported before it.
    /// - Throws: the current form's error when the frame is in neither form.
    public init(acceptingFirstForm frame: [UInt8]) throws(ValidationError) {
        do {
            try self.init(frame: frame)
        } catch {
            var reader = CanonicalReader(frame)
            guard let version = try? RecordVersion(from: &reader), !reader.isAtEnd,
                  let signature = try? VersionSignature(firstFormFrom: &reader), reader.isAtEnd else { throw error }
            self.init(version, signature: signature)
        }
    }

    /// The frame's bytes.
    public var frame: [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 768)
        version.encode(to: &writer)
        if let signature { signature.encode(to: &writer) }
        return writer.bytes
    }

    /// The bytes an author signs for a batch: a domain-separation line (no envelope, checkpoint,
    /// cosignature or webhook begins so), the author, the batch's size and its Merkle tree head.
    public static func batchMessage(author: AgencyID, size: UInt16, root: [UInt8]) -> [UInt8] {
        var bytes = Array("hanaro/batch/v1\n".utf8)
        bytes.append(UInt8(author.index))
        bytes.append(UInt8(size >> 8))
        bytes.append(UInt8(size & 0xff))
        bytes.append(contentsOf: root)
        return bytes
    }

    /// The bytes the author signs: a domain-separation line, then the key, the vector, the author
    /// dot, the body's hash and the personal part's hash (32 zero bytes for a program).
    public static func envelope(key: RecordKey, vector: VersionVector, author: Dot, bodyHash: [UInt8], personalHash: [UInt8]?) -> [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 160)
        writer.bytes.append(contentsOf: Array("hanaro/version/v1\n".utf8))
        writer.write(key)
        writer.write(vector)
        writer.write(author)
        writer.bytes.append(contentsOf: bodyHash)
        writer.bytes.append(contentsOf: personalHash ?? [UInt8](repeating: 0, count: 32))
        return writer.bytes
    }
}

extension RecordVersion {
    /// The body as it is hashed for a signature and stored: the canonical encoding without the
    /// personal register.
    public var bodyBytes: [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 512)
        encodeBody(to: &writer)
        return writer.bytes
    }

    /// The personal register's canonical bytes (empty for a program).
    public var personalBytes: [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 64)
        encodePersonal(to: &writer)
        return writer.bytes
    }

    /// The shareable form of the personal register (values replaced by what withholding leaves).
    public var shareablePersonalBytes: [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 64)
        encodeShareablePersonal(to: &writer)
        return writer.bytes
    }

    /// The dot of the write that made this version, as claimed by `agency`: its vector entry.
    public func authorDot(_ agency: AgencyID) -> Dot { Dot(agency, vector[agency]) }
}
