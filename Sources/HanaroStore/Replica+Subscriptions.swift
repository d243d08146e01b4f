public import Foundation
public import HanaroCore
import GRDB
import Synchronization

/// A webhook delivery owed: one outbox row with what its POST needs.
public struct WebhookDelivery: Sendable, Hashable {
    public var outboxID: Int64
    /// The `webhook-id`: the same on every attempt.
    public var eventID: String
    public var type: WebhookEventType
    public var recordKey: String
    public var version: String
    public var subscription: String
    public var url: String
    /// The subscription's secret (`whsec_...`), unsealed for signing.
    public var secret: String
    /// Attempts made before this one.
    public var attempts: Int
    public var createdAt: Date
}

/// How one delivery attempt ended.
public enum DeliveryResult: Sendable, Hashable {
    /// 2xx.
    case delivered(status: Int)
    /// Try again at `at` (the next step of the backoff, or the receiver's `Retry-After`).
    case retry(status: Int?, error: String, at: Date)
    /// The schedule is exhausted: the delivery is given up.
    case failed(status: Int?, error: String)
    /// The receiver answered 410 Gone: the subscription is disabled, its pending deliveries dropped.
    case gone
}

/// Delivery totals for `/status` and metrics.
public struct OutboxSummary: Sendable, Hashable {
    public var pending: Int64
    public var delivered: Int64
    public var failed: Int64
    public var activeSubscriptions: Int64
    public var disabledSubscriptions: Int64
    /// How long the oldest pending delivery has waited, in seconds (0 when none).
    public var oldestPendingSeconds: Double
}

extension Replica {
    /// Loads the active subscriptions into the matcher every write transaction uses.
    func reloadSubscriptions(_ db: Database) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT id, sealed_filter FROM subscription WHERE state = 'active' ORDER BY id")
        var entries: [(id: String, filter: SubscriptionFilter)] = []
        for row in rows {
            let id: String = row[0]
            let plain = try key.open(row[1], context: "subscription:\(id)")
            let stored = try JSONDecoder().decode(SubscriptionFilter.Stored.self, from: Data(plain))
            entries.append((id, SubscriptionFilter(stored: stored)))
        }
        let live = SubscriptionMatcher.Live(entries)
        self.matcher.withLock { $0 = live }
    }

    /// This node's agency and the subscriptions, for a write transaction.
    var sessionEvents: SessionEvents {
        SessionEvents(matcher: matcher.withLock { $0.current() }, localAgency: localAgency, indexing: keepsAgencyAPI, prework: preworksOnCores)
    }

    /// Stops matching a subscription, in the transaction that deletes or disables it; a full
    /// load once tombstones outnumber the live entries.
    func unmatch(_ id: String, _ db: Database) throws {
        let compact = matcher.withLock { live in
            live.remove(id: id)
            return live.needsCompaction
        }
        if compact { try reloadSubscriptions(db) }
    }

    /// Saves a subscription (its filter and secret sealed) and starts matching it, with an audit
    /// entry in the same transaction.
    public func createSubscription(client: String, url: String, secret: String, filter: SubscriptionFilter, audit: AuditNote) async throws(StoreError) -> Subscription {
        let id = "sub_" + (0 ..< 12).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255)) }.joined()
        let now = clock.nowMilliseconds()
        let sealedFilter: Data
        do { sealedFilter = try key.seal(Array(try JSONEncoder().encode(filter.stored)), context: "subscription:\(id)") } catch let error as StoreError { throw error } catch {
            throw StoreError(.invalidRequest, "the subscription's filter does not encode (\(error))")
        }
        let sealedSecret = try key.seal(Array(secret.utf8), context: "subscription-secret:\(id)")
        try await write("save a subscription") { db in
            try db.execute(sql: """
                INSERT INTO subscription(id, client, url, events, sealed_filter, sealed_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, client, url, filter.events.map(\.rawValue).sorted().joined(separator: ","), sealedFilter, sealedSecret, Int64(now)])
            try AuditChain.append(db, at: Int64(now), actor: audit.actor, action: audit.action, target: id, outcome: audit.outcome, detail: audit.detail)
            // Added to the matcher as it is (reloading every subscription here made creating n of
            // them cost n² decryptions: 10,000 took minutes).
            self.matcher.withLock { $0.add(id: id, filter: filter) }
        }
        return Subscription(id: id, client: client, url: url, filter: filter, state: "active", disabledReason: nil,
                            createdAt: Date(timeIntervalSince1970: Double(now) / 1000))
    }

    /// The subscriptions not deleted, with their delivery totals (no secrets).
    public func subscriptions() async throws(StoreError) -> [Subscription] {
        let key = self.key
        return try await read("list subscriptions") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.id, s.client, s.url, s.sealed_filter, s.state, s.disabled_reason, s.created_at,
                  (SELECT count(*) FROM outbox o WHERE o.subscription = s.id AND o.state = 'pending'),
                  (SELECT count(*) FROM outbox o WHERE o.subscription = s.id AND o.state = 'delivered'),
                  (SELECT coalesce(sum(CASE WHEN o.state = 'delivered' THEN o.attempts - 1 ELSE o.attempts END), 0) FROM outbox o WHERE o.subscription = s.id),
                  (SELECT o.last_status FROM outbox o WHERE o.subscription = s.id AND o.last_at IS NOT NULL ORDER BY o.last_at DESC LIMIT 1),
                  (SELECT max(o.last_at) FROM outbox o WHERE o.subscription = s.id)
                FROM subscription s WHERE s.state != 'deleted' ORDER BY s.created_at, s.id
                """)
            return try rows.map { row in
                let id: String = row[0]
                let stored = try JSONDecoder().decode(SubscriptionFilter.Stored.self, from: Data(try key.open(row[3], context: "subscription:\(id)")))
                var subscription = Subscription(id: id, client: row[1], url: row[2], filter: SubscriptionFilter(stored: stored), state: row[4],
                                                disabledReason: row[5], createdAt: Date(timeIntervalSince1970: Double(row[6] as Int64) / 1000))
                subscription.pending = row[7]
                subscription.delivered = row[8]
                subscription.failedAttempts = row[9]
                subscription.lastStatus = row[10]
                subscription.lastAttemptAt = (row[11] as Int64?).map { Date(timeIntervalSince1970: Double($0) / 1000) }
                return subscription
            }
        }
    }

    /// Deletes a subscription (kept as `deleted` for the audit trail; its pending deliveries are
    /// dropped), with an audit entry in the same transaction. False when there is none.
    public func deleteSubscription(_ id: String, audit: AuditNote) async throws(StoreError) -> Bool {
        let now = Int64(clock.nowMilliseconds())
        return try await write("delete a subscription") { db in
            try db.execute(sql: "UPDATE subscription SET state = 'deleted' WHERE id = ? AND state != 'deleted'", arguments: [id])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "UPDATE outbox SET state = 'dropped' WHERE subscription = ? AND state = 'pending'", arguments: [id])
            try AuditChain.append(db, at: now, actor: audit.actor, action: audit.action, target: id, outcome: audit.outcome, detail: audit.detail)
            try self.unmatch(id, db)
            return true
        }
    }

    /// Deliveries due now (pending, `next_at` reached), oldest first, of active subscriptions.
    /// `excluding`: subscriptions left out (those with a delivery in flight), so that one slow
    /// receiver's backlog at the head of the queue does not hide everyone else's.
    public func dueDeliveries(limit: Int, excluding busy: Set<String> = []) async throws(StoreError) -> [WebhookDelivery] {
        let now = Int64(clock.nowMilliseconds()), key = self.key
        let busyList = busy.sorted()
        let exclusion = busyList.isEmpty ? "" : " AND o.subscription NOT IN (\(busyList.map { _ in "?" }.joined(separator: ", ")))"
        return try await read("read due webhooks") { db in
            try Row.fetchAll(db.makeStatement(sql: """
                SELECT o.id, o.event_id, o.type, o.record_key, o.version, o.subscription, s.url, s.sealed_secret, o.attempts, o.created_at
                FROM outbox o JOIN subscription s ON s.id = o.subscription
                WHERE o.state = 'pending' AND o.next_at <= ? AND s.state = 'active'\(exclusion) ORDER BY o.next_at, o.id LIMIT ?
                """), arguments: StatementArguments([now.databaseValue] + busyList.map(\.databaseValue) + [limit.databaseValue])).compactMap { row in
                guard let type = WebhookEventType(rawValue: row[2]) else { return nil }
                let subscription: String = row[5]
                let secret = String(decoding: try key.open(row[7], context: "subscription-secret:\(subscription)"), as: UTF8.self)
                return WebhookDelivery(outboxID: row[0], eventID: row[1], type: type, recordKey: row[3], version: row[4], subscription: subscription,
                                       url: row[6], secret: secret, attempts: row[8], createdAt: Date(timeIntervalSince1970: Double(row[9] as Int64) / 1000))
            }
        }
    }

    /// The earliest `next_at` of a pending delivery, to sleep until.
    public func nextDeliveryDue() async throws(StoreError) -> Date? {
        try await read("read the webhook schedule") { db in
            try Int64.fetchOne(db, sql: """
                SELECT min(o.next_at) FROM outbox o JOIN subscription s ON s.id = o.subscription WHERE o.state = 'pending' AND s.state = 'active'
                """).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
    }

    /// Records how an attempt ended. A 410 disables the subscription (audited) and drops what it
    /// still owes.
    public func recordDelivery(_ delivery: WebhookDelivery, result: DeliveryResult) async throws(StoreError) {
        let now = Int64(clock.nowMilliseconds())
        try await write("record a webhook attempt") { db in
            switch result {
            case .delivered(let status):
                try db.execute(sql: "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, last_at = ?, delivered_at = ? WHERE id = ?",
                               arguments: [status, now, now, delivery.outboxID])
            case .retry(let status, let error, let at):
                let next = Int64(at.timeIntervalSince1970 * 1000)
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, last_status = ?, last_error = ?, last_at = ?, next_at = ? WHERE id = ?",
                               arguments: [status, error, now, next, delivery.outboxID])
                if status == 429 || status == 503 {
                    // The receiver asked for a pause (Retry-After, or the backoff's): nothing else
                    // goes to it before then, not only this delivery.
                    try db.execute(sql: "UPDATE outbox SET next_at = max(next_at, ?) WHERE subscription = ? AND state = 'pending' AND id != ?",
                                   arguments: [next, delivery.subscription, delivery.outboxID])
                }
            case .failed(let status, let error):
                try db.execute(sql: "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_status = ?, last_error = ?, last_at = ? WHERE id = ?",
                               arguments: [status, error, now, delivery.outboxID])
            case .gone:
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, last_status = 410, last_error = 'gone', last_at = ?, state = 'dropped' WHERE id = ?",
                               arguments: [now, delivery.outboxID])
                try db.execute(sql: "UPDATE subscription SET state = 'disabled', disabled_reason = ? WHERE id = ? AND state = 'active'",
                               arguments: ["the receiver answered 410 Gone at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now) / 1000)))", delivery.subscription])
                try db.execute(sql: "UPDATE outbox SET state = 'dropped' WHERE subscription = ? AND state = 'pending'", arguments: [delivery.subscription])
                try AuditChain.append(db, at: now, actor: "webhooks", action: "api.subscription.disable", target: delivery.subscription, outcome: "ok",
                                      detail: "the receiver answered 410 Gone; pending deliveries dropped")
                try self.unmatch(delivery.subscription, db)
            }
        }
    }

    /// Delivery totals.
    public func outboxSummary() async throws(StoreError) -> OutboxSummary {
        let now = Double(clock.nowMilliseconds())
        return try await read("summarise webhooks") { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'), (SELECT count(*) FROM outbox WHERE state = 'delivered'),
                       (SELECT count(*) FROM outbox WHERE state = 'failed'), (SELECT min(created_at) FROM outbox WHERE state = 'pending'),
                       (SELECT count(*) FROM subscription WHERE state = 'active'), (SELECT count(*) FROM subscription WHERE state = 'disabled')
                """)!
            let oldest: Int64? = row[3]
            return OutboxSummary(pending: row[0], delivered: row[1], failed: row[2], activeSubscriptions: row[4], disabledSubscriptions: row[5],
                                 oldestPendingSeconds: oldest.map { max(0, (now - Double($0)) / 1000) } ?? 0)
        }
    }
}
