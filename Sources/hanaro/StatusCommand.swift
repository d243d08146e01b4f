import ArgumentParser
import Foundation
import HanaroDaemon
import NIOHTTP1

/// `hanaro status [--json]`: the local node's freshness table, one row per agency.
/// Exit 0 when every agency is fresh, 1 when some is stale, failing or never read, 2 when the
/// node cannot be reached.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the node's freshness table (exit 0 all fresh, 1 some stale/degraded/failing/never, 2 node unreachable).")

    @OptionGroup var connection: NodeConnection

    @Flag(help: "Print the status report as JSON (the status port's /status).")
    var json = false

    func run() async throws {
        let (statusURL, _) = await connection.resolve()
        let (code, data) = await AdminClient.raw(.GET, statusURL + "/status", unreachable: "cannot reach the node's status port at \(statusURL)")
        guard code == 200 else { fail("the status port at \(statusURL) answered HTTP \(code)", code: 2) }
        guard let report = try? NodeStatusReport.decoder.decode(NodeStatusReport.self, from: data) else {
            fail("the status port at \(statusURL) did not answer a Hanaro status report", code: 2)
        }
        if json {
            Output.write(bytes: Array(data) + [0x0A])
        } else {
            Output.line(Self.table(report))
        }
        throw ExitCode(report.exitStatus)
    }

    /// The freshness table, as an operator reads it.
    static func table(_ report: NodeStatusReport) -> String {
        var lines = ["node \(report.node) · hanaro \(report.version) · up \(duration(report.uptimeSeconds)) · \(report.ready ? "ready" : "NOT READY: \(report.notReadyReason ?? "")")",
                     "replica: \(report.replica.programs) programs, \(report.replica.referrals) referrals, \(report.replica.openConflicts) open conflicts, \(report.replica.quarantined) quarantined · digest \(report.replica.digest.prefix(16))",
                     ""]
        let header = ["AGENCY", "VIA", "STATE", "LAST SUCCESS", "LAG", "FAILS", "PENDING", "LAST ERROR"]
        var rows = [header]
        let formatter = ISO8601DateFormatter()
        for row in report.agencies {
            rows.append([row.agency, row.via, row.state.rawValue.uppercased(), row.lastSuccessAt.map { formatter.string(from: $0) } ?? "-",
                         row.lagSeconds.map(duration) ?? "-", String(row.consecutiveFailures), row.pendingOutbound.map(String.init) ?? "-",
                         String((row.lastError ?? "").prefix(70))])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        return lines.joined(separator: "\n")
    }

    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<120: "\(seconds)s"
        case ..<7200: "\(seconds / 60)m"
        case ..<172_800: "\(seconds / 3600)h"
        default: "\(seconds / 86_400)d"
        }
    }
}
