import HanaroTesting
import Testing
import HanaroCore
import HanaroFixtures

/// Property tests of the merge: random edit histories on several in-memory replicas, then the
/// semilattice laws over the states they passed through. Seeded: a failure prints its seed, and
/// `HANARO_SEED=<n> swift test --filter MergeLaw` replays it.
@Suite("Merge laws")
struct MergeLawTests {
    static let seeds: [UInt64] = PropertySeeds.seeds(default: [1, 2, 3, 42, 2026])

    /// Runs a random history and returns, per key, every state any replica held.
    static func history(seed: UInt64, replicas: Int, steps: Int) -> [RecordKey: [RecordVersion]] {
        let agencies = (0..<replicas).map { AgencyID(index: $0 % AgencyID.allCases.count)! }
        var editor = RandomEditor(seed: seed, agencies: Array(Set(agencies)).sorted())
        let keys = editor.keys
        var stores = [[RecordKey: RecordVersion]](repeating: [:], count: replicas)
        var clocks = [HybridLogicalClock](repeating: HybridLogicalClock(), count: replicas)
        var seen: [RecordKey: [RecordVersion]] = [:]
        var now: UInt64 = 1_790_000_000_000
        for _ in 0..<steps {
            now += UInt64(editor.data.int(0...5))
            let r = editor.data.int(0...(replicas - 1))
            let key = keys[editor.data.int(0...(keys.count - 1))]
            if editor.data.int(0...2) == 0 {
                // Sync one record from another replica.
                let from = editor.data.int(0...(replicas - 1))
                if let theirs = stores[from][key] {
                    let merged = (try? stores[r][key]?.merged(with: theirs)) ?? theirs
                    stores[r][key] = merged
                    seen[key, default: []].append(merged)
                }
                continue
            }
            // Some replicas act for an agency that is neither owner nor party: they only sync.
            guard let edit = editor.edit(key, current: stores[r][key], by: agencies[r]) else { continue }
            let skew = UInt64(editor.data.int(0...3))
            let stamp = clocks[r].tick(physicalMilliseconds: now - skew)
            if let version = try? RecordVersion.authoring(edit, on: stores[r][key], key: key, by: agencies[r], clock: stamp) {
                stores[r][key] = version
                seen[key, default: []].append(version)
            }
        }
        return seen
    }

    @Test("merge is commutative, associative and idempotent", arguments: seeds)
    func laws(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        let states = Self.history(seed: seed, replicas: 6, steps: 1500)
        #expect(!states.isEmpty, "seed \(seed)")
        var checked = 0
        for (_, versions) in states where versions.count >= 3 {
            for _ in 0..<30 {
                let a = versions[Int(rng.next() % UInt64(versions.count))]
                let b = versions[Int(rng.next() % UInt64(versions.count))]
                let c = versions[Int(rng.next() % UInt64(versions.count))]
                let ab = try a.merged(with: b)
                #expect(ab == (try b.merged(with: a)), "commutativity, seed \(seed), key \(a.key)")
                #expect(try ab.merged(with: c) == (try a.merged(with: b.merged(with: c))), "associativity, seed \(seed), key \(a.key)")
                #expect(try a.merged(with: a) == a, "idempotence, seed \(seed), key \(a.key)")
                #expect(try a.merged(with: ab) == ab, "absorption, seed \(seed), key \(a.key)")
                #expect(ab.conflicts == (try b.merged(with: a)).conflicts, "conflict reports agree, seed \(seed)")
                checked += 1
            }
        }
        #expect(checked > 100, "seed \(seed) produced too few states to test (\(checked))")
    }

    @Test("the random histories do produce collisions (the laws are tested where it matters)", arguments: seeds)
    func historiesCollide(seed: UInt64) throws {
        let states = Self.history(seed: seed, replicas: 6, steps: 1500)
        // Folding a key's whole history forwards and backwards gives one state.
        for (key, versions) in states {
            let forwards = try versions.dropFirst().reduce(versions[0]) { try $0.merged(with: $1) }
            let backwards = try versions.reversed().dropFirst().reduce(versions.last!) { try $0.merged(with: $1) }
            #expect(forwards == backwards, "seed \(seed), key \(key)")
        }
        let concurrent = states.values.contains { versions in
            versions.indices.contains { i in versions[(i + 1)...].contains { versions[i].relation(to: $0) == .concurrent } }
        }
        #expect(concurrent, "seed \(seed): no concurrent versions were generated")
    }
}

/// Seeds for property tests: `HANARO_SEED` replays one seed; otherwise the defaults run.
enum PropertySeeds {
    static func seeds(default defaults: [UInt64]) -> [UInt64] {
        if let text = Environment.value("HANARO_SEED"), let seed = UInt64(text) { return [seed] }
        return defaults
    }
}
