import Foundation
public import HanaroCore
import Prometheus

/// Every metric Hanaro exports, in one file: names, labels and help text. The alert rules in
/// `ops/prometheus/alerts.yml` use only these names. Labels stay low-cardinality: `agency` (six
/// values), `kind`, `state`, `action`, `outcome` (a few each) — never a record key or a person.
public final class HanaroMetrics: Sendable {
    /// The names, for the alert rules and the tests.
    public enum Name {
        public static let buildInfo = "hanaro_build_info"
        public static let agencyState = "hanaro_agency_state"
        public static let agencyLastSuccess = "hanaro_agency_last_success_timestamp_seconds"
        public static let agencyLag = "hanaro_agency_lag_seconds"
        public static let agencyStaleAfter = "hanaro_agency_stale_after_seconds"
        public static let agencyFailures = "hanaro_agency_consecutive_failures"
        public static let syncFailures = "hanaro_sync_failures_total"
        public static let syncRecords = "hanaro_sync_records_total"
        public static let syncStale = "hanaro_sync_stale_versions_total"
        public static let certificateExpiry = "hanaro_certificate_expiry_timestamp_seconds"
        public static let conflictsOpen = "hanaro_conflicts_open"
        public static let conflictsTotal = "hanaro_conflicts_total"
        public static let quarantine = "hanaro_quarantine_records"
        public static let pendingOutbound = "hanaro_referrals_pending_outbound"
        public static let replicaRecords = "hanaro_replica_records"
        public static let adminActions = "hanaro_admin_actions_total"
        public static let resyncRunning = "hanaro_resync_running"
        public static let auditFailures = "hanaro_audit_write_failures_total"
        public static let adapterQuarantined = "hanaro_adapter_quarantined_total"
        public static let connections = "hanaro_connections"
        public static let peerClockSkew = "hanaro_peer_clock_skew_seconds"
        public static let connectionsEvicted = "hanaro_connections_evicted_total"
        public static let apiRequests = "hanaro_api_requests_total"
        public static let webhookAttempts = "hanaro_webhook_attempts_total"
        public static let webhookPending = "hanaro_webhook_pending"
        public static let webhookOldestPending = "hanaro_webhook_oldest_pending_seconds"
        public static let webhookFailed = "hanaro_webhook_failed"
        public static let logLeaves = "hanaro_log_leaves"
        public static let logCosigners = "hanaro_log_cosigners"
        public static let logQuorum = "hanaro_log_quorum"
        public static let logEquivocations = "hanaro_log_equivocations"
        public static let subscriptions = "hanaro_subscriptions"
    }

    let registry = PrometheusCollectorRegistry()

    public init(version: String) {
        registry.makeGauge(name: Name.buildInfo, labels: [("version", version)], help: "Always 1; the running version in the label.").set(Double(1))
    }

    // MARK: Counters, incremented where things happen

    /// Records taken from an agency (`kind`: `program`, `referral`), by adapter or federation.
    public func countRecords(_ agency: AgencyID, kind: String, _ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(name: Name.syncRecords, labels: [("agency", agency.rawValue), ("kind", kind)],
                             help: "Records taken from the agency (by its adapter or its node), by kind.").increment(by: Int64(count))
    }

    /// Versions a peer sent that were older than the ones held (not applied; audited as
    /// `federation.stale`): a peer behind this node, or a relay replaying old versions.
    public func countStale(_ agency: AgencyID, _ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(name: Name.syncStale, labels: [("agency", agency.rawValue)],
                             help: "Versions pulled from the agency's node that were older than the ones held and were not applied.").increment(by: Int64(count))
    }

    /// A failed attempt to read from or deliver to an agency (`kind`: the failure kind).
    public func countFailure(_ agency: AgencyID, kind: FreshnessBoard.FailureKind) {
        registry.makeCounter(name: Name.syncFailures, labels: [("agency", agency.rawValue), ("kind", kind.rawValue)],
                             help: "Failed attempts to read from or deliver to the agency, by failure kind.").increment()
    }

    /// An admin action (`outcome`: `allowed`, `refused`, `failed`).
    public func countAdmin(action: String, outcome: String) {
        registry.makeCounter(name: Name.adminActions, labels: [("action", action), ("outcome", outcome)],
                             help: "Admin API actions, by action and outcome.").increment()
    }

    /// Items an adapter read and quarantined (no id, unreadable stamp, unmappable, refused by the
    /// rules), counted at each read: a bad item served again is counted again.
    public func countQuarantined(_ agency: AgencyID, _ count: Int) {
        let counter = registry.makeCounter(name: Name.adapterQuarantined, labels: [("agency", agency.rawValue)],
                                           help: "Items read from the agency's API and quarantined, counted at each read.")
        if count > 0 { counter.increment(by: Int64(count)) }
    }

    /// A listener's connections now (`state`: pending — no complete request yet — or established),
    /// and the pending ones closed to make room since the last update.
    func updateConnections(listener: String, pending: Int, established: Int, newlyEvicted: Int) {
        for (state, value) in [("pending", pending), ("established", established)] {
            registry.makeGauge(name: Name.connections, labels: [("listener", listener), ("state", state)],
                               help: "Open connections of a listener: pending (no complete request yet) or established.").set(Double(value))
        }
        let counter = registry.makeCounter(name: Name.connectionsEvicted, labels: [("listener", listener)],
                                           help: "Pending connections closed to make room for newer ones (a flood of idle or slow connections).")
        if newlyEvicted > 0 { counter.increment(by: Int64(newlyEvicted)) }
    }

    /// How far ahead of this node's clock a peer's last versions were stamped, when held for it (0: none).
    func setClockSkew(_ agency: AgencyID, seconds: Int) {
        registry.makeGauge(name: Name.peerClockSkew, labels: [("agency", agency.rawValue)],
                           help: "Seconds ahead of this node's clock that the peer's last held versions were stamped (0 = none held).").set(Double(seconds))
    }

    /// An audit entry that could not be written (the action it records went ahead or was refused
    /// anyway; the log line is then the only record).
    /// An Agency API call: `action` (`programs.search`, `referral.create`, ...), `outcome` (`ok`,
    /// `refused`, `forbidden`, `unauthenticated`, `failed`, `busy` — refused by the admission gate —,
    /// `cancelled` — gone while it waited for the gate).
    public func countAPI(action: String, outcome: String) {
        registry.makeCounter(name: Name.apiRequests, labels: [("action", action), ("outcome", outcome)],
                             help: "Agency API calls by action and outcome.").increment()
    }

    /// A webhook delivery attempt: `delivered`, `retry`, `failed` (schedule exhausted), `gone` (410).
    public func countWebhook(outcome: String) {
        registry.makeCounter(name: Name.webhookAttempts, labels: [("outcome", outcome)],
                             help: "Webhook delivery attempts by outcome (delivered, retry, failed, gone).").increment()
    }

    public func countAuditFailure() {
        registry.makeCounter(name: Name.auditFailures, help: "Audit entries that could not be written (see the node's log).").increment()
    }

    /// New conflicts detected since the last scrape.
    func countConflicts(_ count: Int) {
        let counter = registry.makeCounter(name: Name.conflictsTotal, help: "Conflicts detected (all states).")
        if count > 0 { counter.increment(by: Int64(count)) }
    }

    // MARK: Gauges, set from a status snapshot at scrape time

    func update(from status: NodeStatusReport) {
        for row in status.agencies {
            let agency = [("agency", row.agency)]
            for state in FreshnessBoard.State.allCases {
                registry.makeGauge(name: Name.agencyState, labels: agency + [("state", state.rawValue)],
                                   help: "1 for the agency's current freshness state (fresh, stale, degraded, failing, never), 0 otherwise.")
                    .set(Double(row.state == state ? 1 : 0))
            }
            registry.makeGauge(name: Name.agencyLastSuccess, labels: agency, help: "Unix time of the last complete read of the agency (0 = never).")
                .set(row.lastSuccessAt?.timeIntervalSince1970 ?? 0)
            registry.makeGauge(name: Name.agencyLag, labels: agency, help: "Seconds since the point up to which everything of the agency was read.")
                .set(Double(row.lagSeconds ?? 0))
            registry.makeGauge(name: Name.agencyStaleAfter, labels: agency, help: "The agency's stale_after threshold, seconds.")
                .set(Double(row.staleAfterSeconds))
            registry.makeGauge(name: Name.agencyFailures, labels: agency, help: "Consecutive failed attempts with the agency.")
                .set(Double(row.consecutiveFailures))
            registry.makeGauge(name: Name.pendingOutbound, labels: agency, help: "Referrals changed but not yet delivered to the agency's intake.")
                .set(Double(row.pendingOutbound ?? 0))
            registry.makeGauge(name: Name.resyncRunning, labels: agency, help: "1 while an admin-requested resync of the agency runs.")
                .set(Double(row.resyncRunning ? 1 : 0))
        }
        if let node = status.certificate.nodeExpiresAt {
            registry.makeGauge(name: Name.certificateExpiry, labels: [("kind", "node")], help: "Unix time at which the certificate expires (kind: node, ca).")
                .set(node.timeIntervalSince1970)
        }
        if let ca = status.certificate.caExpiresAt {
            registry.makeGauge(name: Name.certificateExpiry, labels: [("kind", "ca")], help: "Unix time at which the certificate expires (kind: node, ca).")
                .set(ca.timeIntervalSince1970)
        }
        registry.makeGauge(name: Name.conflictsOpen, help: "Conflicts waiting for an admin's review.").set(Double(status.replica.openConflicts))
        registry.makeGauge(name: Name.quarantine, help: "Records held in quarantine.").set(Double(status.replica.quarantined))
        registry.makeGauge(name: Name.replicaRecords, labels: [("kind", "program")], help: "Records in the replica, by kind.").set(Double(status.replica.programs))
        registry.makeGauge(name: Name.replicaRecords, labels: [("kind", "referral")], help: "Records in the replica, by kind.").set(Double(status.replica.referrals))
        _ = registry.makeCounter(name: Name.conflictsTotal, help: "Conflicts detected (all states).")
        if let log = status.log {
            registry.makeGauge(name: Name.logLeaves, help: "Leaves in this agency's transparency log (signed versions and audit entries).").set(Double(log.size))
            registry.makeGauge(name: Name.logCosigners, help: "Witnesses whose cosignature is on the newest checkpoint of this agency's log.").set(Double(log.cosignedBy.count))
            registry.makeGauge(name: Name.logQuorum, help: "Cosignatures a checkpoint needs.").set(Double(log.quorum))
            registry.makeGauge(name: Name.logEquivocations, help: "Contradicting checkpoints this node holds proof of (any agency's log).").set(Double(log.equivocations))
        }
        if let webhooks = status.webhooks {
            registry.makeGauge(name: Name.webhookPending, help: "Webhook deliveries owed and not yet made.").set(Double(webhooks.pending))
            registry.makeGauge(name: Name.webhookOldestPending, help: "Age of the oldest webhook delivery owed, seconds (0 when none).").set(webhooks.oldestPendingSeconds)
            registry.makeGauge(name: Name.webhookFailed, help: "Webhook deliveries given up after the whole retry schedule.").set(Double(webhooks.failed))
            registry.makeGauge(name: Name.subscriptions, labels: [("state", "active")], help: "Webhook subscriptions by state.").set(Double(webhooks.activeSubscriptions))
            registry.makeGauge(name: Name.subscriptions, labels: [("state", "disabled")], help: "Webhook subscriptions by state.").set(Double(webhooks.disabledSubscriptions))
        }
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
