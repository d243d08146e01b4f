import Foundation
import HanaroCore
@testable import HanaroDaemon
import HanaroStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Admission for the Agency API's search and eligibility: the gate's own rules, then the answers
/// a client sees through the router when the gate is full (503, `Retry-After`, problem+json) and
/// once it frees (200), with the refusals counted and the other routes untouched.
@Suite("Agency API admission")
struct AdmissionTests {
    @Test("the gate: a free slot admits at once; then waiters in order up to the queue; a full queue refuses at once")
    func order() async throws {
        let gate = AdmissionGate(limit: 2, queue: 2, maxWait: .seconds(60))
        #expect(await gate.enter() == .admitted)
        #expect(await gate.enter() == .admitted)
        #expect(gate.load == (2, 0))
        let admittedOrder = Admitted()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0 ..< 2 {
                group.addTask {
                    #expect(await gate.enter() == .admitted)
                    admittedOrder.order.withLock { $0.append(index) }
                }
                // The waiters queue in the order they came.
                try await waitUntil { gate.load.waiting == index + 1 }
            }
            // Two running, two waiting: the next is refused without waiting (a wrong gate would
            // queue it: the answer is awaited with a deadline, not forever).
            #expect(try await answer(within: .seconds(5)) { await gate.enter() } == .queueFull)
            #expect(gate.load == (2, 2))
            gate.leave()
            try await waitUntil { admittedOrder.order.withLock { $0 } == [0] }
            gate.leave()
            try await waitUntil { admittedOrder.order.withLock { $0 } == [0, 1] }
            try await group.waitForAll()
        }
        // The two waiters hold the two slots now.
        #expect(gate.load == (2, 0))
        gate.leave()
        gate.leave()
        #expect(gate.load == (0, 0))
        // Run releases its slot even when the work throws.
        struct Boom: Error {}
        await #expect(throws: Boom.self) { _ = try await gate.run { () async throws -> Int in throw Boom() } }
        #expect(gate.load == (0, 0))
        #expect(try await gate.run { 42 } == 42)
        #expect(gate.load == (0, 0))
    }

    @Test("the gate: a waiter that waited past maxWait is refused when its turn comes; a cancelled waiter leaves the queue")
    func lateAndCancelled() async throws {
        let gate = AdmissionGate(limit: 1, queue: 4, maxWait: .milliseconds(50))
        #expect(await gate.enter() == .admitted)
        let late = Task { await gate.enter() }
        try await waitUntil { gate.load.waiting == 1 }
        try await Task.sleep(for: .milliseconds(120))
        let onTime = Task { await gate.enter() }
        try await waitUntil { gate.load.waiting == 2 }
        gate.leave()
        // The late one is refused, the one behind it (within maxWait) takes the slot.
        #expect(await late.value == .waitedTooLong)
        #expect(await onTime.value == .admitted)
        #expect(gate.load == (1, 0))

        let cancelled = Task { await gate.enter() }
        try await waitUntil { gate.load.waiting == 1 }
        cancelled.cancel()
        #expect(await cancelled.value == .cancelled)
        #expect(gate.load == (1, 0))
        gate.leave()
        #expect(gate.load == (0, 0))
    }

    @Test("the gate: a call that decided to wait while the running ones left is admitted, not stranded behind no one")
    func leaveWhileDecidingToWait() async throws {
        let holder = GateHolder()
        let gate = AdmissionGate(limit: 1, queue: 4, maxWait: .seconds(60)) {
            // The one running call leaves after this call saw the gate full and before it queued.
            holder.gate.withLock { $0 }?.leave()
        }
        holder.gate.withLock { $0 = gate }
        #expect(await gate.enter() == .admitted)
        #expect(try await answer(within: .seconds(5)) { await gate.enter() } == .admitted)
        #expect(gate.load == (1, 0))
        gate.leave()
        #expect(gate.load == (0, 0))
    }

    @Test("the gate under contention: 64 tasks entering and leaving at once, some cancelled, leave nothing running or waiting and never exceed the limit")
    func contention() async throws {
        for round in 0 ..< 20 {
            let gate = AdmissionGate(limit: 2, queue: 8, maxWait: .seconds(60))
            let peak = Admitted()
            let outcomes = try await answer(within: .seconds(30)) {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0 ..< 64 {
                        group.addTask {
                            if index % 7 == 0 { withUnsafeCurrentTask { $0?.cancel() } }
                            guard await gate.enter() == .admitted else { return }
                            let running = gate.load.running
                            peak.order.withLock { $0.append(running) }
                            await Task.yield()
                            gate.leave()
                        }
                    }
                }
                return .admitted
            }
            #expect(outcomes == .admitted, "round \(round): tasks stranded in the gate")
            #expect(gate.load == (0, 0), "round \(round)")
            #expect(peak.order.withLock { $0.allSatisfy { $0 <= 2 } && !$0.isEmpty }, "round \(round)")
        }
    }

    @Test("through the router: search and eligibility answer 503 busy with Retry-After while the gate is full, 200 after; other routes and the metric")
    func busyAnswers() async throws {
        let replica = try Replica.inMemory()
        let program = ProgramRecord(owner: .semas, nativeID: "S-1", title: "예비창업자 창업지원 패키지", summary: "소상공인 지원", status: .open)
        try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .semas)
        let secret = APIToken.generateSecret()
        let tokens = APIToken.parse(APIToken.line(name: "portal", scopes: [.read], secret: secret), file: "api-tokens").tokens
        #expect(tokens.count == 1)
        var configuration = APIConfiguration(host: "127.0.0.1", port: 0, tokens: tokens)
        configuration.maxConcurrentSearches = 1
        configuration.maxQueuedSearches = 0
        var logger = Logger(label: "admission")
        logger.logLevel = .critical
        let metrics = HanaroMetrics(version: "test")
        let api = AgencyAPI(agency: .semas, configuration: configuration, replica: replica, metrics: metrics, logger: logger)
        let auth: HTTPFields = [.authorization: "Bearer \(secret)"]
        let eligibilityBody = ByteBuffer(string: #"{"profile":{"region":"11"}}"#)
        try await Application(router: api.router()).test(.router) { client in
            // The one slot taken (as a long search would): both expensive routes are refused.
            #expect(await api.gate.enter() == .admitted)
            try await client.execute(uri: "/v1/programs?q=%EC%B0%BD%EC%97%85", method: .get, headers: auth) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = String(buffer: response.body)
                #expect(body.contains("urn:hanaro:problem:busy") && body.contains("api.max_concurrent_searches"), "\(body)")
            }
            try await client.execute(uri: "/v1/eligibility", method: .post, headers: auth, body: eligibilityBody) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
            // A single program is no search: it is served.
            try await client.execute(uri: "/v1/programs/semas/S-1", method: .get, headers: auth) { #expect($0.status == .ok) }
            // Authentication still comes first: no token, 401, not 503.
            try await client.execute(uri: "/v1/programs?q=x", method: .get) { #expect($0.status == .unauthorized) }
            api.gate.leave()
            try await client.execute(uri: "/v1/programs?q=%EC%B0%BD%EC%97%85", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("S-1"))
            }
            try await client.execute(uri: "/v1/eligibility", method: .post, headers: auth, body: eligibilityBody) { #expect($0.status == .ok) }
            #expect(api.gate.load == (0, 0))
        }
        let exposition = metrics.exposition()
        #expect(exposition.contains(#"hanaro_api_requests_total{action="programs.search",outcome="busy"} 1"#), "\(exposition)")
        #expect(exposition.contains(#"hanaro_api_requests_total{action="eligibility",outcome="busy"} 1"#))
        #expect(exposition.contains(#"hanaro_api_requests_total{action="programs.search",outcome="ok"} 1"#))
    }

    /// `work`'s result, or nil (recorded as an issue) if it has none within `limit`; the work is
    /// left running then, cancelled.
    func answer(within limit: Duration, _ work: @escaping @Sendable () async -> AdmissionGate.Outcome) async throws -> AdmissionGate.Outcome? {
        let box = Answer()
        let task = Task {
            let result = await work()
            box.value.withLock { $0 = result }
        }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let value = box.value.withLock({ $0 }) { return value }
            try await Task.sleep(for: .milliseconds(2))
        }
        Issue.record("no answer within \(limit)")
        return nil
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting")
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// The gate a hook acts on (made after the hook).
final class GateHolder: Sendable {
    let gate = Mutex<AdmissionGate?>(nil)
}

/// An outcome reported by a task.
final class Answer: Sendable {
    let value = Mutex<AdmissionGate.Outcome?>(nil)
}

/// The order waiters were admitted in (or what each saw), shared with their tasks.
final class Admitted: Sendable {
    let order = Mutex<[Int]>([])
}
