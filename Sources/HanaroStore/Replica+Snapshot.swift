public import HanaroCore
import GRDB

extension Replica {
    /// Records a complete snapshot of `agency`'s program list — every id it listed — and closes
    /// the programs it has stopped listing, in one transaction.
    ///
    /// A program listed in an earlier complete snapshot and absent from `closeAfterMisses`
    /// consecutive complete ones (default two: one absence can be a program moving between pages
    /// while the list was read) is closed: the agency's tombstone (`deleteProgram`), which a later
    /// listing revives. A listed id the replica holds no record of (its item was refused each time)
    /// is forgotten instead: there is nothing to close. Call it only after a read that went through the whole list: a partial or
    /// failed read proves nothing about absence.
    /// - Returns: the programs closed.
    /// - Throws: ``StoreError`` when the transaction cannot commit.
    ///
    /// An empty snapshot is not recorded: an agency that suddenly lists nothing is far likelier
    /// to be broken than to have withdrawn every program.
    @discardableResult
    public func recordSnapshot(of agency: AgencyID, listed: Set<String>, closeAfterMisses: Int = 2) async throws(StoreError) -> [RecordKey] {
        guard !listed.isEmpty else { return [] }
        let key = self.key, path = self.path, now = clock.nowMilliseconds(), skew = maxClockSkewMilliseconds, signer = signer(for: agency), sealing = sealingKeys
        let (closed, changed) = try await write("record a snapshot of \(agency.rawValue)") { db -> ([RecordKey], Bool) in
            var members: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT native_id, misses FROM snapshot_member WHERE agency = ?", arguments: [agency.rawValue]) {
                members[row[0]] = row[1]
            }
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO snapshot_member(agency, native_id, misses) VALUES (?, ?, ?)
                ON CONFLICT(agency, native_id) DO UPDATE SET misses = excluded.misses
                """)
            for id in listed where members[id] != 0 {
                try upsert.execute(arguments: [agency.rawValue, id, 0])
            }
            var session = try WriteSession(db: db, key: key, path: path, source: .adapter(agency, .snapshot), now: now, maxClockSkew: skew, events: self.sessionEvents, signer: signer, sealingKeys: sealing)
            var closed: [RecordKey] = []
            let forget = try db.cachedStatement(sql: "DELETE FROM snapshot_member WHERE agency = ? AND native_id = ?")
            for (id, misses) in members.sorted(by: { $0.key < $1.key }) where !listed.contains(id) {
                if misses + 1 >= Int64(closeAfterMisses) {
                    let recordKey = RecordKey(kind: .program, owner: agency, localID: id)
                    // An id listed but never stored (its item was only ever quarantined) has no
                    // record to close: it is only forgotten, not tombstoned (which would be refused).
                    if try session.storedRow(recordKey.description) != nil,
                       case .replaced = try session.author(AuthoredEdit(key: recordKey, edit: .deleteProgram), by: agency) {
                        closed.append(recordKey)
                    }
                    try forget.execute(arguments: [agency.rawValue, id])
                } else {
                    try upsert.execute(arguments: [agency.rawValue, id, misses + 1])
                }
            }
            try session.finish()
            return (closed, session.changedRecords)
        }
        if changed { headWatch.notify() }
        return closed
    }

    /// A name for the state of `agency`'s programs in this replica: it changes whenever one of
    /// them is stored again (by anyone — the agency's adapter, a peer, an admin), or the replica
    /// is recreated. An adapter's ``SnapshotPageMemo`` is valid only under the token it was made
    /// with. One range scan of the agency's keys.
    public func programsToken(of agency: AgencyID) async throws(StoreError) -> String {
        // Every key of the agency's programs begins `program/<agency>/`; '0' follows '/'.
        let prefix = RecordKey(kind: .program, owner: agency, localID: "").description
        let epoch = self.epoch
        return try await read("read the state of \(agency.rawValue)'s programs") { db in
            let row = try Row.fetchOne(db, sql: "SELECT max(seq), count(*) FROM record WHERE key >= ? AND key < ?",
                                       arguments: [prefix, String(prefix.dropLast()) + "0"])
            return "\(epoch) \(row?[0] as Int64? ?? 0) \(row?[1] as Int64? ?? 0)"
        }
    }
}
