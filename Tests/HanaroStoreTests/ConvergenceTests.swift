import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

/// The property at the heart of Hanaro: replicas that edit concurrently and exchange their change
/// feeds in random partial pages — reordered, duplicated, re-delivered — end with the same
/// digest, the same records and the same conflicts. Real SQLite files, seeded:
/// `HANARO_SEED=<n> swift test --filter Convergence` replays a failure.
@Suite("Convergence of replicas")
struct ConvergenceTests {
    static let seeds: [UInt64] = {
        if let text = ProcessInfo.processInfo.environment["HANARO_SEED"], let seed = UInt64(text) { return [seed] }
        return [1, 2, 3, 4, 5]
    }()

    struct Node {
        let replica: Replica
        let agency: AgencyID
        let clock: ManualClock
    }

    /// Pulls one page of `source`'s feed into `target`, perturbed: shuffled, with duplicates,
    /// and sometimes without advancing the checkpoint (so the page is delivered again later).
    static func pull(_ source: Node, into target: Node, sourceIndex: Int, limit: Int, rng: inout SplitMix64, perturb: Bool) async throws -> (moved: Bool, merges: Int) {
        let stream = StreamID.tool("source-\(sourceIndex)")
        let cursor = Int64(try await target.replica.checkpoint(stream) ?? "0")!
        let page = try await source.replica.changes(after: cursor, limit: limit)
        guard !page.changes.isEmpty else { return (false, 0) }
        // As the federation serves it: personal fields only to the parties entitled to them.
        var batch = page.changes.map { $0.version.shared(with: target.agency) }
        var advance = true
        if perturb {
            batch.shuffle(using: &rng)
            if rng.next() % 3 == 0, let extra = batch.randomElement(using: &rng) { batch.append(extra) }
            advance = rng.next() % 4 != 0
        }
        let outcomes = try await target.replica.apply(batch, from: stream,
                                                      checkpoint: advance ? Checkpoint(stream: stream, value: String(page.nextCursor)) : nil)
        var merges = 0
        for outcome in outcomes {
            if case .quarantined(let error) = outcome { Issue.record("a valid peer version was quarantined: \(error)") }
            if case .merged = outcome { merges += 1 }
        }
        return (true, merges)
    }

    @Test("random edits and partial, reordered, duplicated syncs converge", arguments: seeds)
    func converge(seed: UInt64) async throws {
        let dir = TemporaryDirectory()
        let count = 2 + Int(seed % 5)
        var nodes: [Node] = []
        for i in 0..<count {
            let clock = ManualClock(wallMilliseconds: 1_790_000_000_000 + UInt64(i) * 7)
            nodes.append(Node(replica: try Replica.temporary(in: dir, name: "r\(i).sqlite", clock: clock),
                              agency: AgencyID(index: i % AgencyID.allCases.count)!, clock: clock))
        }
        var editor = RandomEditor(seed: seed, agencies: nodes.map(\.agency))
        var rng = SplitMix64(seed: seed &* 31)
        let keys = editor.keys
        var edits = 0
        var merges = 0
        for _ in 0..<500 {
            let r = Int(rng.next() % UInt64(count))
            nodes[r].clock.advance(milliseconds: rng.next() % 4)
            if rng.next() % 5 < 3 {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                let current = try await nodes[r].replica.record(key)
                guard let edit = editor.edit(key, current: current, by: nodes[r].agency) else { continue }
                let refused: Bool
                do {
                    try await nodes[r].replica.author(edit, key: key, by: nodes[r].agency)
                    refused = false
                } catch {
                    // The rules may refuse a random edit (e.g. consent withdrawn before purge);
                    // anything else is a real failure.
                    guard error.code == .invalidRequest else { throw error }
                    refused = true
                }
                if !refused { edits += 1 }
            } else {
                let s = Int(rng.next() % UInt64(count))
                guard s != r else { continue }
                merges += try await Self.pull(nodes[s], into: nodes[r], sourceIndex: s, limit: 1 + Int(rng.next() % 5), rng: &rng, perturb: true).merges
            }
        }
        #expect(edits > 40, "seed \(seed): too few edits (\(edits)) to mean anything")
        #expect(merges > 0, "seed \(seed): no concurrent versions met, so the merge was not exercised")

        // Heal: everyone pulls everything from everyone until nothing moves.
        var rounds = 0
        var moved = true
        while moved && rounds < 20 {
            moved = false
            rounds += 1
            for r in 0..<count {
                for s in 0..<count where s != r {
                    while try await Self.pull(nodes[s], into: nodes[r], sourceIndex: s, limit: 50, rng: &rng, perturb: false).moved { moved = true }
                }
            }
        }

        let digests = try await nodes.asyncMap { try await $0.replica.digest() }
        #expect(Set(digests).count == 1, "seed \(seed): digests differ after healing: \(digests)")
        var snapshots: [[RecordVersion]] = []
        var conflictIDs: [Set<String>] = []
        for node in nodes {
            #expect(try await node.replica.recomputeDigest() == (try await node.replica.digest()), "seed \(seed): running digest drifted")
            let all = try await node.replica.changes(after: 0, limit: 10_000).changes.map(\.version).sorted { $0.key < $1.key }
            snapshots.append(all)
            let open = try await node.replica.conflicts(state: .open, limit: 10_000)
            conflictIDs.append(Set(open.map(\.conflictID)))
            // The open conflict log is exactly the collisions the converged state holds.
            #expect(Set(open.map(\.conflictID)) == Set(all.flatMap(\.conflicts).map(\.id)), "seed \(seed): conflict log out of step with state")
        }
        // Every replica holds the same shareable state; the parties of each referral hold the same
        // personal fields, and no one else holds any.
        func shareable(_ version: RecordVersion) -> RecordVersion {
            guard case .referral(let referral) = version.body else { return version }
            var copy = version
            copy.body = .referral(referral.withholdingPersonalFields)
            return copy
        }
        for i in 0..<count {
            for version in snapshots[i] {
                guard let referral = version.referral else { continue }
                let holdsFields = referral.personal.entries.contains { $0.value.fields != nil }
                if holdsFields {
                    #expect(referral.mayHoldPersonalFields(nodes[i].agency), "seed \(seed): \(nodes[i].agency) holds personal fields of \(version.key)")
                }
                for j in 0..<count where j != i && nodes[j].agency == (nodes[i].agency == referral.origin ? referral.target : referral.origin)
                    && referral.mayHoldPersonalFields(nodes[i].agency) && referral.mayHoldPersonalFields(nodes[j].agency) {
                    #expect(snapshots[j].first { $0.key == version.key } == version, "seed \(seed): parties disagree on \(version.key)")
                }
            }
        }
        for i in 1..<count {
            #expect(snapshots[i].map(shareable) == snapshots[0].map(shareable), "seed \(seed): replica \(i) holds different records")
            #expect(conflictIDs[i] == conflictIDs[0], "seed \(seed): conflict reports differ")
        }
        // Reports of the same conflict agree field for field on every replica that logged it.
        var byID: [String: ConflictEntry] = [:]
        for node in nodes {
            for entry in try await node.replica.conflicts(limit: 10_000) {
                if let seen = byID[entry.conflictID] {
                    #expect(seen.differingFields == entry.differingFields && seen.kept == entry.kept, "seed \(seed): \(entry.conflictID)")
                } else {
                    byID[entry.conflictID] = entry
                }
            }
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
