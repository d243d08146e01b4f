public import Foundation
public import HanaroCore
import GRDB

extension Replica {
    /// The referrals `origin` started whose consent's retention ended before `day` and which
    /// still hold the owner's personal fields: 개인정보보호법 has them destroyed once the period
    /// agreed to is over. Read a page of `limit` records at a time after `afterKey` (the last key
    /// of the previous page; nil: from the start), so a long scan never holds one read open.
    public func expiredPersonal(origin: AgencyID, before day: LocalDate, afterKey: String?, limit: Int = 500) async throws(StoreError) -> (keys: [RecordKey], lastKey: String?) {
        let key = self.key
        return try await read("find referrals past their retention") { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT key, vector, body, sealed FROM record WHERE kind = ? AND owner = ? AND key > ? AND sealed IS NOT NULL ORDER BY key LIMIT ?
                """), arguments: [Int64(RecordKind.referral.rawValue), origin.rawValue, afterKey ?? "", limit])
            var expired: [RecordKey] = []
            for row in rows {
                let recordKey = try RecordKey(parsing: row[0] as String)
                let version = try StoredRow(vector: Array(row[1] as Data), body: Array(row[2] as Data), sealed: row[3]).decode(recordKey, with: key).version
                guard let referral = version.referral, let retainUntil = referral.consent.value?.retainUntil, retainUntil < day,
                      case .fields = referral.personal.value else { continue }
                expired.append(recordKey)
            }
            return (expired, rows.count == limit ? rows.last.map { $0[0] as String } : nil)
        }
    }

    /// Purges the personal fields of every referral `origin` started whose retention ended before
    /// `day` (a new version whose personal part is `purged`, which reaches the target like any
    /// other change and replaces its copy), and audits each purge without naming anyone.
    /// - Returns: how many referrals were purged.
    @discardableResult
    public func purgeExpiredPersonal(origin: AgencyID, before day: LocalDate) async throws(StoreError) -> Int {
        var purged = 0
        var after: String?
        repeat {
            let page = try await expiredPersonal(origin: origin, before: day, afterKey: after)
            for recordKey in page.keys {
                guard try await author(.setPersonal(nil), key: recordKey, by: origin) != nil else { continue }
                purged += 1
                try await appendAudit(actor: "retention", action: "referral.personal.purge", target: recordKey.description, outcome: "ok",
                                      detail: "the consent's retention ended before \(day); the owner's name and phone were deleted")
            }
            after = page.lastKey
        } while after != nil
        return purged
    }
}
