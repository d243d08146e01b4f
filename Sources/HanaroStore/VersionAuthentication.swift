import Dispatch
import Foundation
public import HanaroCore
public import HanaroEvidence
import Crypto
import Synchronization

/// An agency's Ed25519 signing key: a C2SP signed-note key (https://c2sp.org/signed-note) named
/// by the agency id, in its text forms — public `<agency>+<key id>+<base64(0x01 ‖ key)>`, private
/// `PRIVATE+KEY+<agency>+<key id>+<base64(0x01 ‖ seed)>` (HanaroEvidence parses and prints them).
/// The same key signs record versions and, later, the agency's log checkpoints.
public struct AgencySigningKey: Sendable {
    public let agency: AgencyID
    let signer: NoteSigner
    /// This agency's earlier keys, kept after a rotation for one use only: opening personal parts
    /// sealed to them before the rotation (a referral relayed or re-read later still carries
    /// them). They sign nothing. (`federation.previous_signing_keys`.)
    public var previous: [AgencySigningKey] = []

    /// A new random key.
    public init(agency: AgencyID) {
        self.agency = agency
        // A fresh 32-byte seed is always a valid Ed25519 key.
        signer = try! NoteSigner.generate(name: agency.rawValue)
    }

    /// A new key for `agency`, written to `path` (owner-only from the first byte, never overwriting).
    /// - Throws: ``SigningKeyError`` naming the file and why.
    public static func create(for agency: AgencyID, at path: String) throws(SigningKeyError) -> AgencySigningKey {
        let key = AgencySigningKey(agency: agency)
        if let reason = SecretFile.create(path, contents: Array((key.text + "\n").utf8)) {
            throw SigningKeyError("cannot create \(path): \(reason)")
        }
        return key
    }

    /// Parses the private form.
    /// - Throws: ``SigningKeyError`` saying what is wrong (never echoing the key).
    public init(text: String) throws(SigningKeyError) {
        let parsed: NoteSigner
        do {
            parsed = try NoteSigner(text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw SigningKeyError("is not a signing key (expected PRIVATE+KEY+<agency>+<id>+<key>; `hanaro keys generate` makes one)")
        }
        guard let agency = AgencyID(rawValue: parsed.name) else { throw SigningKeyError("is a key named \"\(parsed.name)\", which is no known agency") }
        self.agency = agency
        signer = parsed
    }

    /// The private form (for the key file, 0600).
    public var text: String { signer.encodedPrivateKey }

    /// The public half, as peers list it.
    public var verifier: AgencyVerifierKey { AgencyVerifierKey(agency: agency, key: signer.verifier) }

    /// Signs a webhook's content (`{webhook-id}.{timestamp}.{body}`, Standard Webhooks `v1a`). No
    /// such content can be a version envelope, which begins `hanaro/version/v1`: webhook ids begin `msg_`.
    public func signWebhook(_ content: [UInt8]) -> [UInt8] {
        precondition(content.starts(with: Array("msg_".utf8)), "webhook content begins with its msg_ id")
        return (try? signer.signature(forBytes: content)) ?? []
    }

    /// Signs the envelope of `version`, authored by this key's agency (directly: one version).
    public func sign(_ version: RecordVersion) -> VersionSignature { sign([version])[0] }

    /// Signs versions authored together by this key's agency: one alone directly, more in batches
    /// (see ``sign(envelopes:)``). Personal parts are not sealed here (a replica does that).
    public func sign(_ versions: [RecordVersion]) -> [VersionSignature] {
        let unsigned = versions.map(envelope(of:))
        return zip(unsigned, sign(envelopes: unsigned.map(\.envelope))).map { unsigned, signed in
            var signature = unsigned.signature
            signature.signature = signed.signature
            signature.batch = signed.batch
            return signature
        }
    }

    /// The envelope of `version`, authored by this key's agency, and its signature without the
    /// signature bytes (``sign(envelopes:)`` makes those, for one version or a batch).
    func envelope(of version: RecordVersion) -> (signature: VersionSignature, envelope: [UInt8]) {
        let author = version.authorDot(agency)
        let personalHash: [UInt8]? = version.key.kind == .referral ? Array(SHA256.hash(data: version.personalBytes)) : nil
        let envelope = SignedVersion.envelope(key: version.key, vector: version.vector, author: author,
                                              bodyHash: Array(SHA256.hash(data: version.bodyBytes)), personalHash: personalHash)
        return (VersionSignature(author: author, keyID: signer.keyID, personalHash: personalHash, signature: []), envelope)
    }

    /// Most versions signed as one batch by this node: a path of six hashes. A larger batch would
    /// save receivers little more (one Ed25519 check is already shared by 64 versions) and make
    /// every stored signature 32 bytes longer a doubling.
    static let batchSize = 64

    /// Signs envelopes authored together: one alone directly; more as batches of at most
    /// ``batchSize``, one Ed25519 signature over each batch's Merkle tree head (see
    /// ``VersionSignature``), each envelope with its inclusion path.
    func sign(envelopes: [[UInt8]]) -> [(signature: [UInt8], batch: BatchProof?)] {
        if envelopes.count == 1 {
            // Ed25519 signing with a valid key does not fail.
            return [((try? signer.signature(forBytes: envelopes[0])) ?? [], nil)]
        }
        var result: [(signature: [UInt8], batch: BatchProof?)] = []
        result.reserveCapacity(envelopes.count)
        var start = 0
        while start < envelopes.count {
            // The last batch takes the remainder (a lone last envelope joins a batch of two).
            var end = min(envelopes.count, start + Self.batchSize)
            if envelopes.count - end == 1 { end -= 1 }
            let part = envelopes[start..<end]
            var tree = MerkleTree()
            for envelope in part { tree.append(envelope) }
            let size = UInt16(part.count)
            let message = SignedVersion.batchMessage(author: agency, size: size, root: tree.rootHash)
            let signature = (try? signer.signature(forBytes: message)) ?? []
            for index in 0..<part.count {
                // A proof inside the tree just built always exists.
                let path = (try? tree.inclusionProof(leafIndex: UInt64(index), treeSize: UInt64(size))) ?? []
                result.append((signature, BatchProof(size: size, index: UInt16(index), path: path)))
            }
            start = end
        }
        return result
    }

    /// HPKE's parameters for sealed personal parts.
    static var sealingSuite: HPKE.Ciphersuite { .Curve25519_SHA256_ChachaPoly }
    static let sealingInfo = Data("hanaro/personal/v1".utf8)

    /// Seals a referral version's personal register to every current key of its other party
    /// (`keys`), bound to the signed envelope. Empty when there is nothing personal to carry.
    func seal(_ version: RecordVersion, envelope: [UInt8], to keys: [SealingRecipient]) -> [SealedPersonal] {
        let personal = version.personalBytes
        guard !personal.isEmpty, personal != version.shareablePersonalBytes else { return [] }
        return keys.prefix(VersionSignature.maxSealedParts).compactMap { key in
            guard let recipient = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: key.publicKey),
                  var sender = try? HPKE.Sender(recipientKey: recipient, ciphersuite: Self.sealingSuite, info: Self.sealingInfo),
                  let ciphertext = try? sender.seal(personal, authenticating: envelope) else { return nil }
            return SealedPersonal(recipient: key.agency, keyID: key.keyID, encapsulatedKey: Array(sender.encapsulatedKey), ciphertext: Array(ciphertext))
        }
    }

    /// Opens the part of `signature` sealed to this key, if any: the personal register as authored.
    /// A part sealed to one of this agency's earlier keys (``previous``) opens with that key.
    func open(_ signature: VersionSignature, envelope: [UInt8]) -> [UInt8]? {
        for key in [signer] + previous.map(\.signer) {
            guard let part = signature.sealed.first(where: { $0.recipient == agency && $0.keyID == key.keyID }),
                  var recipient = try? HPKE.Recipient(privateKey: key.sealingPrivateKey, ciphersuite: Self.sealingSuite, info: Self.sealingInfo,
                                                      encapsulatedKey: Data(part.encapsulatedKey)),
                  let plain = try? recipient.open(part.ciphertext, authenticating: envelope) else { continue }
            return Array(plain)
        }
        return nil
    }

    /// Signs a checkpoint of this agency's log (a C2SP signed note).
    func signNote(_ text: String) throws -> String { try signer.sign(text) }

    /// Cosigns another agency's checkpoint as its witness: the signature line to add to its note.
    func cosign(_ checkpoint: HanaroEvidence.Checkpoint, at seconds: UInt64) throws -> NoteSignature {
        try signer.cosigner.cosignature(for: checkpoint, timestamp: seconds)
    }
}

/// A public signing key of an agency, as `agencies/<id>.yaml` lists it (`signing_keys`), with the
/// moment it was retired, if it was: versions stamped after that are refused under it (a key
/// retired because it leaked cannot sign new history), versions made before stay verifiable.
public struct AgencyVerifierKey: Sendable, Hashable {
    public let agency: AgencyID
    let key: NoteVerifier
    /// Milliseconds since 1970; nil while the key is current.
    public var retiredAtMilliseconds: UInt64?

    init(agency: AgencyID, key: NoteVerifier, retiredAtMilliseconds: UInt64? = nil) {
        self.agency = agency
        self.key = key
        self.retiredAtMilliseconds = retiredAtMilliseconds
    }

    /// Parses the public form.
    /// - Throws: ``SigningKeyError``.
    public init(text: String, retiredAtMilliseconds: UInt64? = nil) throws(SigningKeyError) {
        let parsed: NoteVerifier
        do {
            parsed = try NoteVerifier(text.trimmingCharacters(in: .whitespaces))
        } catch {
            throw SigningKeyError("\"\(text.prefix(80))\" is not a public signing key (expected <agency>+<id>+<key>: \(error.message))")
        }
        guard parsed.type == .ed25519, let agency = AgencyID(rawValue: parsed.name) else {
            throw SigningKeyError("\"\(text.prefix(80))\" is not an Ed25519 key named by an agency id")
        }
        self.init(agency: agency, key: parsed, retiredAtMilliseconds: retiredAtMilliseconds)
    }

    /// Parses a key as the agency files and evidence bundles list it: `<agency>+<id>+<key>`, or
    /// `<agency>+<id>+<key> retired <ISO 8601 time>`.
    /// - Throws: ``SigningKeyError`` saying which part is wrong.
    public init(listed text: String) throws(SigningKeyError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        var retired: UInt64? = nil
        if parts.count == 3, parts[1] == "retired" {
            guard let date = ISO8601DateFormatter().date(from: String(parts[2])) else {
                throw SigningKeyError("\"\(parts[2].prefix(40))\" is not an ISO 8601 time such as 2026-06-01T00:00:00Z")
            }
            retired = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        } else if parts.count != 1 {
            throw SigningKeyError("expected \"<agency>+<id>+<key>\" or \"<agency>+<id>+<key> retired <time>\"")
        }
        try self.init(text: String(parts[0]), retiredAtMilliseconds: retired)
    }

    /// The listed form (see ``init(listed:)``).
    public var listed: String {
        text + (retiredAtMilliseconds.map { " retired " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "")
    }

    /// Which key (signed-note key id).
    public var keyID: UInt32 { key.keyID }

    /// The public form.
    public var text: String { key.encoded }

    /// The key as a signed-note verifier (checkpoints) and as a witness's cosignature verifier.
    public var noteVerifier: NoteVerifier { key }
    public var cosignatureVerifier: NoteVerifier { key.cosignatureVerifier }

    /// Whether `signature` is this key's Ed25519 signature of `envelope`.
    public func isValidSignature(_ signature: [UInt8], for envelope: [UInt8]) -> Bool {
        key.isValidSignature(signature, forBytes: envelope)
    }
}

/// A signing key that cannot be used, and why (the message never contains key material).
public struct SigningKeyError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// How a replica signs what its agency authors and checks what it receives: its own signing key
/// and every agency's public keys, old ones included (rotation keeps history verifiable).
public struct VersionAuthentication: Sendable {
    /// This node's key (nil: a verifying-only replica, as `hanaro evidence verify` uses).
    public var signer: AgencySigningKey?
    var keys: [AgencyID: [UInt32: AgencyVerifierKey]] = [:]

    public init(signer: AgencySigningKey?, keys: [AgencyVerifierKey]) {
        self.signer = signer
        for key in keys { self.keys[key.agency, default: [:]][key.keyID] = key }
    }

    /// The keys personal parts are sealed to for `agency`: its current (not retired) keys, in their
    /// X25519 form (converted once: the conversion costs ~0.5 ms).
    func sealingRecipients(of agency: AgencyID) -> [SealingRecipient] {
        keys(of: agency).filter { $0.retiredAtMilliseconds == nil }.sorted { $0.keyID < $1.keyID }.compactMap { key in
            key.noteVerifier.sealingPublicKey.map { SealingRecipient(agency: agency, keyID: key.keyID, publicKey: Array($0.rawRepresentation)) }
        }
    }

    /// Whether ``openingSealedPersonal(_:)`` may change `signed`: it carries a part sealed, and
    /// this node has a key (a quick test that spares a copy of every other version).
    func mayOpenSealedPersonal(_ signed: SignedVersion) -> Bool {
        signer != nil && signed.signature?.sealed.isEmpty == false
    }

    /// When `signed` carries its personal part withheld and a part sealed to this node's key,
    /// the version with the part opened — provided it hashes to what the author signed; otherwise
    /// `signed` unchanged (a part that does not open is ignored: the version still verifies
    /// withheld, as a relay's copy does).
    public func openingSealedPersonal(_ signed: SignedVersion) -> SignedVersion {
        openingSealedPersonalReporting(signed).version
    }

    /// ``openingSealedPersonal(_:)``, also saying whether the part opened with this node's key
    /// but does not hash to what the author signed: it was not sealed by the author (a relay
    /// swapped it), since the author's signature covers the hash of the part it sealed.
    func openingSealedPersonalReporting(_ signed: SignedVersion) -> (version: SignedVersion, forged: Bool) {
        guard let signer, let signature = signed.signature, !signature.sealed.isEmpty, let claimed = signature.personalHash else { return (signed, false) }
        let version = signed.version
        guard Array(SHA256.hash(data: version.personalBytes)) != claimed else { return (signed, false) }
        guard let personal = signer.open(signature, envelope: signed.claimedEnvelope) else { return (signed, false) }
        guard Array(SHA256.hash(data: personal)) == claimed,
              let whole = try? RecordVersion(key: version.key, vector: version.vector, body: version.bodyBytes, personal: personal) else { return (signed, true) }
        return (SignedVersion(whole, signature: signature), false)
    }

    /// Every listed key, by agency then key id.
    public var allKeys: [AgencyVerifierKey] {
        keys.keys.sorted { $0.rawValue < $1.rawValue }.flatMap { agency in keys[agency]!.keys.sorted().map { keys[agency]![$0]! } }
    }

    /// The keys of `agency` (current and retired).
    public func keys(of agency: AgencyID) -> [AgencyVerifierKey] { keys[agency].map { Array($0.values) } ?? [] }

    /// Checks that `signed` carries a valid signature of an agency entitled to author it: the
    /// program's owner, or the referral's origin or target; the signature's dot is the vector's
    /// entry for that agency; the key is listed for that agency and was not retired before the
    /// version was stamped; the body and (when present) the personal part hash to what was signed.
    /// A personal part withheld from this node (every value replaced by what withholding leaves)
    /// is accepted: its hash travels in the signature.
    /// - Throws: ``ValidationError`` `.signatureMissing`, `.signatureInvalid`, `.signingKeyUnknown`
    ///   or `.unauthorizedAuthor`.
    public func verify(_ signed: SignedVersion) throws(ValidationError) {
        var batches = VerifiedBatches()
        try verify(signed, batches: &batches)
    }

    /// ``verify(_:)``, sharing the Ed25519 check of a batch's head among its versions: a head
    /// and signature that verified once (recorded in `batches`) are not checked again; each
    /// version's leaf and path still are.
    public func verify(_ signed: SignedVersion, batches: inout VerifiedBatches) throws(ValidationError) {
        try verify(signed, envelope: nil, headVerified: false, batches: &batches)
    }

    /// ``verify(_:batches:)`` with what a page's receiver already computed: the version's
    /// envelope (``SignedVersion/claimedEnvelope``, nil: rebuilt here), and whether its batch's
    /// head was verified with this key when its paths were rebuilt from the page
    /// (``BatchPaths/rebuild(count:signature:envelope:verifyingWith:)``); every other check is still made.
    func verify(_ signed: SignedVersion, envelope claimed: [UInt8]?, headVerified: Bool, batches: inout VerifiedBatches) throws(ValidationError) {
        let version = signed.version, record = version.key.description
        guard let signature = signed.signature else {
            throw ValidationError(.signatureMissing, record: record, "a version must carry its author's signature; the sender runs an old or a broken node")
        }
        let author = signature.author.agency
        let entitled: Bool = switch version.body {
        case .program: author == version.key.owner
        case .referral(let referral): author == referral.origin || author == referral.target
        }
        guard entitled else {
            throw ValidationError(.unauthorizedAuthor, record: record, field: "signature.author", "signed by \(author.rawValue), which may not author this record")
        }
        guard signature.author.counter > 0, version.vector[author] == signature.author.counter else {
            throw ValidationError(.signatureInvalid, record: record, field: "signature.author", "the signed dot \(signature.author) is not the version's entry for \(author.rawValue)")
        }
        guard let key = keys[author]?[signature.keyID] else {
            throw ValidationError(.signingKeyUnknown, record: record, field: "signature.keyID",
                                  "signed by key \(NoteVerifier.text(ofKeyID: signature.keyID)) of \(author.rawValue), which agencies/\(author.rawValue).yaml does not list (signing_keys)")
        }
        if let retired = key.retiredAtMilliseconds, signature.author.timestamp.millisecondsSince1970 > retired {
            throw ValidationError(.signatureInvalid, record: record, field: "signature.keyID",
                                  "signed by key \(NoteVerifier.text(ofKeyID: signature.keyID)) of \(author.rawValue) for a write stamped after the key was retired")
        }
        var personalHash: [UInt8]? = nil
        if version.key.kind == .referral {
            guard let claimed = signature.personalHash else {
                throw ValidationError(.signatureInvalid, record: record, field: "signature.personalHash", "a referral's signature covers its personal part")
            }
            let personal = version.personalBytes
            if Array(SHA256.hash(data: personal)) != claimed, personal != version.shareablePersonalBytes {
                throw ValidationError(.signatureInvalid, record: record, field: "personal", "the personal part is not what its author signed")
            }
            personalHash = claimed
        } else if signature.personalHash != nil {
            throw ValidationError(.signatureInvalid, record: record, field: "signature.personalHash", "a program has no personal part")
        }
        // The tree this version's leaf was rebuilt into carries its author's verified signature.
        if headVerified, signature.batch != nil { return }
        let envelope = claimed ?? SignedVersion.envelope(key: version.key, vector: version.vector, author: signature.author,
                                                         bodyHash: Array(SHA256.hash(data: version.bodyBytes)), personalHash: personalHash)
        let forged = ValidationError(.signatureInvalid, record: record, "the signature of \(author.rawValue) does not verify: the version was altered after signing, or forged")
        guard let batch = signature.batch else {
            guard key.isValidSignature(signature.signature, for: envelope) else { throw forged }
            return
        }
        if batch.isPathElided {
            throw ValidationError(.signatureInvalid, record: record, field: "signature.batch",
                                  "the version's inclusion path was left out, but the page did not carry its whole batch: the sender runs a broken node")
        }
        guard let root = MerkleProof.rootFromInclusion(leafHash: MerkleHash.leaf(envelope), index: UInt64(batch.index), treeSize: UInt64(batch.size), proof: batch.path) else {
            throw forged
        }
        let message = SignedVersion.batchMessage(author: author, size: batch.size, root: root)
        if batches.contains(message: message, signature: signature.signature, keyID: signature.keyID) { return }
        guard key.isValidSignature(signature.signature, for: message) else { throw forged }
        batches.insert(message: message, signature: signature.signature, keyID: signature.keyID)
    }
}

/// Rebuilds the inclusion paths a page left out (``BatchProof/isPathElided``): a page that carries
/// every version of a batch sends them without paths, and the receiver hashes their envelopes
/// into the batch's tree itself. Only a whole batch, each index once, is rebuilt; any other
/// member keeps its empty path and fails verification, as a forged one would.
public enum BatchPaths {
    struct Batch: Hashable {
        var agency: AgencyID
        var keyID: UInt32
        var size: UInt16
        var signature: [UInt8]
    }

    /// Gives each member of a whole batch in `versions` its path.
    /// - Returns: the positions whose signature changed.
    @discardableResult
    public static func restore(_ versions: inout [SignedVersion?]) -> [Int] {
        let snapshot = versions
        let envelopes = snapshot.map { $0?.signature?.batch?.isPathElided == true ? $0!.claimedEnvelope : nil }
        let rebuilt = rebuild(count: snapshot.count, signature: { snapshot[$0]?.signature }, envelope: { envelopes[$0] }, verifyingWith: nil)
        for (position, path) in rebuilt.paths { versions[position]!.signature!.batch!.path = path }
        return Array(rebuilt.paths.keys)
    }

    /// The paths of the members of whole batches among `count` versions (`signature` and
    /// `envelope` read the one at a position; `envelope` is given for every member whose path
    /// was left out) and, with `authentication`, each rebuilt head's signature checked once:
    /// `verified` lists the members of the batches whose head verified with their author's
    /// listed key.
    static func rebuild(count: Int, signature: @Sendable (Int) -> VersionSignature?, envelope: @Sendable (Int) -> [UInt8]?,
                        verifyingWith authentication: VersionAuthentication?) -> (paths: [Int: [[UInt8]]], verified: Set<Int>) {
        var batches: [Batch: [Int]] = [:]
        for position in 0..<count {
            guard let signature = signature(position), let batch = signature.batch, batch.isPathElided else { continue }
            batches[Batch(agency: signature.author.agency, keyID: signature.keyID, size: batch.size, signature: signature.signature), default: []].append(position)
        }
        let whole = batches.filter { $0.value.count == Int($0.key.size) }.map { ($0.key, $0.value) }
        guard !whole.isEmpty else { return ([:], []) }
        // Each batch hashes its envelopes apart from the others: spread over the cores.
        let found = Mutex((paths: [Int: [[UInt8]]](), verified: Set<Int>()))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        DispatchQueue.concurrentPerform(iterations: min(whole.count, cores)) { part in
            var paths: [Int: [[UInt8]]] = [:], verified = Set<Int>()
            for (batch, members) in stride(from: part, to: whole.count, by: cores).map({ whole[$0] }) {
                var leaves = [[UInt8]?](repeating: nil, count: members.count)
                var indexes: [UInt64] = []
                for position in members {
                    guard let index = signature(position)?.batch?.index, leaves[Int(index)] == nil, let envelope = envelope(position) else { leaves = []; break }
                    leaves[Int(index)] = MerkleHash.leaf(envelope)
                    indexes.append(UInt64(index))
                }
                guard !leaves.isEmpty else { continue }
                var tree = MerkleTree()
                for leaf in leaves { _ = try? tree.append(leafHash: leaf!) }
                for (position, index) in zip(members, indexes) {
                    paths[position] = (try? tree.inclusionProof(leafIndex: index, treeSize: tree.size)) ?? []
                }
                if let key = authentication?.keys[batch.agency]?[batch.keyID],
                   key.isValidSignature(batch.signature, for: SignedVersion.batchMessage(author: batch.agency, size: batch.size, root: tree.rootHash)) {
                    verified.formUnion(members)
                }
            }
            found.withLock { $0.paths.merge(paths) { first, _ in first }; $0.verified.formUnion(verified) }
        }
        return found.withLock { $0 }
    }
}

/// Fills an array on the cores, each thread writing its own range of it in place (no lock, no
/// copy of the elements): the decoding and checking of a page.
enum ParallelFill {
    /// Where the threads write: disjoint positions of one buffer (hence unchecked Sendable).
    struct Slots<T>: @unchecked Sendable {
        let base: UnsafeMutablePointer<T>
    }

    /// An array of `count` elements, `body` putting each one of its range exactly once.
    ///
    /// Without `grain`, the range is cut into one part per core (a part's verifier checks each
    /// batch head it meets once). With `grain`, into parts of about that many elements (at most
    /// 64), which the threads take in turn: a caller that waits for the whole array (the writer)
    /// is then not held by one part whose thread the scheduler gave to other work — it takes the
    /// remaining parts itself.
    static func fill<T: Sendable>(_ count: Int, grain: Int? = nil, _ body: @Sendable (Range<Int>, _ put: (Int, T) -> Void) -> Void) -> [T] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0, let base = buffer.baseAddress else { initialized = 0; return }
            let slots = Slots(base: base)
            let chunks = if let grain { count >= 2 * grain ? min(64, count / grain) : 1 }
                         else { count >= 64 ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1 }
            let size = (count + chunks - 1) / chunks
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = min(count, chunk * size) ..< min(count, (chunk + 1) * size)
                guard !range.isEmpty else { return }
                var filled = 0
                body(range) { index, value in
                    precondition(range.contains(index), "a part puts only its own range")
                    (slots.base + index).initialize(to: value)
                    filled += 1
                }
                // Every slot is initialized before the array claims it (counted, not assumed).
                precondition(filled == range.count, "a part puts each of its positions exactly once")
            }
            initialized = count
        }
    }
}

/// The batch heads whose signatures one verifier has checked (see
/// ``VersionAuthentication/verify(_:batches:)``): head, key and signature bytes together, so a
/// version that carries a head already seen with other signature bytes is checked again.
/// Bounded: past ``capacity`` entries it starts over.
public struct VerifiedBatches: Sendable {
    private var seen: Set<[UInt8]> = []
    static let capacity = 4_096

    public init() {}

    func contains(message: [UInt8], signature: [UInt8], keyID: UInt32) -> Bool {
        !seen.isEmpty && seen.contains(Self.entry(message, signature, keyID))
    }

    mutating func insert(message: [UInt8], signature: [UInt8], keyID: UInt32) {
        if seen.count >= Self.capacity { seen.removeAll(keepingCapacity: true) }
        seen.insert(Self.entry(message, signature, keyID))
    }

    private static func entry(_ message: [UInt8], _ signature: [UInt8], _ keyID: UInt32) -> [UInt8] {
        message + signature + withUnsafeBytes(of: keyID.bigEndian, Array.init)
    }
}

/// One key a referral's personal part is sealed to.
struct SealingRecipient: Sendable {
    var agency: AgencyID
    var keyID: UInt32
    /// The X25519 public key (raw; the key type is not Sendable).
    var publicKey: [UInt8]
}

extension SignedVersion {
    /// The envelope its signature claims to sign, rebuilt from its bytes (the author's dot and
    /// personal hash as the signature states them).
    var claimedEnvelope: [UInt8] {
        SignedVersion.envelope(key: version.key, vector: version.vector, author: signature?.author ?? Dot(version.key.owner, 0),
                               bodyHash: Array(SHA256.hash(data: version.bodyBytes)), personalHash: signature?.personalHash)
    }
}
