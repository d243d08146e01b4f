public import Foundation
public import HanaroCore
import HanaroEvidence
import GRDB

/// A signed checkpoint of a log, as this replica holds it.
public struct LogNote: Sendable, Hashable {
    public var id: Int64
    public var origin: String
    public var agency: AgencyID
    public var size: Int64
    public var root: [UInt8]
    /// The C2SP signed note: the checkpoint text, a blank line, the author's signature and every
    /// cosignature gathered.
    public var note: String
    public var createdAt: Date
    /// The witnesses whose cosignature is on the note (only read for this agency's own notes).
    public var cosigners: [AgencyID]
}

/// One leaf of a log as a witness receives it: its RFC 6962 leaf hash, its kind and what it is of
/// (a record key, or `audit:<seq>`). A witness attests to the tree, not to the leaves' data: it
/// mirrors hashes only, and a node proving a version's inclusion later recomputes the leaf from
/// the signed version it holds.
public struct LogLeaf: Sendable, Hashable {
    public var kind: String
    public var ref: String
    public var hash: [UInt8]

    public init(kind: String, ref: String, hash: [UInt8]) {
        self.kind = kind
        self.ref = ref
        self.hash = hash
    }
}

/// What a witness made of a checkpoint offered to it.
public enum WitnessOutcome: Sendable, Equatable {
    /// Cosigned: the signature line to add to the note.
    case cosigned(line: String)
    /// The witness mirrors the log only up to `size` leaves: send the rest first.
    case needLeaves(size: Int64)
    /// Refused, and why (a bad signature, leaves that do not make the root, ...).
    case refused(String)
    /// The checkpoint is older than one this witness cosigned and consistent with it (the same
    /// root at its size): nothing to cosign, nothing wrong with the log. `size` is that of the
    /// newer checkpoint held (C2SP tlog-witness answers such an offer 409 with it).
    case alreadyCosigned(size: Int64)
    /// The checkpoint contradicts one this witness cosigned: both are kept as proof.
    case equivocation(String)
}

/// The logs as `/status` shows them.
public struct LogStatus: Sendable {
    public struct Witnessed: Sendable {
        public var agency: AgencyID
        public var origin: String
        public var size: Int64
        public var updatedAt: Date
    }
    public var origin: String?
    /// Leaves in this agency's own log.
    public var size: Int64
    /// Its newest checkpoint, and who cosigned it.
    public var checkpointSize: Int64?
    public var checkpointAt: Date?
    public var cosigners: [AgencyID]
    public var witnessed: [Witnessed]
    public var equivocations: Int
}

extension Replica {
    /// Most logs of one agency a witness mirrors.
    static let maxMirroredLogsPerAgency = 8
    /// Most leaves a witness holds beyond what it cosigned, per log.
    static let maxPendingLeaves: Int64 = 5_000_000

    /// Refuses a ninth log of one agency (a rebuilt or restored node starts a new one; a peer
    /// cannot make this node mirror logs without end).
    static func checkRoomForLog(_ db: Database, origin: String, agency: AgencyID) throws {
        let range: [(any DatabaseValueConvertible)?] = ["hanaro/\(agency.rawValue)/", "hanaro/\(agency.rawValue)0"]
        let known = try String.fetchAll(db, sql: """
            SELECT DISTINCT origin FROM log_leaf WHERE origin >= ? AND origin < ?
            UNION SELECT origin FROM log_witness WHERE origin >= ? AND origin < ?
            """, arguments: StatementArguments(range + range))
        guard known.contains(origin) || known.count < maxMirroredLogsPerAgency else {
            throw StoreError(.invalidRequest, "this node already mirrors \(known.count) logs of \(agency.rawValue); a new one is refused (an operator may delete old ones)")
        }
    }

    /// Makes a new checkpoint of this agency's log when the log grew since the last one: the tree
    /// size, its root and the audit log's head, signed with the agency's key.
    /// - Returns: the newest checkpoint (new or not); nil when this replica keeps no log.
    @discardableResult
    public func makeCheckpoint() async throws(StoreError) -> LogNote? {
        guard let auth = authentication, let signer = auth.signer else { return nil }
        let now = clock.nowMilliseconds()
        return try await write("sign a checkpoint of the log") { db -> LogNote? in
            guard let origin = try TransparencyLog.ownOrigin(db) else { return nil }
            let size = try TransparencyLog.size(db, origin: origin)
            if let last = try Self.ownNotes(db, origin: origin, auth: auth, limit: 1).first, last.size == size { return last }
            let root = try TransparencyLog.root(db, origin: origin, size: size, keep: true)
            // The audit head as the log holds it (entries written before the log existed, as
            // after an upgrade, are not leaves: a witness could not check a line naming them).
            let audit = try TransparencyLog.loggedAuditHead(db, origin: origin)
            let checkpoint = try HanaroEvidence.Checkpoint(origin: origin, size: UInt64(size), rootHash: root,
                                            extensionLines: [TransparencyLog.auditLine(seq: audit.seq, hash: audit.hash)])
            let note = try signer.signNote(checkpoint.text)
            try db.execute(sql: "INSERT INTO log_note(origin, agency, size, root, note, role, created_at) VALUES (?, ?, ?, ?, ?, 'own', ?)",
                           arguments: [origin, signer.agency.rawValue, size, Data(root), note, Int64(now)])
            return LogNote(id: db.lastInsertedRowID, origin: origin, agency: signer.agency, size: size, root: root, note: note,
                           createdAt: Date(timeIntervalSince1970: Double(now) / 1000), cosigners: [])
        }
    }

    /// Starts a new log under a new origin (`hanaro/<agency>/<epoch>~<ms>`), audited: for a
    /// replica found restored from an older copy, whose log is behind what its witnesses cosigned.
    public func startNewLog(reason: String) async throws(StoreError) {
        guard let signer = authentication?.signer else { return }
        let now = clock.nowMilliseconds(), epoch = self.epoch
        try await write("start a new log") { db in
            let origin = "hanaro/\(signer.agency.rawValue)/\(epoch)~\(now)"
            try db.execute(sql: "INSERT INTO meta(name, value) VALUES ('log.origin', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", arguments: [origin])
            try AuditChain.append(db, at: Int64(now), actor: "node", action: "log.restart", target: origin, outcome: "ok", detail: reason)
        }
    }

    /// This agency's checkpoints, newest first.
    public func ownCheckpoints(limit: Int = 10) async throws(StoreError) -> [LogNote] {
        guard let auth = authentication else { return [] }
        return try await read("read the log's checkpoints") { db in
            guard let origin = try TransparencyLog.ownOrigin(db) else { return [] }
            return try Self.ownNotes(db, origin: origin, auth: auth, limit: limit)
        }
    }

    static func ownNotes(_ db: Database, origin: String, auth: VersionAuthentication, limit: Int) throws -> [LogNote] {
        try Row.fetchAll(db, sql: "SELECT id, agency, size, root, note, created_at FROM log_note WHERE origin = ? AND role = 'own' ORDER BY size DESC, id DESC LIMIT ?",
                         arguments: [origin, limit]).map { row in
            let note: String = row[4]
            let agency = AgencyID(rawValue: row[1]) ?? .semas
            return LogNote(id: row[0], origin: origin, agency: agency, size: row[2], root: Array(row[3] as Data), note: note,
                           createdAt: Date(timeIntervalSince1970: Double(row[5] as Int64) / 1000), cosigners: Self.cosigners(of: note, auth: auth, author: agency))
        }
    }

    /// The agencies whose valid cosignature is on `note`.
    static func cosigners(of note: String, auth: VersionAuthentication, author: AgencyID) -> [AgencyID] {
        let verifiers = AgencyID.allCases.filter { $0 != author }.flatMap { auth.keys(of: $0).map(\.cosignatureVerifier) }
        guard !verifiers.isEmpty, let opened = try? SignedNote.open(note, verifiers: verifiers) else { return [] }
        return opened.verifiers.compactMap { AgencyID(rawValue: $0.name) }.sorted { $0.rawValue < $1.rawValue }
    }

    /// The leaves of `origin`'s log from index `from`, at most `limit`.
    public func logLeaves(origin: String, from: Int64, limit: Int) async throws(StoreError) -> [LogLeaf] {
        try await read("read the log") { db in
            try Row.fetchAll(db, sql: "SELECT kind, ref, hash FROM log_leaf WHERE origin = ? AND idx >= ? ORDER BY idx LIMIT ?",
                             arguments: [origin, from, limit]).map { LogLeaf(kind: $0[0], ref: $0[1], hash: Array($0[2] as Data)) }
        }
    }

    /// Adds a witness's cosignature line to this agency's checkpoint `id`, once it verifies under
    /// the witness's key.
    /// - Returns: whether it verified and was added.
    @discardableResult
    public func addCosignature(to id: Int64, line: String, witness: AgencyID) async throws(StoreError) -> Bool {
        guard let auth = authentication else { return false }
        let verifiers = auth.keys(of: witness).map(\.cosignatureVerifier)
        return try await write("keep a witness's cosignature") { db in
            guard let note = try String.fetchOne(db, sql: "SELECT note FROM log_note WHERE id = ? AND role = 'own'", arguments: [id]) else { return false }
            guard let signature = NoteSignature(line: line) else { return false }
            var parsed = try SignedNote(parsing: note)
            guard !parsed.signatures.contains(signature) else { return true }
            try parsed.add(signature)
            guard let opened = try? SignedNote.open(parsed.encoded, verifiers: verifiers), opened.verifiers.contains(where: { $0.name == witness.rawValue }) else { return false }
            try db.execute(sql: "UPDATE log_note SET note = ? WHERE id = ?", arguments: [parsed.encoded, id])
            return true
        }
    }

    // MARK: Witness

    /// Appends leaves of another agency's log to this node's mirror of it, as its witness.
    /// `from` must be the mirror's size; leaves beyond what this node has cosigned stay pending
    /// until a checkpoint proves them.
    /// - Returns: the mirror's size after (or, when `from` is not the mirror's size, before: send from there).
    public func mirrorLeaves(origin: String, agency: AgencyID, from: Int64, leaves: [LogLeaf]) async throws(StoreError) -> (accepted: Bool, size: Int64) {
        try await write("mirror a peer's log") { db in
            let size = try TransparencyLog.size(db, origin: origin)
            guard from == size else { return (false, size) }
            if size == 0 { try Self.checkRoomForLog(db, origin: origin, agency: agency) }
            let cosigned = try Int64.fetchOne(db, sql: "SELECT cosigned_size FROM log_witness WHERE origin = ?", arguments: [origin]) ?? 0
            guard size + Int64(leaves.count) - cosigned <= Self.maxPendingLeaves else {
                throw StoreError(.invalidRequest, "more than \(Self.maxPendingLeaves) leaves of \(origin.prefix(80)) beyond what this node cosigned; offer a checkpoint first")
            }
            for leaf in leaves {
                guard leaf.kind == "version" || leaf.kind == "audit", leaf.hash.count == 32 else {
                    throw StoreError(.invalidRequest, "a leaf's kind is version or audit and its hash has 32 bytes")
                }
                try TransparencyLog.append(db, origin: origin, kind: leaf.kind, ref: String(leaf.ref.prefix(300)), hash: leaf.hash)
            }
            return (true, size + Int64(leaves.count))
        }
    }

    /// Checks a checkpoint of `agency`'s log as its witness: signed by the agency, its tree made
    /// of the mirrored leaves, extending the last checkpoint this node cosigned (same leaves,
    /// never fewer, an audit log that only grows). Cosigns it when it holds; keeps both notes as
    /// proof when it contradicts a cosigned one. A smaller checkpoint whose root is the mirror's
    /// at its size is an old one offered again: ``WitnessOutcome/alreadyCosigned(size:)``, no
    /// proof, no audit entry.
    public func witness(note: String, from agency: AgencyID) async throws(StoreError) -> WitnessOutcome {
        guard let auth = authentication, auth.signer != nil else { return .refused("this node keeps no log and witnesses none (no signing key)") }
        let verifiers = auth.keys(of: agency).filter { $0.retiredAtMilliseconds == nil }.map(\.noteVerifier)
        let checkpoint: HanaroEvidence.Checkpoint
        let authorSignatures: [NoteSignature]
        do {
            let opened = try SignedNote.open(note, verifiers: verifiers)
            checkpoint = try HanaroEvidence.Checkpoint(parsing: opened.text)
            authorSignatures = opened.verified.map(\.signature)
        } catch {
            return .refused("the checkpoint is not signed by a current key of \(agency.rawValue): \(error)")
        }
        guard TransparencyLog.agency(ofOrigin: checkpoint.origin) == agency else {
            return .refused("the checkpoint's origin \(checkpoint.origin.prefix(100)) is not a log of \(agency.rawValue)")
        }
        guard let audit = TransparencyLog.parseAuditLine(checkpoint), checkpoint.size <= UInt64(Int64.max) else {
            return .refused("the checkpoint has no audit line (audit <seq> <hash>)")
        }
        let now = clock.nowMilliseconds()
        let origin = checkpoint.origin, size = Int64(checkpoint.size)
        return try await write("witness a checkpoint") { db -> WitnessOutcome in
            let held = try Row.fetchOne(db, sql: "SELECT cosigned_size, cosigned_root, audit_seq, audit_hash FROM log_witness WHERE origin = ?", arguments: [origin])
            func equivocation(_ reason: String) throws -> WitnessOutcome {
                // One proof per log is enough: a peer repeating the offer costs no more rows.
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM log_equivocation WHERE origin = ?", arguments: [origin]) == 0 else { return .equivocation(reason) }
                let heldNote = try String.fetchOne(db, sql: "SELECT note FROM log_note WHERE origin = ? AND role = 'witnessed' ORDER BY size DESC, id DESC LIMIT 1", arguments: [origin])
                try db.execute(sql: """
                    INSERT INTO log_equivocation(agency, origin, reason, held_note, offered_note, detected_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [agency.rawValue, origin, reason, heldNote ?? "", note, Int64(now)])
                try AuditChain.append(db, at: Int64(now), actor: "peer:\(agency.rawValue)", action: "log.equivocation", target: origin, outcome: "refused", detail: reason)
                return .equivocation(reason)
            }
            /// A checkpoint smaller than the one cosigned: an old one offered again is no offence;
            /// only one that contradicts the tree this node cosigned (the mirror holds every leaf
            /// of it) is an equivocation.
            func older(than heldSize: Int64) throws -> WitnessOutcome {
                guard try TransparencyLog.size(db, origin: origin) >= size else {
                    return .refused("this witness cosigned \(heldSize) leaves of \(origin.prefix(100)) but its mirror lacks leaves of the first \(size): it cannot compare the checkpoint")
                }
                guard try TransparencyLog.root(db, origin: origin, size: size, keep: false) == checkpoint.rootHash else {
                    return try equivocation("two roots for \(size) leaves: the checkpoint contradicts the log this node cosigned up to \(heldSize) leaves")
                }
                if audit.seq > 0 {
                    let leaf = try Data.fetchOne(db, sql: "SELECT hash FROM log_leaf WHERE origin = ? AND ref = ? AND idx < ?", arguments: [origin, "audit:\(audit.seq)", size])
                    guard let leaf else { return .refused("the audit line (entry \(audit.seq)) is not an audit leaf of the log's first \(size) leaves") }
                    guard Array(leaf) == MerkleHash.leaf(TransparencyLog.auditEntry(seq: audit.seq, hash: audit.hash)) else {
                        return try equivocation("two chain hashes for audit entry \(audit.seq): the checkpoint of \(size) leaves names another than the log's leaf")
                    }
                }
                return .alreadyCosigned(size: heldSize)
            }
            if let held {
                let heldSize: Int64 = held[0], heldRoot = Array(held[1] as Data), heldAuditSeq: Int64 = held[2], heldAuditHash = Array(held[3] as Data)
                if size < heldSize { return try older(than: heldSize) }
                if size == heldSize, checkpoint.rootHash != heldRoot { return try equivocation("two roots for \(size) leaves") }
                if audit.seq < heldAuditSeq { return try equivocation("the audit log went back from entry \(heldAuditSeq) to \(audit.seq)") }
                if audit.seq == heldAuditSeq, audit.hash != heldAuditHash { return try equivocation("two chain hashes for audit entry \(audit.seq)") }
            }
            if held == nil { try Self.checkRoomForLog(db, origin: origin, agency: agency) }
            let mirrored = try TransparencyLog.size(db, origin: origin)
            if mirrored < size { return .needLeaves(size: mirrored) }
            guard try TransparencyLog.root(db, origin: origin, size: size, keep: false) == checkpoint.rootHash else {
                let cosigned = (held?[0] as Int64?) ?? 0
                // The pending leaves (beyond what was cosigned) do not make this root: drop them so
                // that the log's author sends them again. Cosigned leaves are never dropped.
                try db.execute(sql: "DELETE FROM log_leaf WHERE origin = ? AND idx >= ?", arguments: [origin, cosigned])
                if size == cosigned { return try equivocation("the root does not match the cosigned leaves") }
                return .refused("the leaves sent do not make the checkpoint's root; send them again from \(cosigned)")
            }
            if audit.seq > 0 {
                // The audit line must name the audit leaf the log holds for that entry.
                let leaf = try Data.fetchOne(db, sql: "SELECT hash FROM log_leaf WHERE origin = ? AND ref = ? AND idx < ?", arguments: [origin, "audit:\(audit.seq)", size])
                guard let leaf, Array(leaf) == MerkleHash.leaf(TransparencyLog.auditEntry(seq: audit.seq, hash: audit.hash)) else {
                    return .refused("the audit line (entry \(audit.seq)) is not an audit leaf of the log")
                }
            }
            _ = try TransparencyLog.root(db, origin: origin, size: size, keep: true)
            let signature = try auth.signer!.cosign(checkpoint, at: now / 1000)
            // Kept: the author's verified signature and this node's cosignature, nothing else the
            // offer carried (an unverified line would spoil every bundle built from the note).
            var withMine = try SignedNote(text: checkpoint.text, signatures: authorSignatures)
            try withMine.add(signature)
            try db.execute(sql: """
                INSERT INTO log_witness(origin, agency, cosigned_size, cosigned_root, audit_seq, audit_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(origin) DO UPDATE SET cosigned_size = excluded.cosigned_size, cosigned_root = excluded.cosigned_root,
                  audit_seq = excluded.audit_seq, audit_hash = excluded.audit_hash, updated_at = excluded.updated_at
                """, arguments: [origin, agency.rawValue, size, Data(checkpoint.rootHash), audit.seq, Data(audit.hash), Int64(now)])
            if held.map({ ($0[0] as Int64) != size || ($0[2] as Int64) != audit.seq }) ?? true {
                try db.execute(sql: "INSERT INTO log_note(origin, agency, size, root, note, role, created_at) VALUES (?, ?, ?, ?, ?, 'witnessed', ?)",
                               arguments: [origin, agency.rawValue, size, Data(checkpoint.rootHash), withMine.encoded, Int64(now)])
            }
            return .cosigned(line: signature.line)
        }
    }

    /// The logs for `/status`.
    public func logStatus() async throws(StoreError) -> LogStatus {
        let auth = authentication
        return try await read("read the logs' state") { db in
            let origin = try TransparencyLog.ownOrigin(db)
            let size = try origin.map { try TransparencyLog.size(db, origin: $0) } ?? 0
            let newest = try origin.flatMap { origin in try auth.flatMap { try Self.ownNotes(db, origin: origin, auth: $0, limit: 1).first } }
            let witnessed = try Row.fetchAll(db, sql: "SELECT agency, origin, cosigned_size, updated_at FROM log_witness ORDER BY agency, updated_at DESC").compactMap { row -> LogStatus.Witnessed? in
                guard let agency = AgencyID(rawValue: row[0]) else { return nil }
                return LogStatus.Witnessed(agency: agency, origin: row[1], size: row[2], updatedAt: Date(timeIntervalSince1970: Double(row[3] as Int64) / 1000))
            }
            let equivocations = try Int.fetchOne(db, sql: "SELECT count(*) FROM log_equivocation") ?? 0
            return LogStatus(origin: origin, size: size, checkpointSize: newest?.size, checkpointAt: newest?.createdAt, cosigners: newest?.cosigners ?? [],
                             witnessed: witnessed, equivocations: equivocations)
        }
    }

    /// The equivocations this node has proof of, newest first: (agency, reason, when).
    public func equivocations() async throws(StoreError) -> [(agency: String, origin: String, reason: String, at: Date)] {
        try await read("read the equivocations") { db in
            try Row.fetchAll(db, sql: "SELECT agency, origin, reason, detected_at FROM log_equivocation ORDER BY id DESC LIMIT 100").map {
                (agency: $0[0] as String, origin: $0[1] as String, reason: $0[2] as String, at: Date(timeIntervalSince1970: Double($0[3] as Int64) / 1000))
            }
        }
    }
}
