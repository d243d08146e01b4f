import ArgumentParser
import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore

/// `hanaro demo`: a whole federation on one machine, no set-up.
///
/// Today (foundation issue): six replicas, one per agency, in a temporary directory; each agency
/// publishes its programs and starts referrals; the nodes exchange their change feeds in process
/// (the mutual-TLS federation replaces this exchange in the federation issue), with a partition
/// between semas and kamco that heals, and a referral withdrawn by its origin while its target
/// marks it supported. A live table shows each node; the summary compares replica digests and the
/// command exits 0 only if every node converged to the same digest.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a six-agency federation on this machine and check that every node converges."
    )

    @Option(help: "How long to run (e.g. 30s, 2m).", transform: Demo.parseDuration)
    var duration: Double = 20

    @Option(help: "Programs each agency publishes.")
    var programs = 300

    @Option(help: "Seed of the synthetic data.")
    var seed: UInt64 = 2026

    static func parseDuration(_ text: String) throws -> Double {
        let scale: Double = text.hasSuffix("ms") ? 0.001 : text.hasSuffix("m") ? 60 : 1
        let number = text.trimmingCharacters(in: CharacterSet(charactersIn: "0123456789.").inverted)
        guard let value = Double(number), value > 0 else {
            throw ValidationError("--duration takes a positive duration such as 30s or 2m; got \(text)")
        }
        return value * scale
    }

    struct Node {
        let agency: AgencyID
        let replica: Replica
    }

    func run() async throws {
        let dir = NSTemporaryDirectory() + "hanaro-demo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var nodes: [Node] = []
        for agency in AgencyID.allCases {
            let key = try ReplicaKey.create(at: "\(dir)/\(agency.rawValue).key")
            nodes.append(Node(agency: agency, replica: try Replica(path: "\(dir)/\(agency.rawValue).sqlite", key: key)))
        }
        print("hanaro demo: six nodes in \(dir) (exchange in process; mutual TLS arrives with the federation issue)")
        var data = SyntheticData(seed: seed)
        let start = Date()
        let deadline = start.addingTimeInterval(duration)
        let partition = (from: start.addingTimeInterval(duration * 0.2), to: start.addingTimeInterval(duration * 0.5))
        var published = 0, referrals = 0, round = 0
        var conflictStaged = false
        // semas refers one owner to kamco up front: the partition will put them at odds over it.
        let contested = RecordKey(kind: .referral, owner: .semas, localID: "R-contested")
        var contestedDraft = data.referralDraft(origin: .semas, referralID: contested.localID)
        contestedDraft.target = .kamco
        contestedDraft.consent?.recipient = .kamco
        try await nodes[AgencyID.semas.index].replica.author(.createReferral(contestedDraft), key: contested, by: .semas)
        var lastTable = Date.distantPast

        while Date() < deadline {
            round += 1
            // Agencies publish (like their adapters would) and refer owners to each other.
            for node in nodes {
                let batch = (0..<min(25, max(0, programs - published / nodes.count))).map { _ in
                    let content = data.program(owner: node.agency, nativeID: String(format: "%06d", Int(data.rng.next() % 1_000_000)))
                    return AuthoredEdit(key: content.key, edit: .publishProgram(content))
                }
                try await node.replica.author(batch, by: node.agency, source: "adapter:\(node.agency.rawValue)")
                published += batch.count
                if round % 3 == 0 {
                    let id = "R-\(round)-\(node.agency.rawValue)"
                    let key = RecordKey(kind: .referral, owner: node.agency, localID: id)
                    try await node.replica.author(.createReferral(data.referralDraft(origin: node.agency, referralID: id)), key: key, by: node.agency)
                    referrals += 1
                }
            }
            // Targets move the referrals they hold along.
            for node in nodes {
                for change in try await node.replica.changes(after: 0, limit: 10_000).changes where change.version.key != contested {
                    guard let referral = change.version.referral, referral.target == node.agency else { continue }
                    let next: ReferralStatus? = switch referral.status {
                    case .sent: .received
                    case .received: .inConsultation
                    case .inConsultation: data.int(0...3) == 0 ? .declined : .supported
                    default: nil
                    }
                    if let next, data.int(0...2) == 0 {
                        try await node.replica.author(.setStatus(next), key: change.version.key, by: node.agency)
                    }
                }
            }
            // During the partition, semas withdraws a referral that kamco marks supported.
            let now = Date()
            let partitioned = now >= partition.from && now < partition.to
            if partitioned && !conflictStaged {
                conflictStaged = try await stageConflict(on: contested, nodes: nodes)
            }
            // Exchange: every node pulls every other node's feed, except across the partition.
            for target in nodes {
                for source in nodes where source.agency != target.agency {
                    if partitioned, Set([source.agency, target.agency]) == [.semas, .kamco] { continue }
                    try await pull(from: source, into: target)
                }
            }
            if Date().timeIntervalSince(lastTable) >= 1 {
                lastTable = Date()
                try await printTable(nodes: nodes, elapsed: Date().timeIntervalSince(start), partitioned: partitioned)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        // Quiesce: exchange until nothing moves.
        for _ in 0..<5 {
            for target in nodes { for source in nodes where source.agency != target.agency { try await pull(from: source, into: target) } }
        }
        try await printTable(nodes: nodes, elapsed: Date().timeIntervalSince(start), partitioned: false)
        let digests = try await nodes.asyncMap { try await $0.replica.digest() }
        let summary = try await nodes[0].replica.summary()
        let converged = Set(digests).count == 1
        print("""

        summary: \(summary.programs) programs, \(summary.referrals) referrals, \(summary.openConflicts) open conflict(s) on every node
        partition semas↔kamco healed; conflict staged: \(conflictStaged ? "yes" : "no")
        \(converged ? "converged: all six nodes hold digest \(digests[0].description.prefix(16))…" : "NOT converged: \(Set(digests).count) different digests")
        """)
        if !converged { throw ExitCode.failure }
    }

    /// Pulls everything new from `source` into `target`, checkpointed per peer.
    func pull(from source: Node, into target: Node) async throws {
        let stream = "peer:\(source.agency.rawValue)"
        var cursor = Int64(try await target.replica.checkpoint(stream) ?? "0") ?? 0
        while true {
            let page = try await source.replica.changes(after: cursor, limit: 500)
            if page.changes.isEmpty { return }
            try await target.replica.apply(page.changes.map(\.version), from: stream, checkpoint: Checkpoint(stream: stream, value: String(page.nextCursor)))
            cursor = page.nextCursor
            if !page.hasMore { return }
        }
    }

    /// With semas and kamco cut off from each other, kamco marks the contested referral supported
    /// while semas withdraws it: concurrent outcomes, resolved the same way on every node and
    /// flagged for review. Returns whether kamco already held the referral.
    func stageConflict(on key: RecordKey, nodes: [Node]) async throws -> Bool {
        let semas = nodes[AgencyID.semas.index], kamco = nodes[AgencyID.kamco.index]
        guard let referral = try await kamco.replica.record(key)?.referral else { return false }
        if referral.status == .sent { try await kamco.replica.author(.setStatus(.received), key: key, by: .kamco) }
        try await kamco.replica.author(.setStatus(.supported), key: key, by: .kamco)
        try await semas.replica.author(.setStatus(.withdrawn), key: key, by: .semas)
        print("  ⚡ during the partition kamco marked \(key) supported while semas withdrew it")
        return true
    }

    func printTable(nodes: [Node], elapsed: Double, partitioned: Bool) async throws {
        print(String(format: "t=%5.1fs %@", elapsed, partitioned ? "(semas↔kamco partitioned)" : ""))
        print("  node    programs  referrals  conflicts  quarantined  digest")
        for node in nodes {
            let s = try await node.replica.summary()
            print("  " + node.agency.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
                  + String(format: "  %8lld  %9lld  %9lld  %11lld  ", s.programs, s.referrals, s.openConflicts, s.quarantined)
                  + s.digest.prefix(12))
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
