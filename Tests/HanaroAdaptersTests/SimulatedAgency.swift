import AgencySimulator
import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroStore
import Hummingbird
import Logging
import NIOSSL
import HanaroTesting
import Testing


/// One agency, simulated for real: its native API served over HTTPS on a port of 127.0.0.1 chosen
/// by the kernel (certificate from a development CA made for the test), the adapter speaking to
/// it through AsyncHTTPClient, and a replica in a real SQLite file.
final class SimulatedAgency: Sendable {
    let agency: AgencyID
    let simulator: AgencySimulator
    let url: String
    let http: AgencyHTTP
    let adapter: any AgencyAdapter
    let replica: Replica
    let ingest: AdapterIngest
    let serverTask: Task<Void, any Error>
    let dir: TemporaryDirectory
    /// The agency's clock: its records' stamps and its answers' `Date` (the reads' signposts).
    let clock = ManualClock(wallMilliseconds: UInt64(Date().timeIntervalSince1970) * 1000)

    init(_ agency: AgencyID, programs: Int = 240, pageSize: Int = 50, serviceKey: String = "demo-key", replica existing: Replica? = nil) async throws {
        self.agency = agency
        dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        try DevelopmentPKI.issue(for: agency, in: dir.path, name: "agency")
        simulator = AgencySimulator(agency: agency, seed: 7, programs: programs, clock: clock)
        var logger = Logger(label: "sim")
        logger.logLevel = .critical
        let tls = try SimulatorServer.tlsConfiguration(certificatePath: dir.file("agency.pem"), keyPath: dir.file("agency-key.pem"))
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try SimulatorServer.application(simulator: simulator, host: "127.0.0.1", port: 0, tls: tls, logger: logger) { continuation.yield($0) }
        serverTask = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        url = "https://127.0.0.1:\(port)"
        var settings = AdapterSettings(baseURL: url, serviceKey: serviceKey, requestsPerSecond: 1000, timeoutSeconds: 10,
                                       caPath: dir.file("federation-ca.pem"))
        // The simulator serves a referral feed (no real agency does; a node reads one only where configured).
        settings.referralEvents = true
        http = try AgencyHTTP(agency: agency, settings: settings)
        adapter = AgencyFormats.makeAdapter(for: agency, settings: settings, http: http)
        if let existing {
            replica = existing
        } else {
            replica = try Replica(path: dir.file("replica.sqlite"), key: try ReplicaKey.create(at: dir.file("replica.key")))
        }
        ingest = AdapterIngest(adapter: adapter, replica: replica, pageSize: pageSize, readsReferralEvents: true)
    }

    /// An adapter for the same simulator with other settings (a wrong key, say).
    func adapter(serviceKey: String) throws -> (any AgencyAdapter, AgencyHTTP) {
        let settings = AdapterSettings(baseURL: url, serviceKey: serviceKey, requestsPerSecond: 1000, timeoutSeconds: 10, caPath: dir.file("federation-ca.pem"))
        let http = try AgencyHTTP(agency: agency, settings: settings)
        return (AgencyFormats.makeAdapter(for: agency, settings: settings, http: http), http)
    }

    /// Whether the agency's format carries per-item update stamps (read incrementally) or not (snapshots).
    var incremental: Bool { [.koreg, .kodit, .kamco].contains(agency) }

    /// The agency's programs as the replica holds them.
    func replicaPrograms() async throws -> [ProgramRecord] {
        var out: [ProgramRecord] = []
        var after: Int64 = 0
        while true {
            let page = try await replica.changes(after: after, limit: 1000)
            out += page.changes.compactMap { $0.version.program }.filter { $0.owner == agency }
            after = page.nextCursor
            if !page.hasMore || page.changes.isEmpty { break }
        }
        return out.sorted { $0.nativeID < $1.nativeID }
    }

    /// The agency's referrals as the replica holds them.
    func replicaReferrals() async throws -> [ReferralRecord] {
        let page = try await replica.changes(after: 0, limit: 5000)
        return page.changes.compactMap { $0.version.referral }.sorted { $0.referralID < $1.referralID }
    }

    /// Moves the agency's clock past the second of every change made so far (a read takes only
    /// what was updated strictly before its signpost).
    func letSecondPass() {
        clock.advance(by: .seconds(1))
    }

    /// Runs `body` with a simulated agency, and stops it (awaited) however `body` ends.
    static func with<T>(_ agency: AgencyID, programs: Int = 240, pageSize: Int = 50, serviceKey: String = "demo-key",
                        _ body: (SimulatedAgency) async throws -> T) async throws -> T {
        let sim = try await SimulatedAgency(agency, programs: programs, pageSize: pageSize, serviceKey: serviceKey)
        do {
            let result = try await body(sim)
            await sim.stop()
            return result
        } catch {
            await sim.stop()
            throw error
        }
    }

    func stop() async {
        serverTask.cancel()
        _ = try? await serverTask.value
        await http.shutdown()
    }
}

/// Field-by-field differences between the simulator's truth and the adapter's mapping, for
/// readable failures.
func differences(_ expected: [ProgramRecord], _ actual: [ProgramRecord]) -> [String] {
    let byID = Dictionary(uniqueKeysWithValues: actual.map { ($0.nativeID, $0) })
    var out: [String] = []
    for record in expected {
        guard let mapped = byID[record.nativeID] else { out.append("\(record.nativeID): missing"); continue }
        if mapped != record { out.append("\(record.nativeID): differs in \(record.differingFields(from: mapped)) expected \(record) got \(mapped)") }
    }
    let expectedIDs = Set(expected.map(\.nativeID))
    for record in actual where !expectedIDs.contains(record.nativeID) { out.append("\(record.nativeID): unexpected") }
    return out
}
