public import HanaroCore
import Foundation
import GRDB

/// A page of the change feed as a peer receives it: canonical wire frames, personal fields
/// withheld unless the peer may hold them, echoes of the peer's own versions left out.
public struct FeedPage: Sendable {
    /// The replica's epoch.
    public var epoch: String
    /// Frames (``SignedVersion/frame``: a canonical version and its author's signature), in feed
    /// order. A record whose state merges concurrent versions goes out as those versions.
    public var frames: [[UInt8]]
    /// The cursor for the next page: the last sequence scanned (echoes included).
    public var nextCursor: Int64
    /// Whether more changes follow.
    public var hasMore: Bool
    /// Changes scanned but not sent because the peer sent them (echo suppression).
    public var suppressedEchoes: Int
}

extension Replica {
    /// Changes after `cursor` for peer `agency`, at most `limit` scanned. Programs go out as
    /// their stored bytes without decoding; referrals are decoded to withhold personal fields
    /// from agencies not entitled to them (``RecordVersion/shared(with:)``).
    /// - Throws: ``StoreError``.
    ///
    /// With `suppressingEchoes` (the default), a record whose state equals exactly what `agency`
    /// sent is left out; a peer reconciling in full (after its replica was restored) asks for
    /// everything.
    public func feed(after cursor: Int64, limit: Int, for agency: AgencyID, suppressingEchoes: Bool = true) async throws(StoreError) -> FeedPage {
        let key = self.key, epoch = self.epoch, stream = StreamID.peer(agency).rawValue, signed = authentication != nil
        return try await read("read the change feed for \(agency.rawValue)") { db in
            let statement = try HotStatement(db, sql: "SELECT seq, key, vector, body, sealed, echo_of, signature FROM record WHERE seq > ? ORDER BY seq LIMIT ?")
            defer { statement.reset() }
            statement.bind(1, cursor)
            statement.bind(2, Int64(limit + 1))
            var frames: [[UInt8]] = []
            // Frames signed in a batch, by batch: where, the signature's length, batch size, index, elided form.
            var members: [[UInt8]: [(frame: Int, length: Int, size: UInt16, index: UInt16, elided: [UInt8])]] = [:]
            var scanned = 0, suppressed = 0
            var next = cursor
            var more = false
            while try statement.step(db) {
                if scanned == limit {
                    more = true
                    break
                }
                scanned += 1
                next = sqlite3ColumnInt64(statement, 0)
                if suppressingEchoes, !statement.isNull(5), statement.text(5) == stream {
                    suppressed += 1
                    continue
                }
                let recordKey = try RecordKey(parsing: statement.text(1))
                if signed, statement.isNull(6) {
                    // A merge of concurrent versions: send the signed versions it is made of;
                    // the peer verifies each and merges them itself.
                    let parts = try WriteSession.readFrontier(db, of: recordKey, key: key)
                    for part in parts {
                        frames.append(SignedVersion(part.version.shared(with: agency), signature: part.signature).frame)
                    }
                    // No parts: a state stored unsigned (written before signatures, or by a tool);
                    // it goes out as it is, and a verifying peer quarantines it as
                    // `signature_missing` — visible there, never silently left out.
                    if !parts.isEmpty { continue }
                }
                var writer = CanonicalWriter(reservingCapacity: 768)
                if recordKey.kind == .program {
                    // The stored form is the wire form: no decoding.
                    writer.write(recordKey)
                    writer.bytes.append(contentsOf: statement.blob(2))
                    writer.bytes.append(contentsOf: statement.blob(3))
                } else {
                    let stored = StoredRow(vector: statement.blob(2), body: statement.blob(3), sealed: Data(statement.blob(4)))
                    let version = try stored.decode(recordKey, with: key).version
                    version.shared(with: agency).encode(to: &writer)
                }
                // The author's signature follows the version (canonical VersionSignature bytes).
                if !statement.isNull(6) {
                    let signature = statement.blob(6)
                    if let membership = VersionSignature.batchMembership(canonicalBytes: signature) {
                        members[membership.batch, default: []].append((frames.count, signature.count, membership.size, membership.index, membership.elided))
                    }
                    writer.bytes.append(contentsOf: signature)
                }
                frames.append(writer.bytes)
            }
            // A batch whose every version is in this page goes without its inclusion paths: the
            // receiver rebuilds them from the versions' envelopes (docs/FEDERATION.md). Six hashes
            // a version less: the bytes of batch signatures on the wire.
            for list in members.values where list.count == Int(list[0].size) && Set(list.map(\.index)).count == list.count {
                for member in list {
                    frames[member.frame].removeLast(member.length)
                    frames[member.frame].append(contentsOf: member.elided)
                }
            }
            return FeedPage(epoch: epoch, frames: frames, nextCursor: next, hasMore: more, suppressedEchoes: suppressed)
        }
    }

    /// Wakes every long-polling reader now (graceful shutdown).
    public func wakeWaiters() {
        headWatch.notify()
    }

    /// The current commit generation, for ``waitForChange(since:timeout:)``.
    public var commitGeneration: UInt64 { headWatch.generation }

    /// Waits until a write commits after `generation` was read, or `timeout` passes.
    public func waitForChange(since generation: UInt64, timeout: Duration) async {
        await headWatch.wait(since: generation, timeout: timeout)
    }
}

extension Replica {
    /// Rewrites the checkpoint of every stream `selecting` picks, in one transaction, with an
    /// audit entry in the same transaction (a node that learns it was restored restarts its pulls
    /// from the beginning, and says so).
    public func rewriteCheckpoints(selecting: @escaping @Sendable (StreamID) -> Bool, audit: AuditNote? = nil,
                                   _ transform: @escaping @Sendable (StreamID, String) -> String) async throws(StoreError) {
        let now = Int64(clock.nowMilliseconds())
        try await write("restart streams") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT stream, value FROM checkpoint")
            for row in rows {
                guard let stream = StreamID(rawValue: row[0]), selecting(stream) else { continue }
                try db.execute(sql: "UPDATE checkpoint SET value = ?, updated_at = ? WHERE stream = ?",
                               arguments: [transform(stream, row[1]), now, stream.rawValue])
            }
            if let audit {
                try AuditChain.append(db, at: now, actor: audit.actor, action: audit.action, target: audit.target, outcome: audit.outcome, detail: audit.detail)
            }
        }
    }
}
