public import Foundation
public import HanaroCore
import HanaroEvidence
import Crypto
import GRDB

/// A self-contained evidence bundle for one record (`hanaro evidence export`, docs/EVIDENCE.md):
/// the record's current signed versions (personal fields withheld: only their hash travels, in
/// the signature), every version of it in its authors' logs with an inclusion proof, the
/// cosigned checkpoints those proofs lead to, and the agencies' public keys. The whole is a C2SP
/// signed note by the exporting node, so that every byte of it is covered by a signature.
public struct EvidenceBundle: Codable, Sendable, Hashable {
    public static let format = "hanaro-evidence/v1"

    public struct Log: Codable, Sendable, Hashable {
        public var origin: String
        /// The signed note of the checkpoint, with its cosignatures.
        public var checkpoint: String
        public var entries: [Entry]
    }

    public struct Entry: Codable, Sendable, Hashable {
        public var index: Int64
        /// The leaf's data (a signed version envelope), base64.
        public var entry: String
        /// The RFC 6962 inclusion proof at the checkpoint's size, base64 hashes.
        public var proof: [String]
    }

    public var format: String
    public var record: String
    public var exportedBy: String
    public var exportedAt: String
    /// `<agency>+<id>+<key>` or `<agency>+<id>+<key> retired <time>`.
    public var keys: [String]
    /// Federation frames (canonical version, then the author's signature), base64.
    public var versions: [String]
    public var logs: [Log]
}

/// What verifying a bundle found.
public struct EvidenceVerification: Sendable {
    /// Nil when valid; otherwise what failed.
    public var problem: String?
    /// What was checked, one line each.
    public var facts: [String]
    /// Checked under the keys the bundle lists, no pinned ones given, and consistent under them:
    /// not valid all the same (anyone can list keys of their own), and `problem` says how to pin.
    public var unpinned = false
    /// Valid: consistent under the federation's published keys given to the check.
    public var valid: Bool { problem == nil }
}

extension Replica {
    /// Exports the evidence bundle of `recordKey`, signed by this node.
    /// - Throws: ``StoreError`` `.invalidRequest` for an unknown record, or when no
    ///   cosigned checkpoint covers its current version yet (retry after a checkpoint round).
    public func exportEvidence(_ recordKey: RecordKey) async throws(StoreError) -> String {
        guard let auth = authentication, let signer = auth.signer else {
            throw StoreError(.invalidRequest, "this replica has no signing key: it cannot sign an evidence bundle")
        }
        let key = self.key, now = clock.nowMilliseconds()
        let text = recordKey.description
        let bundle: EvidenceBundle = try await read("export the evidence of \(text)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT vector, body, sealed, signature FROM record WHERE key = ?", arguments: [text]) else {
                throw StoreError(.invalidRequest, "no record \(text) in this replica")
            }
            let stored = StoredRow(vector: Array(row[0] as Data), body: Array(row[1] as Data), sealed: row[2], signature: (row[3] as Data?).map(Array.init))
            var signed: [SignedVersion]
            if let signature = stored.signature {
                let version = try stored.decode(recordKey, with: key).version
                signed = [SignedVersion(version, signature: try VersionSignature(canonicalBytes: signature, vector: version.vector))]
            } else {
                signed = try WriteSession.readFrontier(db, of: recordKey, key: key)
            }
            // Personal fields never leave in a bundle, not even sealed: the withheld form verifies
            // (its hash is signed), and the sealed parts are not part of what was signed.
            signed = try signed.map { version in
                let withheld = try RecordVersion(key: recordKey, vector: version.version.vector, body: version.version.bodyBytes,
                                                 personal: WriteSession.shareablePersonal(version.version.personalBytes))
                var signature = version.signature
                signature?.sealed = []
                return SignedVersion(withheld, signature: signature)
            }
            guard !signed.isEmpty else { throw StoreError(.invalidRequest, "\(text) holds no signed version (written before signatures)") }
            let envelopes = signed.map(\.claimedEnvelope)
            var logged: Set<[UInt8]> = []
            var logs: [EvidenceBundle.Log] = []
            let origins = try String.fetchAll(db, sql: "SELECT DISTINCT origin FROM log_leaf WHERE ref = ? ORDER BY origin", arguments: [text])
            for origin in origins {
                guard let agency = TransparencyLog.agency(ofOrigin: origin) else { continue }
                // The newest checkpoint with a witness's cosignature: ours as gathered, or the
                // author's as this node cosigned it.
                // This agency's logs (the current one and any before a restart) hold its own
                // notes, with the cosignatures gathered; another agency's, the notes this node cosigned.
                let mine = agency == signer.agency
                let notes = try Row.fetchAll(db, sql: "SELECT size, note FROM log_note WHERE origin = ? AND role = ? ORDER BY size DESC, id DESC LIMIT 50",
                                             arguments: [origin, mine ? "own" : "witnessed"])
                guard let chosen = notes.first(where: { !mine || !Self.cosigners(of: $0[1], auth: auth, author: agency).isEmpty }) else { continue }
                let size: Int64 = chosen[0]
                let tree = try TransparencyLog.tree(db, origin: origin, size: size)
                // The leaf data: kept in full in this agency's own log; a witness's mirror holds
                // hashes only, so there it is the envelope of a signed version held here whose
                // hash is the leaf (older versions of the record are then not in the bundle).
                let known = Dictionary(envelopes.map { (MerkleHash.leaf($0), $0) }, uniquingKeysWith: { first, _ in first })
                var entries: [EvidenceBundle.Entry] = []
                for leaf in try Row.fetchAll(db, sql: "SELECT idx, entry, hash FROM log_leaf WHERE origin = ? AND ref = ? AND idx < ? ORDER BY idx", arguments: [origin, text, size]) {
                    let index: Int64 = leaf[0]
                    let stored = Array(leaf[1] as Data)
                    guard let entry = stored.isEmpty ? known[Array(leaf[2] as Data)] : stored else { continue }
                    let proof = try tree.inclusionProof(leafIndex: UInt64(index), treeSize: UInt64(size))
                    logged.insert(entry)
                    entries.append(.init(index: index, entry: Data(entry).base64EncodedString(), proof: proof.map { Data($0).base64EncodedString() }))
                }
                if !entries.isEmpty { logs.append(.init(origin: origin, checkpoint: chosen[1], entries: entries)) }
            }
            for (version, envelope) in zip(signed, envelopes) where !logged.contains(envelope) {
                let author = version.signature?.author.agency
                let name = author?.rawValue ?? "?"
                // A node that is not the author and never cosigned the author's log (it hears of
                // the record through a relay) holds no checkpoint that could prove it, and never will.
                if let author, author != signer.agency,
                   (try Int.fetchOne(db, sql: "SELECT count(*) FROM log_note WHERE agency = ? AND role = 'witnessed'", arguments: [author.rawValue]) ?? 0) == 0 {
                    throw StoreError(.invalidRequest, "this node does not witness \(name)'s log (it is not one of \(name)'s peers), so it holds no checkpoint that proves the current version of \(text): export the bundle on \(name)'s node, or on a node that witnesses its log (a peer of \(name)); that bundle verifies anywhere")
                }
                throw StoreError(.invalidRequest, "the current version of \(text) by \(name) is in no cosigned checkpoint of its author's log held here: retry after the next checkpoint round (federation.checkpoint_seconds) — a version written before the logs existed never is")
            }
            return EvidenceBundle(format: EvidenceBundle.format, record: text, exportedBy: signer.agency.rawValue,
                                  exportedAt: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now) / 1000)),
                                  keys: auth.allKeys.map(\.listed), versions: signed.map { Data($0.frame).base64EncodedString() }, logs: logs)
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let json = String(decoding: try encoder.encode(bundle), as: UTF8.self)
            return try signer.signNote(EvidenceBundle.format + "\n" + json + "\n")
        } catch {
            throw StoreError(.invalidRequest, "cannot sign the evidence bundle: \(error)")
        }
    }

    /// Verifies an evidence bundle offline. `pinned`: the federation's public keys
    /// (`agencies/*.yaml`). Only pinned keys can make a bundle valid: without them the bundle is
    /// checked under its own key list, to say what it claims, and is never valid
    /// (``EvidenceVerification/unpinned``) — whoever forges a bundle lists their own keys.
    public static func verifyEvidence(_ bundleText: String, keys pinned: [AgencyVerifierKey]?) -> EvidenceVerification {
        var facts: [String] = []
        func invalid(_ problem: String) -> EvidenceVerification { EvidenceVerification(problem: problem, facts: facts) }
        // The outer note: parse first (its signer is named inside), verify below.
        guard let outer = try? SignedNote(parsing: bundleText), outer.text.hasPrefix(EvidenceBundle.format + "\n") else {
            return invalid("not a Hanaro evidence bundle (a signed note beginning \(EvidenceBundle.format))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let bundle = try? decoder.decode(EvidenceBundle.self, from: Data(outer.text.utf8.dropFirst(EvidenceBundle.format.utf8.count + 1))),
              bundle.format == EvidenceBundle.format else {
            return invalid("the bundle's content is not the \(EvidenceBundle.format) JSON")
        }
        var keys: [AgencyVerifierKey] = []
        if let pinned {
            keys = pinned
            facts.append("keys: the federation's published keys (\(pinned.count))")
        } else {
            for text in bundle.keys {
                guard let key = try? AgencyVerifierKey(listed: text) else {
                    return invalid("the bundle lists a key that does not parse: \(text.prefix(80))")
                }
                keys.append(key)
            }
            facts.append("keys: taken from the bundle itself, which proves nothing (pin the federation's published keys)")
        }
        /// Why `note` does not verify as signed by `agency`: a key the pinned ones lack is named.
        func unknownKey(_ note: String, _ agency: AgencyID) -> String? {
            guard pinned != nil, let parsed = try? SignedNote(parsing: note) else { return nil }
            let known = Set(keys.filter { $0.agency == agency }.map(\.noteVerifier.keyID))
            guard let line = parsed.signatures.first(where: { $0.name == agency.rawValue }), !known.contains(line.keyID) else { return nil }
            return "it is signed by \(agency.rawValue)'s key \(NoteVerifier.text(ofKeyID: line.keyID)), which is not among \(agency.rawValue)'s published keys: agencies/\(agency.rawValue).yaml signing_keys \(known.isEmpty ? "lists none" : "lists only \(known.map { NoteVerifier.text(ofKeyID: $0) }.sorted().joined(separator: ", "))") (a key never published, or a forged bundle)"
        }
        guard let exporter = AgencyID(rawValue: bundle.exportedBy) else { return invalid("exported_by \(bundle.exportedBy.prefix(20)) is no agency") }
        do {
            _ = try SignedNote.open(bundleText, verifiers: keys.filter { $0.agency == exporter }.map(\.noteVerifier))
        } catch {
            if let why = unknownKey(bundleText, exporter) { return invalid("the bundle's own signature does not verify: \(why)") }
            return invalid("the bundle's own signature by \(exporter.rawValue) does not verify (\(error)): it was altered after export")
        }
        facts.append("bundle signed by \(exporter.rawValue) at \(bundle.exportedAt)")
        guard let recordKey = try? RecordKey(parsing: bundle.record) else { return invalid("record \(bundle.record.prefix(80)) is not a record key") }
        var keyBytes = CanonicalWriter()
        keyBytes.write(recordKey)
        let entryPrefix = TransparencyLog.versionPrefix + keyBytes.bytes

        // Each log: a checkpoint signed by its author and cosigned by at least one witness, and
        // every entry included under it.
        var logged: [AgencyID: [[UInt8]: (origin: String, index: Int64, size: UInt64, cosigners: [String])]] = [:]
        for log in bundle.logs {
            guard let author = TransparencyLog.agency(ofOrigin: log.origin) else { return invalid("\(log.origin.prefix(80)) is not a Hanaro log") }
            let opened: OpenedNote
            do {
                opened = try SignedNote.open(log.checkpoint, verifiers: keys.filter { $0.agency == author }.map(\.noteVerifier)
                                             + keys.filter { $0.agency != author }.map(\.cosignatureVerifier))
            } catch {
                if let why = unknownKey(log.checkpoint, author) { return invalid("the checkpoint of \(log.origin) does not verify: \(why)") }
                return invalid("the checkpoint of \(log.origin) does not verify: \(error)")
            }
            let cosigners = opened.verifiers.filter { $0.type == .cosignatureV1 }.map(\.name)
            guard opened.verifiers.contains(where: { $0.type == .ed25519 && $0.name == author.rawValue }) else {
                return invalid("the checkpoint of \(log.origin) is not signed by \(author.rawValue)")
            }
            guard !cosigners.isEmpty else { return invalid("the checkpoint of \(log.origin) is not cosigned by any witness") }
            guard let checkpoint = try? HanaroEvidence.Checkpoint(parsing: opened.text), checkpoint.origin == log.origin else {
                return invalid("the checkpoint of \(log.origin) is not a checkpoint of that log")
            }
            for item in log.entries {
                guard let entry = Data(base64Encoded: item.entry).map(Array.init), item.index >= 0 else { return invalid("an entry of \(log.origin) is not base64") }
                guard entry.starts(with: entryPrefix) else { return invalid("entry \(item.index) of \(log.origin) is not a version of \(bundle.record)") }
                let proof = item.proof.compactMap { Data(base64Encoded: $0).map(Array.init) }
                guard proof.count == item.proof.count,
                      MerkleProof.verifyInclusion(leafHash: MerkleHash.leaf(entry), index: UInt64(item.index), treeSize: checkpoint.size,
                                                  proof: proof, root: checkpoint.rootHash) else {
                    return invalid("entry \(item.index) of \(log.origin) is not included in its checkpoint (\(checkpoint.size) leaves): the proof fails")
                }
                logged[author, default: [:]][entry] = (log.origin, item.index, checkpoint.size, cosigners)
            }
            facts.append("log \(log.origin): checkpoint of \(checkpoint.size) leaves signed by \(author.rawValue), cosigned by \(cosigners.joined(separator: ", ")); \(log.entries.count) version(s) of the record included")
        }

        // Each current version: its author's signature, and its envelope in the author's log.
        guard !bundle.versions.isEmpty else { return invalid("the bundle holds no version") }
        let authentication = VersionAuthentication(signer: nil, keys: keys)
        for (number, frame) in bundle.versions.enumerated() {
            // A bundle exported before migration v7 holds frames of the first signature form.
            guard let bytes = Data(base64Encoded: frame), let signed = try? SignedVersion(acceptingFirstForm: Array(bytes)) else {
                return invalid("version \(number + 1) is not a signed federation frame")
            }
            guard signed.version.key == recordKey else { return invalid("version \(number + 1) is of \(signed.version.key), not \(bundle.record)") }
            do { try authentication.verify(signed) } catch {
                return invalid("version \(number + 1): \(error)")
            }
            let author = signed.signature!.author
            guard let place = logged[author.agency]?[signed.claimedEnvelope] else {
                return invalid("version \(number + 1) (\(author)) is not among the entries of \(author.agency.rawValue)'s log in the bundle")
            }
            facts.append("version \(author) signed by \(author.agency.rawValue), leaf \(place.index) of \(place.origin) (checkpoint of \(place.size) leaves)")
        }
        guard pinned != nil else {
            return EvidenceVerification(problem: Self.unpinnedProblem, facts: facts, unpinned: true)
        }
        return EvidenceVerification(problem: nil, facts: facts)
    }

    /// Why a bundle checked under its own keys is not valid, and how to pin the federation's.
    public static let unpinnedProblem = "it is consistent under the keys it lists, but those keys come from the bundle itself and prove nothing (anyone can make such a bundle with keys of their own); check it under the federation's published keys: --agencies DIR (the federation's agencies/*.yaml) or --config FILE (a node's configuration; its agency files are used)"
}
