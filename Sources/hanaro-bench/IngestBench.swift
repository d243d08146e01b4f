import AgencySimulator
import ArgumentParser
import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroStore
import Logging
import ServiceLifecycle

/// `hanaro-bench ingest`: per agency, the ingest rate of its adapter (records/s read from the
/// simulator over HTTP on loopback, mapped and applied to a fresh replica, cursor stored with
/// every page) beside the raw parse rate of the same payloads (the adapter's own parse and
/// mapping of the same native pages, from memory: no HTTP, no store).
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Adapter ingest rate per agency vs the raw parse rate of the same payloads.")

    @Option(help: "Programs in each simulated data set.") var records = 20_000
    @Option(help: "Items per page.") var pageSize = 500
    @Option(help: "Agencies (comma-separated), default all.") var agencies = AgencyID.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Directory for the replica files (removed afterwards).") var dir = NSTemporaryDirectory()
    @Flag(help: "The simulator renders every answer anew, even an unchanged page asked again (its rendering, on the same cores, then counts against the re-read).")
    var renderEveryAnswer = false
    @Flag(inversion: .prefixedNo, help: "Keep the Agency API's tables (search index, referral index, webhook matching) in the store, as a node with api.listen does (the demo's and the example configuration's); --no-agency-api measures a node without them.")
    var agencyAPI = true

    func run() async throws {
        print("# hanaro-bench ingest --records \(records) --page-size \(pageSize)" + (renderEveryAnswer ? " --render-every-answer" : "") + (agencyAPI ? "" : " --no-agency-api"))
        print(agencyAPI ? "# the store keeps the Agency API's tables (a node with api.listen, as the demo and the example configuration): every program is also indexed for search; --no-agency-api leaves them out" : "# the store without the Agency API's tables (a node without api.listen)")
        print(renderEveryAnswer ? "# the simulator renders every answer anew" : "# the simulator keeps each program-list answer it rendered until its list changes (an agency's HTTP cache); the first read pays every rendering")
        print("| agency | format | records | ingest (HTTP + map + store) records/s | ingest, the agency's answers already rendered: records/s = ratio to raw | raw parse + map records/s | ingest / raw | pages | re-read of the unchanged list |")
        print("|---|---|---|---|---|---|---|---|---|")
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        for name in agencies.split(separator: ",") {
            guard let agency = AgencyID(rawValue: String(name)) else { throw ValidationError("unknown agency \(name)") }
            let simulator = AgencySimulator(agency: agency, seed: 42, programs: records)
            await simulator.cacheProgramPages(!renderEveryAnswer)
            let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = try SimulatorServer.application(simulator: simulator, host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
            let server = Task { try await app.run() }
            var iterator = stream.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let settings = AdapterSettings(baseURL: "http://127.0.0.1:\(port)", serviceKey: "demo-key", requestsPerSecond: 100_000, timeoutSeconds: 60)
            let http = try AgencyHTTP(agency: agency, settings: settings)
            /// A fresh replica file and an adapter reading the simulator into it.
            func freshIngest() throws -> (path: String, replica: Replica, ingest: AdapterIngest) {
                let path = (dir as NSString).appendingPathComponent("hanaro-bench-ingest-\(UUID().uuidString)")
                var options = Replica.Options()
                options.agencyAPI = agencyAPI
                let replica = try Replica(path: path + ".sqlite", key: try ReplicaKey.create(at: path + ".key"), options: options)
                return (path, replica, AdapterIngest(adapter: AgencyFormats.makeAdapter(for: agency, settings: settings, http: http), replica: replica, pageSize: pageSize))
            }
            /// Deletes a replica made by `freshIngest` (its file, WAL, shared memory and key).
            func remove(_ path: String) {
                for suffix in [".sqlite", ".sqlite-wal", ".sqlite-shm", ".key"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            let (path, replica, ingest) = try freshIngest()
            // Give the simulator's data a second to fall before the signpost.
            try await Task.sleep(for: .milliseconds(1100))
            let start = monotonicSeconds()
            let summary = try await ingest.ingestPrograms()
            let ingestSeconds = monotonicSeconds() - start
            let stored = try await replica.summary().programs
            // The same list read again, unchanged: for a snapshot agency the whole list is read and
            // compared; nothing may be written (head, digest and the WAL file stay as they were).
            let beforeReread = try await replica.summary()
            let walBefore = (try? FileManager.default.attributesOfItem(atPath: path + ".sqlite-wal"))?[.size] as? Int ?? 0
            let rereadStart = monotonicSeconds()
            let reread = try await ingest.ingestPrograms()
            let rereadSeconds = monotonicSeconds() - rereadStart
            let afterReread = try await replica.summary()
            let walAfter = (try? FileManager.default.attributesOfItem(atPath: path + ".sqlite-wal"))?[.size] as? Int ?? 0
            let unchanged = beforeReread.headSeq == afterReread.headSeq && beforeReread.digest == afterReread.digest && walBefore == walAfter
            // The same payloads, parsed and mapped from memory.
            let pages = await simulator.nativeProgramPages(pageSize: pageSize)
            let parseStart = monotonicSeconds()
            var parsed = 0
            let format = AgencyFormats.format(for: agency)
            for page in pages {
                parsed += try format.mapProgramPage(page).count { if case .success = $0 { true } else { false } }
            }
            let parseSeconds = monotonicSeconds() - parseStart
            let ingestRate = Double(summary.summary.items) / ingestSeconds
            let parseRate = Double(parsed) / parseSeconds
            let label = ["semas": "JSON POST", "koreg": "XML data.go.kr", "kodit": "JSON odcloud", "kamco": "CSV CP949 daily", "kinfa": "XML data.go.kr", "ewpc": "JSON 고용24"][agency.rawValue]!
            let rereadRate = Double(reread.summary.items) / rereadSeconds
            // The same list read into a fresh replica from an agency that keeps its rendered answers
            // (the first read rendered them): what the node itself costs beside the parse.
            var warm = "—", warmLoad = ""
            if !renderEveryAnswer {
                let (second, fresh, again) = try freshIngest()
                try await Task.sleep(for: .milliseconds(1100))
                let warmStart = monotonicSeconds(), warmCPU = processCPUSeconds()
                let warmRead = try await again.ingestPrograms()
                let warmSeconds = monotonicSeconds() - warmStart
                let warmRate = Double(warmRead.summary.items) / warmSeconds
                let warmCPUSeconds = processCPUSeconds() - warmCPU
                warmLoad = String(format: "%.2f s wall, %.2f s CPU (%.1f cores busy)", warmSeconds, warmCPUSeconds, warmCPUSeconds / warmSeconds)
                // Each replica authors its own versions (its own clock in their vectors), so their
                // digests differ; the programs stored must not.
                let same = try await fresh.summary().programs == stored
                warm = "\(Int(warmRate)) = **\(String(format: "%.2f", warmRate / parseRate))** of raw\(same ? "" : " (STORED A DIFFERENT COUNT)")"
                remove(second)
            }
            print("| \(agency.rawValue) | \(label) | \(stored) | \(Int(ingestRate)) | \(warm) | \(Int(parseRate)) | \(String(format: "%.2f", ingestRate / parseRate)) | \(summary.summary.pages) | \(reread.summary.isSnapshot ? "snapshot" : "incremental") \(reread.summary.items) items, \(Int(rereadRate))/s = \(String(format: "%.1f", rereadRate / ingestRate))× first read, \(unchanged ? "0 writes" : "WROTE (head \(beforeReread.headSeq)→\(afterReread.headSeq), WAL \(walBefore)→\(walAfter) B)") |")
            if !warmLoad.isEmpty { print("|   | ingest with answers rendered: \(warmLoad) | | | | | | | |") }
            await http.shutdown()
            server.cancel()
            _ = try? await server.value
            remove(path)
        }
    }
}
