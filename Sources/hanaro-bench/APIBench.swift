import ArgumentParser
import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore

/// The Agency API's store work, in process: program search latency over a large replica,
/// eligibility answers over every program, and apply throughput with and without 10,000 webhook
/// subscriptions matched in the apply transaction (issue 12's targets). HTTP is not in these
/// figures: the router adds JSON encoding and a loopback round trip (see docs/BENCHMARKS.md).
struct APIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Search, eligibility and apply-with-subscriptions, in process.")
    @Option(help: "Programs in the replica.") var programs = 100_000
    @Option(help: "Searches to time.") var queries = 2_000
    @Option(help: "Eligibility answers to time.") var answers = 50
    @Option(help: "Subscriptions for the apply comparison.") var subscriptions = 10_000
    @Option(help: "Program versions applied in the apply comparison.") var applied = 20_000

    func run() async throws {
        print("# hanaro-bench api --programs \(programs) --queries \(queries) --answers \(answers) --subscriptions \(subscriptions) --applied \(applied)")
        let dir = NSTemporaryDirectory() + "hanaro-bench-api-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func replica(_ name: String) throws -> Replica {
            try Replica(path: "\(dir)/\(name).sqlite", key: try ReplicaKey.create(at: "\(dir)/\(name).key"))
        }
        func versions(_ count: Int, seed: UInt64, prefix: String) -> [RecordVersion] {
            var data = SyntheticData(seed: seed)
            return (0..<count).map { i in
                data.programVersion(owner: AgencyID.allCases[i % 6], nativeID: "\(prefix)\(i)", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000 + UInt64(i)))
            }
        }
        func apply(_ replica: Replica, _ all: [RecordVersion]) async throws -> Double {
            let start = monotonicSeconds()
            for batch in stride(from: 0, to: all.count, by: 1000) {
                try await replica.apply(Array(all[batch..<min(all.count, batch + 1000)]), from: .peer(.kodit))
            }
            return Double(all.count) / (monotonicSeconds() - start)
        }
        func percentiles(_ samples: [Double]) -> String {
            let sorted = samples.sorted()
            func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
            return String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", at(0.5), at(0.99), sorted.last! * 1000, sorted.count)
        }

        // A replica of `programs` programs, applied as a peer's pages of 1,000.
        let big = try replica("big")
        let rate = try await apply(big, versions(programs, seed: 1, prefix: "p"))
        print(String(format: "seed: %d programs applied at %.0f rec/s (search index kept in the same transactions)", programs, rate))

        // Search: Korean words of the synthetic titles and summaries, one and two syllables, spacing, filters.
        let texts = ["창업", "소상공인 자금", "창", "컨설팅", "지원", "보증", "재도전", "수출 판로", "2026년", "교육"]
        var samples: [Double] = []
        var hits = 0
        for i in 0..<queries {
            var query = ProgramQuery()
            query.text = texts[i % texts.count]
            if i % 3 == 1 { query.region = try RegionCode(i % 2 == 0 ? "42" : "11") }
            if i % 5 == 2 { query.openOn = try LocalDate(year: 2026, month: 6, day: 15) }
            let start = monotonicSeconds()
            hits += try await big.searchPrograms(query).items.count
            samples.append(monotonicSeconds() - start)
        }
        print("search (limit 20, 10 queries, some with region/open_on): \(percentiles(samples)); \(hits) hits")

        // Eligibility: every program's criteria against one profile, as the API answers.
        samples = []
        var outcomes = [0, 0, 0]
        let profile = BusinessProfile(region: try RegionCode("51"), businessAgeMonths: 18, employees: 4, ownerAge: 35)
        for _ in 0..<answers {
            let start = monotonicSeconds()
            for criteria in try await big.programCriteria() {
                switch criteria.eligibility.check(profile) {
                case .eligible: outcomes[0] += 1
                case .unknown: outcomes[1] += 1
                case .ineligible: outcomes[2] += 1
                }
            }
            samples.append(monotonicSeconds() - start)
        }
        print("eligibility over \(programs) programs: \(percentiles(samples)); per answer \(outcomes[0] / answers) eligible, \(outcomes[1] / answers) unknown, \(outcomes[2] / answers) ineligible")

        // Apply with and without subscriptions, the same versions into two fresh replicas.
        let fresh = versions(applied, seed: 2, prefix: "q")
        let plain = try replica("plain")
        let withSubscriptions = try replica("subscribed")
        var data = SyntheticData(seed: 3)
        let words = ["창업", "자금", "수출", "컨설팅", "재도전", "교육", "보증", "판로"]
        for i in 0..<subscriptions {
            let profile = i % 2 == 0 ? BusinessProfile(region: try RegionCode(data.pick(["11", "26", "41", "51"])), businessAgeMonths: Int64(data.int(1...120))) : nil
            let filter = SubscriptionFilter(events: [.programMatched], profile: profile, keywords: i % 3 == 0 ? [] : [data.pick(words)],
                                            agency: i % 4 == 0 ? data.pick(AgencyID.allCases) : nil)
            _ = try await withSubscriptions.createSubscription(client: "bench", url: "https://127.0.0.1/hook", secret: "whsec_x", filter: filter,
                                                               audit: AuditNote(actor: "bench", action: "api.subscription.create", target: "", outcome: "ok", detail: ""))
        }
        let without = try await apply(plain, fresh)
        let with = try await apply(withSubscriptions, fresh)
        let owed = try await withSubscriptions.outboxSummary().pending
        print(String(format: "apply %d new programs: %.0f rec/s without subscriptions, %.0f rec/s with %d (%.2f×; %lld deliveries queued)",
                     applied, without, with, subscriptions, with / without, owed))
        let (a, b) = (try await plain.digest(), try await withSubscriptions.digest())
        print("digests equal: \(a == b)")
    }
}
