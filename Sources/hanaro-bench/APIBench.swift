import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroFixtures
import HanaroStore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

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
    @Option(help: "Search requests per second over HTTP (open loop: latency counts from each request's scheduled time).") var rate = 200
    @Option(help: "Seconds of paced HTTP load.") var seconds = 10
    @Option(help: "Connections the HTTP client may open to the node (AsyncHTTPClient's default is 8; with more than api.max_concurrent_searches + api.max_queued_searches = 18, an overload meets the node's admission gate instead of queueing in the client).") var connections = 8
    @Option(help: "Also time in-process search with these ranking windows (the API's is ProgramQuery.rankWindow's default).") var windows: [Int] = []
    @Option(help: "Rounds of the apply comparison (each applies into a fresh replica with no, matching-nothing and owner-like subscriptions in turn, then with no and owner-like subscriptions and the writer alone, then both as a pull applies them).") var rounds = 3

    func run() async throws {
        print("# hanaro-bench api --programs \(programs) --queries \(queries) --answers \(answers) --subscriptions \(subscriptions) --applied \(applied) --rate \(rate) --seconds \(seconds) --connections \(connections)\(windows.map { " --windows \($0)" }.joined()) --rounds \(rounds)")
        let dir = NSTemporaryDirectory() + "hanaro-bench-api-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // HANARO_BENCH_KEEP=1 keeps the files (to try queries on them with sqlite3).
        defer { if ProcessInfo.processInfo.environment["HANARO_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: dir) } else { print("kept \(dir)") } }
        func replica(_ name: String, prework: Bool = true) throws -> Replica {
            var options = Replica.Options()
            options.preworkOnCores = prework
            return try Replica(path: "\(dir)/\(name).sqlite", key: try ReplicaKey.create(at: "\(dir)/\(name).key"), options: options)
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
        /// The same versions as a node's pull applies them: wire frames in pages of 1,000, the
        /// next page decoded and its index's work done (`Replica.prepare`) while the writer stores
        /// the one before (`PeerLink`'s read-ahead). The frames are encoded before the clock starts.
        func applyAsPull(_ replica: Replica, _ frames: [[[UInt8]]]) async throws -> Double {
            let start = monotonicSeconds()
            var prepared = replica.prepare(frames[0])
            for index in frames.indices {
                async let next: Replica.PreparedPage? = index + 1 < frames.count ? replica.prepare(frames[index + 1]) : nil
                try await replica.apply(prepared: prepared, from: .peer(.kodit))
                if let page = await next { prepared = page }
            }
            return Double(frames.reduce(0) { $0 + $1.count }) / (monotonicSeconds() - start)
        }
        func percentiles(_ samples: [Double]) -> String {
            let sorted = samples.sorted()
            return String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", milliseconds(sorted, 0.5), milliseconds(sorted, 0.99), sorted.last! * 1000, sorted.count)
        }

        // A replica of `programs` programs, applied as a peer's pages of 1,000.
        let big = try replica("big")
        let rate = try await apply(big, versions(programs, seed: 1, prefix: "p"))
        print(String(format: "seed: %d programs applied at %.0f rec/s (search index kept in the same transactions)", programs, rate))

        // Search: Korean words of the synthetic titles and summaries, one and two syllables, spacing, filters.
        let texts = ["창업", "소상공인 자금", "창", "컨설팅", "지원", "보증", "재도전", "수출 판로", "2026년", "교육"]
        var samples: [Double] = []
        var byKind: [String: [Double]] = [:]
        var byText: [String: [Double]] = [:]
        var hits = 0
        /// Query `i` of the timed mix: a third with a region, a fifth open on a day.
        func query(_ i: Int, window: Int = ProgramQuery().rankWindow) throws -> ProgramQuery {
            var query = ProgramQuery()
            query.text = texts[i % texts.count]
            query.rankWindow = window
            if i % 3 == 1 { query.region = try RegionCode(i % 2 == 0 ? "42" : "11") }
            if i % 5 == 2 { query.openOn = try LocalDate(year: 2026, month: 6, day: 15) }
            return query
        }
        for i in 0..<queries {
            let query = try query(i)
            let start = monotonicSeconds()
            hits += try await big.searchPrograms(query).items.count
            samples.append(monotonicSeconds() - start)
            byKind[query.region != nil ? "with region" : query.openOn != nil ? "with open_on" : "text alone", default: []].append(samples.last!)
            byText[query.text!, default: []].append(samples.last!)
        }
        print("search (limit 20, 10 queries, some with region/open_on): \(percentiles(samples)); \(hits) hits")
        for (kind, kept) in byKind.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(percentiles(kept))") }
        for text in texts { print("  q=\(text) (every filter): \(percentiles(byText[text] ?? []))") }
        samples = []
        for _ in 0..<200 {
            let start = monotonicSeconds()
            hits += try await big.searchPrograms(ProgramQuery()).items.count
            samples.append(monotonicSeconds() - start)
        }
        print("list without text (20 programs by key, each read and decoded as search returns them): \(percentiles(samples))")
        for window in windows {
            samples = []
            for i in 0..<queries {
                let query = try query(i, window: window)
                let start = monotonicSeconds()
                hits += try await big.searchPrograms(query).items.count
                samples.append(monotonicSeconds() - start)
            }
            print("search, ranking window \(window): \(percentiles(samples))")
        }

        // Eligibility: every program's criteria against one profile, as the API answers.
        samples = []
        var outcomes = [0, 0, 0]
        let profile = BusinessProfile(region: try RegionCode("51"), businessAgeMonths: 18, employees: 4, ownerAge: 35)
        for _ in 0..<answers {
            let start = monotonicSeconds()
            // As the API answers: every program's class (details only for a page).
            let scan = try await big.classifyPrograms(for: profile)
            outcomes[0] += scan.eligible.count
            outcomes[1] += scan.unknown.count
            outcomes[2] += scan.ineligible.count
            samples.append(monotonicSeconds() - start)
        }
        print("eligibility over \(programs) programs: \(percentiles(samples)); per answer \(outcomes[0] / answers) eligible, \(outcomes[1] / answers) unknown, \(outcomes[2] / answers) ineligible")

        try await overHTTP(big)
        try await webhookLatency(big)

        // Apply with and without subscriptions, the same versions into fresh replicas: 10,000
        // subscriptions that match nothing (the matching cost alone), and 10,000 like a business
        // owner's (a profile and a two-word phrase of a program title, so a few match each program).
        let fresh = versions(applied, seed: 2, prefix: "q")
        var data = SyntheticData(seed: 3)
        let none = (0..<subscriptions).map { i in
            SubscriptionFilter(events: [.programMatched], keywords: ["없는말\(i)"], agency: i % 4 == 0 ? AgencyID.allCases[i % 6] : nil)
        }
        var owners: [SubscriptionFilter] = []
        for i in 0..<subscriptions {
            let profile = BusinessProfile(region: try RegionCode(data.pick(Array(RegionCode.provinces.keys).sorted())), industry: nil,
                                          businessAgeMonths: Int64(data.int(1...120)), employees: Int64(data.int(1...20)), revenueKRW: Int64(data.int(1...50)) * 100_000_000,
                                          ownerAge: Int64(data.int(20...70)))
            let phrase = data.pick(SyntheticData.programWords) + data.pick(SyntheticData.programWords)
            owners.append(SubscriptionFilter(events: [.programMatched], profile: profile, keywords: [phrase], agency: i % 4 == 0 ? AgencyID.allCases[i % 6] : nil))
        }
        // The three set-ups in turn, `rounds` times, each into a fresh replica: one apply of 20,000
        // takes ~4 s, and this machine's speed drifts by ±12 % over a minute, so one run of each
        // compared runs at different speeds. The ratios are of the medians.
        // Set-ups 3 and 4 repeat 0 and 2 with the writer doing the index's work alone
        // (`Replica.Options.preworkOnCores` off), so the prework's gain is measured in the same minutes.
        // Set-ups 5 and 6 apply as a pull does, pages prepared ahead (`applyAsPull`).
        let setups: [(filters: [SubscriptionFilter], prework: Bool, pull: Bool)] = [
            ([], true, false), (none, true, false), (owners, true, false), ([], false, false), (owners, false, false), ([], true, true), (owners, true, true),
        ]
        let frames = stride(from: 0, to: fresh.count, by: 1000).map { fresh[$0 ..< min(fresh.count, $0 + 1000)].map(\.canonicalBytes) }
        var rates: [[Double]] = Array(repeating: [], count: setups.count)
        var digests: [ReplicaDigest] = []
        var queued: [Int64] = Array(repeating: 0, count: setups.count)
        var creating: [Double] = Array(repeating: 0, count: setups.count)
        for round in 0..<rounds {
            for (setup, (filters, prework, pull)) in setups.enumerated() {
                let target = try replica("apply-\(round)-\(setup)", prework: prework)
                let created = monotonicSeconds()
                for filter in filters {
                    _ = try await target.createSubscription(client: "bench", url: "https://127.0.0.1/hook", secret: "whsec_x", filter: filter,
                                                            audit: AuditNote(actor: "bench", action: "api.subscription.create", target: "", outcome: "ok", detail: ""))
                }
                creating[setup] = monotonicSeconds() - created
                rates[setup].append(pull ? try await applyAsPull(target, frames) : try await apply(target, fresh))
                queued[setup] = Int64(try await target.outboxSummary().pending)
                if round == 0 { digests.append(try await target.digest()) }
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func list(_ values: [Double]) -> String { values.map { String(format: "%.0f", $0) }.joined(separator: ", ") }
        let without = median(rates[0])
        print(String(format: "apply %d new programs, no subscriptions: median %.0f rec/s (%@)", applied, without, list(rates[0]) as NSString))
        for (setup, label) in [(1, "matching nothing"), (2, "owner-like (profile + title phrase)")] {
            let with = median(rates[setup])
            print(String(format: "apply %d new programs, %d subscriptions %@: median %.0f rec/s (%@) = %.2f× of none; %lld deliveries queued, %.1f per program; creating them took %.1f s",
                         applied, subscriptions, label as NSString, with, list(rates[setup]) as NSString, with / without, queued[setup], Double(queued[setup]) / Double(applied), creating[setup]))
            print("  digests equal to the replica without subscriptions: \(digests[setup] == digests[0])")
        }
        let alone = median(rates[3])
        print(String(format: "the writer alone (no prework on the cores): no subscriptions median %.0f rec/s (%@); owner-like median %.0f rec/s (%@) = %.2f× of none; prework's gain: none %.2f×, owner-like %.2f×",
                     alone, list(rates[3]) as NSString, median(rates[4]), list(rates[4]) as NSString, median(rates[4]) / alone,
                     without / alone, median(rates[2]) / median(rates[4])))
        print("  digests equal to the replica with the prework: \(digests[3] == digests[0] && digests[4] == digests[2])")
        let pulled = median(rates[5])
        print(String(format: "as a pull applies (frames in pages of 1,000, the next prepared while one is stored): no subscriptions median %.0f rec/s (%@); owner-like median %.0f rec/s (%@) = %.2f× of none; %lld deliveries queued",
                     pulled, list(rates[5]) as NSString, median(rates[6]), list(rates[6]) as NSString, median(rates[6]) / pulled, queued[6]))
        print("  digests equal to the replicas applied in memory: \(digests[5] == digests[0] && digests[6] == digests[2])")
    }

    /// The Agency API's listener on loopback over `replica`, and paced requests through
    /// AsyncHTTPClient: searches at `rate` per second, then eligibility answers at 20 per second.
    func overHTTP(_ replica: Replica) async throws {
        let secret = APIToken.generateSecret()
        let token = APIToken(name: "bench", scopes: [.read], sha256: Array(SHA256.hash(data: Data(secret.utf8))))
        let logger = Logger(label: "bench")
        let api = AgencyAPI(agency: .semas, configuration: APIConfiguration(host: "127.0.0.1", port: 0, tokens: [token]), replica: replica,
                            metrics: HanaroMetrics(version: "bench"), logger: logger)
        let ports = AsyncStream<Int>.makeStream()
        let app = try api.application(host: "127.0.0.1", port: 0, connections: ConnectionGuard(listener: "api"), onRunning: { ports.continuation.yield($0) })
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.stream.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            let base = "http://127.0.0.1:\(port)"
            let searches = ["창업", "소상공인%20자금", "창", "컨설팅", "지원", "보증", "재도전", "수출%20판로", "2026년", "교육"].map { text in
                "/v1/programs?q=" + (text.removingPercentEncoding ?? text).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            }
            let searchLatencies = try await paced(client, base: base, secret: secret, rate: rate, count: rate * seconds) { i in
                (searches[i % searches.count] + (i % 3 == 1 ? "&region=42" : ""), nil)
            }
            print("HTTP search at \(rate)/s for \(seconds) s: \(searchLatencies)")
            let profile = #"{"profile":{"region":"51","business_age_months":18,"employees":4,"owner_age":35},"limit":100}"#
            let eligibilityLatencies = try await paced(client, base: base, secret: secret, rate: 20, count: 20 * seconds) { _ in ("/v1/eligibility", profile) }
            print("HTTP eligibility at 20/s for \(seconds) s: \(eligibilityLatencies)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await client.shutdown()
    }

    /// From a version applied to its webhook received: 200 matching programs applied at 10 per
    /// second into `replica`, delivered by the node's `WebhookService` to the repository's Python
    /// receiver (`ops/api/webhook_receiver.py`, which stamps each delivery on arrival).
    func webhookLatency(_ replica: Replica) async throws {
        let script = FileManager.default.currentDirectoryPath + "/ops/api/webhook_receiver.py"
        guard FileManager.default.fileExists(atPath: script) else {
            print("webhook latency: not measured — run hanaro-bench from the repository root (it starts ops/api/webhook_receiver.py)")
            return
        }
        let secret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let log = NSTemporaryDirectory() + "hanaro-bench-webhooks-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", script, "--secret", secret, "--log", log]
        let out = Pipe()
        receiver.standardOutput = out
        try receiver.run()
        defer { receiver.terminate() }  // the receiver restores SIGTERM's default (this process ignores it)
        guard let line = String(data: out.fileHandleForReading.availableData, encoding: .utf8), let port = line.split(separator: ":").last.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) else {
            print("webhook latency: the receiver did not start")
            return
        }
        _ = try await replica.createSubscription(client: "bench", url: "http://127.0.0.1:\(port)/hook", secret: secret,
                                                 filter: SubscriptionFilter(events: [.programMatched], keywords: ["웹훅측정"]),
                                                 audit: AuditNote(actor: "bench", action: "api.subscription.create", target: "", outcome: "ok", detail: ""))
        let logger = Logger(label: "bench")
        let group = ServiceGroup(services: [WebhookService(replica: replica, signer: nil, metrics: HanaroMetrics(version: "bench"), logger: logger)],
                                 gracefulShutdownSignals: [], logger: logger)
        let count = 200
        let applied = Samples()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var data = SyntheticData(seed: 9)
            for i in 0..<count {
                var program = data.program(owner: .kodit, nativeID: "w\(i)")
                program.title = "웹훅측정 \(i)"
                try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .kodit)
                let at = Date().timeIntervalSince1970
                applied.latencies.withLock { $0.append(at) }
                try await Task.sleep(for: .milliseconds(100))
            }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
                if lines.count >= count { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let appliedAt = applied.latencies.withLock { $0 }
        var delays: [Double] = []
        for line in ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let received = object["received_at"] as? Double,
                  let payload = object["payload"] as? [String: Any], let id = (payload["data"] as? [String: Any])?["id"] as? String,
                  let index = Int(id.dropFirst()), index < appliedAt.count, object["signature_ok"] as? Bool == true else { continue }
            delays.append(received - appliedAt[index])
        }
        guard !delays.isEmpty else {
            print("webhook latency: no delivery arrived")
            return
        }
        let sorted = delays.sorted()
        func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
        print(String(format: "webhook, applied → received (signature checked by the receiver): p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d of %d delivered)",
                     at(0.5), at(0.99), sorted.last! * 1000, delays.count, count))
    }

    /// Sends `count` requests at `rate` per second, each at its scheduled time whatever the
    /// previous ones do, and reports latency from the scheduled time (no coordinated omission).
    func paced(_ client: HTTPClient, base: String, secret: String, rate: Int, count: Int,
               _ request: @escaping @Sendable (Int) -> (String, String?)) async throws -> String {
        let samples = Samples()
        let start = monotonicSeconds()
        await withTaskGroup(of: Void.self) { tasks in
            for i in 0..<count {
                let due = start + Double(i) / Double(rate)
                let wait = due - monotonicSeconds()
                if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                tasks.addTask {
                    let (path, body) = request(i)
                    var call = HTTPClientRequest(url: base + path)
                    call.headers.add(name: "authorization", value: "Bearer \(secret)")
                    if let body {
                        call.method = .POST
                        call.headers.add(name: "content-type", value: "application/json")
                        call.body = .bytes(ByteBuffer(string: body))
                    }
                    var answered = false
                    do {
                        let response = try await client.execute(call, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 16 << 20)
                        answered = response.status.code == 200
                        if !answered { samples.failures.withLock { $0["HTTP \(response.status.code)", default: 0] += 1 } }
                    } catch {
                        samples.failures.withLock { $0["\(type(of: error)): \(error)".prefix(80).description, default: 0] += 1 }
                    }
                    let latency = monotonicSeconds() - due
                    samples.latencies.withLock { $0.append(latency) }
                    if answered { samples.answered.withLock { $0.append(latency) } }
                }
            }
        }
        let sorted = samples.latencies.withLock { $0 }.sorted()
        let failures = samples.failures.withLock { $0 }
        let reasons = failures.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: "; ")
        var line = String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d, %d not 200", milliseconds(sorted, 0.5), milliseconds(sorted, 0.99), sorted.last! * 1000, sorted.count, failures.values.reduce(0, +))
            + (reasons.isEmpty ? ")" : ": \(reasons))")
        // With refusals (503 busy from the admission gate), the answered requests' own figures.
        let answered = samples.answered.withLock { $0 }.sorted()
        if !answered.isEmpty, answered.count < sorted.count {
            line += String(format: "; the %d answered 200: p50 %.2f ms, p99 %.2f ms, max %.2f ms", answered.count, milliseconds(answered, 0.5), milliseconds(answered, 0.99), answered.last! * 1000)
        }
        return line
    }
}

/// The `p` quantile of sorted latencies in seconds, in milliseconds.
func milliseconds(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
}

/// Latencies and failures of paced requests, shared by their tasks.
final class Samples: Sendable {
    let latencies = Mutex<[Double]>([])
    /// The latencies of requests answered 200.
    let answered = Mutex<[Double]>([])
    /// Requests not answered 200, by status or error.
    let failures = Mutex<[String: Int]>([:])
}
