public import Foundation
public import HanaroCore
import HanaroEvidence
import GRDB

/// What checking an audit log found: its hash chain, and the checkpoints of the agency's log that
/// anchor it (each audit entry's chain hash is a leaf of the log; a checkpoint signed by the agency
/// and cosigned by a witness fixes every leaf before it, and through the chain every entry before
/// those).
public struct AuditVerification: Sendable, Hashable {
    /// Entries in the file.
    public var entries: Int
    /// The first entry that does not verify (nil: intact).
    public var firstBroken: Int64?
    /// Why, in a sentence that names the entry.
    public var problem: String?
    /// The last audit entry a checkpoint cosigned by a witness anchors (nil: none). A checkpoint
    /// signed only by the agency's own key anchors nothing: whoever holds the file and its key can
    /// re-sign a rewritten log.
    public var anchoredThrough: Int64?
    /// The first entry no witness anchors yet (nil: every entry is anchored, or the replica keeps
    /// no log). Entries after the last cosigned checkpoint are normal on a live node (the next
    /// round cosigns them); offline, a rewrite of them cannot be ruled out.
    public var unwitnessedFrom: Int64?
    /// Witnesses whose cosignature is on the newest anchoring checkpoint.
    public var cosigners: [AgencyID]
    /// Things the auditor should know that do not make the log broken.
    public var notes: [String]

    public var intact: Bool { firstBroken == nil }
}

extension Replica {
    /// Checks this replica's audit log: its chain and its anchors, with this node's keys.
    public func verifyAuditAnchored() async throws(StoreError) -> AuditVerification {
        let keys = authentication?.allKeys
        return try await read("verify the audit log") { db in try AuditAnchors.verify(db, keys: keys, offline: false) }
    }

    /// Checks a copy of a replica file offline (read-only; no node, no private key): the audit
    /// chain, then every anchor. `keys` are the federation's public keys (`agencies/*.yaml`);
    /// without them the keys recorded in the file are used, and the result says so. Offline, a
    /// file whose log holds audit entries but no checkpoint cosigned by a witness is broken: only
    /// a witness's cosignature shows that the log was not rewritten and re-signed with the file's key.
    /// - Throws: ``StoreError`` `.database` when the file cannot be read as a replica.
    public static func verifyAuditAnchored(ofFile path: String, keys: [AgencyVerifierKey]?) throws(StoreError) -> AuditVerification {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw StoreError(.database, "cannot read \(path); give the path of a replica file (a copy of <data_dir>/replica.sqlite)")
        }
        do {
            var configuration = GRDB.Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                guard try db.tableExists("audit") else {
                    throw StoreError(.database, "\(path) holds no audit log: is it a Hanaro replica?")
                }
                return try AuditAnchors.verify(db, keys: keys, offline: true)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "cannot read \(path) as a replica: \(error)")
        }
    }
}

enum AuditAnchors {
    /// A checkpoint of the agency's log found in the file, its signature verified.
    struct Anchor {
        var size: Int64
        var root: [UInt8]
        var audit: (seq: Int64, hash: [UInt8])
        var at: Int64
        var cosigners: [AgencyID]

        var when: String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(at) / 1000)) }
        var witnessed: String { cosigners.isEmpty ? "not cosigned" : "cosigned by \(cosigners.map(\.rawValue).joined(separator: ", "))" }
    }

    /// - Parameter offline: a copy of a file (`audit verify --db`): audit leaves that no witness's
    ///   cosignature covers at all make it broken; on a live node that is only a note (its first
    ///   round has not been cosigned yet).
    static func verify(_ db: Database, keys pinned: [AgencyVerifierKey]?, offline: Bool) throws -> AuditVerification {
        let chain = try AuditChain.verify(db)
        let entries = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit") ?? 0
        var result = AuditVerification(entries: entries, firstBroken: chain.firstBroken, anchoredThrough: nil, unwitnessedFrom: nil, cosigners: [], notes: [])
        if let broken = chain.firstBroken {
            result.problem = "entry \(broken) does not chain to the one before (\(chain.entries) entries before it verify): it was altered or an entry before it was deleted"
        }
        func report(_ seq: Int64, _ problem: String) {
            if result.firstBroken.map({ seq < $0 }) ?? true {
                result.firstBroken = seq
                result.problem = problem
            }
        }
        let hasLog = try db.tableExists("log_leaf")
        let anyNotes = try db.tableExists("log_note") && (try Int.fetchOne(db, sql: "SELECT count(*) FROM log_note") ?? 0) > 0
        let anyAuditLeaf = try hasLog && (try Int.fetchOne(db, sql: "SELECT count(*) FROM log_leaf WHERE entry >= ? AND entry < ?",
                                                           arguments: [Data(TransparencyLog.auditPrefix), Data(TransparencyLog.auditPrefix + [0xFF])]) ?? 0) > 0
        guard hasLog, let ownOrigin = try TransparencyLog.ownOrigin(db), let agency = TransparencyLog.agency(ofOrigin: ownOrigin) else {
            if anyNotes || anyAuditLeaf {
                report(1, "the file holds \(anyNotes ? "checkpoints" : "audit leaves") but no log origin of its own (meta log.origin was removed): its anchors cannot be matched to its audit log")
                return result
            }
            if offline, entries > 0, let pinned, !pinned.isEmpty {
                // The federation signs (its agency files publish keys), so every node keeps a log
                // that anchors its audit entries: a copy without one had it removed.
                report(1, "the file holds \(entries) audit entries but no transparency log of its own (no log origin, or its tables were emptied), while the federation's agency files publish signing keys: nothing anchors the entries, so a cut tail or a rewritten chain cannot be ruled out")
                return result
            }
            result.notes.append("this replica keeps no log (no signing key), so nothing anchors its audit log: a cut tail or a recomputed chain cannot be detected")
            return result
        }
        var keys = pinned ?? []
        if pinned == nil {
            result.notes.append("keys taken from the file itself; give --agencies DIR to check the anchors against the federation's published keys")
            for row in try Row.fetchAll(db, sql: "SELECT key, retired_at FROM log_key") {
                if let key = try? AgencyVerifierKey(text: row[0], retiredAtMilliseconds: (row[1] as Int64?).map { UInt64($0) }) { keys.append(key) }
            }
        }
        let authorKeys = keys.filter { $0.agency == agency }.map(\.noteVerifier)
        let witnessKeys = keys.filter { $0.agency != agency }.map(\.cosignatureVerifier)
        let range: [any DatabaseValueConvertible] = ["hanaro/\(agency.rawValue)/", "hanaro/\(agency.rawValue)0"]
        // Every checkpoint of this agency's logs, whatever role or origin a row claims (a node
        // never witnesses its own agency): each must verify and match the leaves the file holds.
        // (Chosen by origin, which each note signs: a row's other columns are not trusted.)
        var anchors: [String: [Anchor]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, size, note, created_at FROM log_note WHERE origin >= ? AND origin < ? ORDER BY size, id",
                                    arguments: StatementArguments(range)) {
            let origin: String = row[0], size: Int64 = row[1], text: String = row[2]
            let opened: OpenedNote
            do {
                opened = try SignedNote.open(text, verifiers: authorKeys + witnessKeys)
            } catch {
                report(1, "a checkpoint of the log (\(size) leaves) does not verify (\(error)): the file's anchors were altered")
                return result
            }
            guard opened.verifiers.contains(where: { $0.type == .ed25519 && $0.name == agency.rawValue }),
                  let checkpoint = try? HanaroEvidence.Checkpoint(parsing: opened.text), checkpoint.origin == origin, checkpoint.size == UInt64(size),
                  TransparencyLog.agency(ofOrigin: origin) == agency, let audit = TransparencyLog.parseAuditLine(checkpoint) else {
                report(1, "a checkpoint of the log (\(size) leaves) is not signed by \(agency.rawValue) or is not a checkpoint of \(origin)")
                return result
            }
            anchors[origin, default: []].append(Anchor(size: size, root: checkpoint.rootHash, audit: audit, at: row[3],
                                                       cosigners: opened.verifiers.filter { $0.type == .cosignatureV1 }.compactMap { AgencyID(rawValue: $0.name) }))
        }
        // A log restarted (after a detected restore) has no checkpoint until the next round; its
        // audited log.restart entry, itself a leaf of the new log, says so.
        if anchors[ownOrigin] == nil, !anchors.isEmpty,
           try Int.fetchOne(db, sql: "SELECT count(*) FROM audit WHERE action = 'log.restart' AND target = ?", arguments: [ownOrigin]) == 0 {
            report(1, "the file's log origin \(ownOrigin) has no checkpoint, but older logs of \(agency.rawValue) have, and no log.restart entry started it: meta log.origin was changed")
            return result
        }
        let hashOf = try db.cachedStatement(sql: "SELECT hash FROM audit WHERE seq = ?")
        let maxSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit") ?? 0
        var witnessedThrough: Int64?
        var firstAuditLeaf: Int64?
        var lastAuditLeaf: Int64 = 0
        let origins = Set(try String.fetchAll(db, sql: "SELECT DISTINCT origin FROM log_leaf WHERE origin >= ? AND origin < ?", arguments: StatementArguments(range)))
            .union(anchors.keys).union([ownOrigin])
        for origin in origins.sorted() {
            let checkpoints = anchors[origin] ?? []
            let newestCosigned = checkpoints.last { !$0.cosigners.isEmpty }
            if origin == ownOrigin { result.cosigners = newestCosigned?.cosigners ?? [] }
            func missing(_ seq: Int64, _ what: String) -> String {
                seq > maxSeq
                    ? "the audit log ends at entry \(maxSeq), but \(what) holds entry \(seq): entries from \(seq) on were cut"
                    : "entry \(seq) is in \(what) and is missing: it was deleted"
            }
            // The signed audit line names the audit head when each checkpoint was made.
            for anchor in checkpoints where anchor.audit.seq > 0 {
                switch try Data.fetchOne(hashOf, arguments: [anchor.audit.seq]) {
                case nil: report(anchor.audit.seq, missing(anchor.audit.seq, "the checkpoint of \(anchor.when) (\(anchor.witnessed))"))
                case let stored? where Array(stored) != anchor.audit.hash:
                    report(anchor.audit.seq, "entry \(anchor.audit.seq) is not the audit head the checkpoint of \(anchor.when) (\(anchor.witnessed)) signed: the chain was rewritten")
                default: break
                }
            }
            // One pass over every leaf the file holds (not only those a checkpoint covers): the
            // root at each checkpoint's size (a compact range, not the whole tree in memory), each
            // leaf's data against its hash, and every audit leaf against the file's audit log — a
            // leaf's data read by what it is (its prefix), not by the kind a row claims.
            var tree = CompactRange()
            var pending = checkpoints[...]
            var lastAuditSeq: Int64 = 0
            func checkRoots() {
                while let anchor = pending.first, anchor.size <= tree.size {
                    pending = pending.dropFirst()
                    guard anchor.size == tree.size, tree.root != anchor.root else { continue }
                    report(max(1, anchor.audit.seq), "the log in the file is not the one the checkpoint of \(anchor.when) (\(anchor.witnessed)) signed: its leaves were rewritten; the audit log cannot be trusted beyond what that checkpoint anchors")
                }
            }
            checkRoots()
            let cursor = try Row.fetchCursor(db, sql: "SELECT idx, entry, hash FROM log_leaf WHERE origin = ? ORDER BY idx", arguments: [origin])
            while let row = try cursor.next() {
                let index: Int64 = row[0], entry = Array(row[1] as Data), hash = Array(row[2] as Data)
                guard index == tree.size else {
                    report(lastAuditSeq + 1, "leaves \(tree.size)..<\(index) of the log in the file are missing: they were deleted (entries after \(lastAuditSeq) may have been cut)")
                    break
                }
                tree.append(hash)
                defer { checkRoots() }
                let anchored = TransparencyLog.parseAuditEntry(entry)
                guard MerkleHash.leaf(entry) == hash else {
                    report(anchored?.seq ?? lastAuditSeq + 1, "leaf \(index) of the log in the file is not the data its hash commits to: the log was rewritten")
                    continue
                }
                guard entry.starts(with: TransparencyLog.auditPrefix) else { continue }
                guard let anchored else {
                    report(lastAuditSeq + 1, "leaf \(index) of the log in the file is an audit leaf that does not read: the log was rewritten")
                    continue
                }
                lastAuditSeq = max(lastAuditSeq, anchored.seq)
                lastAuditLeaf = max(lastAuditLeaf, anchored.seq)
                firstAuditLeaf = min(firstAuditLeaf ?? anchored.seq, anchored.seq)
                if let newestCosigned, index < newestCosigned.size { witnessedThrough = max(witnessedThrough ?? 0, anchored.seq) }
                if let stored = try Data.fetchOne(hashOf, arguments: [anchored.seq]) {
                    if Array(stored) != anchored.hash {
                        report(anchored.seq, "entry \(anchored.seq) is not the entry leaf \(index) of the log holds (\(checkpoints.first { $0.size > index }.map { "signed in the checkpoint of \($0.when), \($0.witnessed)" } ?? "not yet in a checkpoint")): the chain was rewritten from there")
                    }
                } else {
                    report(anchored.seq, missing(anchored.seq, "leaf \(index) of the log"))
                }
            }
            // Leaves a checkpoint, or the compact range kept at the last one, counted but the file no longer holds.
            let kept = try Int64.fetchOne(db, sql: "SELECT size FROM log_range WHERE origin = ?", arguments: [origin]) ?? 0
            let expected = max(kept, checkpoints.last?.size ?? 0)
            if expected > tree.size {
                report(lastAuditSeq + 1, "the log in the file holds \(tree.size) leaves, but \(kept >= expected ? "its last checkpoint's range" : "its checkpoint of \(checkpoints.last!.when) (\(checkpoints.last!.witnessed))") counts \(expected): \(expected - tree.size) leaves were deleted, and audit entries after \(lastAuditSeq) with them")
            }
        }
        // Every entry written once the log existed is a leaf of it (in the same transaction); only
        // entries from before the log (an upgraded node) are not. An entry after the last audit
        // leaf, written after the log's first checkpoint, lost its leaf: the log was cut back
        // (leaves, checkpoints and compact range) under entries kept or written again.
        if let firstCheckpoint = anchors.values.joined().min(by: { $0.at < $1.at }),
           let orphan = try Row.fetchOne(db, sql: "SELECT seq, at FROM audit WHERE seq > ? AND at > ? ORDER BY seq LIMIT 1", arguments: [lastAuditLeaf, firstCheckpoint.at]) {
            let seq: Int64 = orphan[0]
            report(seq, "entry \(seq) was written after the log's first checkpoint (\(firstCheckpoint.when)) but is no leaf of the log: the log was cut back under it (its leaves, checkpoints and compact range deleted)")
        }
        result.anchoredThrough = witnessedThrough
        let anyCosigned = anchors.values.joined().contains { !$0.cosigners.isEmpty }
        if maxSeq > (witnessedThrough ?? 0) {
            let from = (witnessedThrough ?? 0) + 1
            result.unwitnessedFrom = from
            if !anyCosigned, firstAuditLeaf != nil {
                let why = "no checkpoint in the file is cosigned by a witness, so nothing but \(agency.rawValue)'s own key anchors the audit log (whoever holds the file and that key can rewrite it and sign again)"
                if offline, result.firstBroken == nil {
                    // (A concrete finding above says more: it is kept.)
                    report(from, "\(why): it cannot be shown intact. If the node's witnesses never cosigned (see log.witness_problems on /status), fix that and check a newer copy")
                } else if !offline {
                    result.notes.append("\(why); the next checkpoint round a witness cosigns anchors it")
                }
            } else {
                result.notes.append("entries from \(from) on are not anchored by a witness yet (signed only by \(agency.rawValue)'s own key, or in no checkpoint): \(offline ? "offline, a rewrite of them cannot be ruled out" : "the next checkpoint round a witness cosigns anchors them")")
            }
        }
        return result
    }
}
