import AgencySimulator
import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroStore
import HanaroTesting
import Logging
import Testing

/// The adapters against payloads shaped like the agencies' published formats — built from public
/// samples (Fixtures/real/README.md cites them), not from our simulator — and served by a small
/// Python HTTP server written without looking at the adapters (Fixtures/serve_fixtures.py). Each
/// agency's `manifest.json` says what a careful integrator extracts from each item.
@Suite("Real formats", .serialized)
struct RealFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// One item of a manifest.
    struct Expected: Decodable {
        struct Period: Decodable { var start: String?; var end: String?; var text: String? }
        var index: Int
        var bad: Bool
        var nativeID: String?
        var title: String?
        var regions: [String]?
        var period: Period?
    }

    struct Manifest: Decodable {
        struct File: Decodable { var file: String; var role: String?; var items: [Expected]? }
        var files: [File]
    }

    static func manifest(_ agency: AgencyID) throws -> [Expected] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("real/\(agency.rawValue)/manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).files.filter { $0.role == "page" }.flatMap { $0.items ?? [] }
    }

    /// The fixture server for one agency, for the duration of `body`.
    static func withFixtureServer<T>(_ agency: AgencyID, mode: String = "normal", _ body: (String) async throws -> T) async throws -> T {
        let dir = TemporaryDirectory("fixtures")
        let server = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["python3", fixtures.appendingPathComponent("serve_fixtures.py").path, "--agency", agency.rawValue, "--port", "0", "--mode", mode],
                                      logPath: dir.file("server.log"))
        guard let line = await server.line(where: { $0.hasPrefix("serving") }),
              let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)/).map({ String($0.1) }) else {
            throw ProcessFailure("the fixture server did not start: \(server.output)")
        }
        return try await serving(server, port: port, body)
    }

    /// Runs `body` with the server's URL, then stops the server (it holds no state: at once),
    /// whether `body` returned or threw.
    static func serving<T>(_ server: ChildProcess, port: String, _ body: (String) async throws -> T) async throws -> T {
        func stop() async {
            server.signal(SIGKILL)
            await server.waitForExit()
        }
        do {
            let result = try await body("http://127.0.0.1:\(port)")
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    /// An adapter and a replica on the fixture server, with the node's freshness logic.
    struct Reader {
        let replica: Replica
        let ingest: AdapterIngest
        let service: AdapterService
        let board: FreshnessBoard
        let http: AgencyHTTP
        let dir = TemporaryDirectory("real-format")

        init(_ agency: AgencyID, url: String, pageSize: Int, configure: (inout AdapterSettings) -> Void = { _ in }) throws {
            // A replica in a real SQLite file, as a node keeps it.
            replica = try Replica(path: dir.file("replica.sqlite"), key: try ReplicaKey.create(at: dir.file("replica.key")))
            var settings = AdapterSettings(baseURL: url, serviceKey: "test-key", requestsPerSecond: 1000, timeoutSeconds: 10)
            configure(&settings)
            http = try AgencyHTTP(agency: agency, settings: settings)
            ingest = AdapterIngest(adapter: AgencyFormats.makeAdapter(for: agency, settings: settings, http: http), replica: replica, pageSize: pageSize)
            board = FreshnessBoard()
            var logger = Logger(label: "real")
            logger.logLevel = .critical
            service = AdapterService(ingest: ingest, pollIntervalSeconds: 60, board: board, logger: logger)
        }

        /// Runs `body` with a reader and shuts its HTTP client down however `body` ends (a client
        /// left running when a failed expectation throws would trap in its deinit).
        static func with<T>(_ agency: AgencyID, url: String, pageSize: Int, configure: (inout AdapterSettings) -> Void = { _ in },
                            _ body: (Reader) async throws -> T) async throws -> T {
            let reader = try Reader(agency, url: url, pageSize: pageSize, configure: configure)
            do {
                let result = try await body(reader)
                await reader.http.shutdown()
                return result
            } catch {
                await reader.http.shutdown()
                throw error
            }
        }

        func programs(_ agency: AgencyID) async throws -> [String: ProgramRecord] {
            let page = try await replica.changes(after: 0, limit: 1000)
            return Dictionary(uniqueKeysWithValues: page.changes.compactMap { $0.version.program }.filter { $0.owner == agency }.map { ($0.nativeID, $0) })
        }
    }

    static func id(_ agency: AgencyID, _ item: Expected) -> String? {
        // 고용24 courses are one row per round: our id is `trprId-trprDegr` (the manifest writes `:`).
        agency == .ewpc ? item.nativeID?.replacingOccurrences(of: ":", with: "-") : item.nativeID
    }

    @Test("each real format: the good items stored and normalised, the bad one quarantined once under its own id, a second poll changes nothing, the agency fresh",
          arguments: AgencyID.allCases)
    func realFormat(agency: AgencyID) async throws {
        let expected = try Self.manifest(agency)
        try await Self.withFixtureServer(agency) { url in
            let reader = try Reader(agency, url: url, pageSize: 3)
            // When the node reads the agency (through its freshness logic)
            try await reader.service.cycle(full: false)
            // Then every good item is stored, with its fields normalised as the manifest says
            let stored = try await reader.programs(agency)
            let good = expected.filter { !$0.bad }
            #expect(stored.count == good.count, "\(agency): stored \(stored.keys.sorted())")
            for item in good {
                guard let id = Self.id(agency, item), let record = stored[id] else {
                    Issue.record("\(agency): \(item.nativeID ?? "?") was not stored")
                    continue
                }
                #expect(record.title == item.title, "\(agency) \(id) title")
                if let regions = item.regions, !regions.isEmpty {
                    #expect(Set(regions).isSubset(of: Set(record.eligibility.regions.map(\.code))), "\(agency) \(id) regions \(record.eligibility.regions)")
                }
                if let period = item.period {
                    #expect(record.period.start?.description == period.start && record.period.end?.description == period.end, "\(agency) \(id) period \(record.period)")
                    if period.text != nil { #expect(record.period.text == period.text, "\(agency) \(id) period text") }
                }
            }
            // And the bad item is quarantined once, under its own id (or none, with where it was)
            let held = try await reader.replica.quarantine()
            #expect(held.count == 1, "\(agency): \(held.map(\.reason))")
            let bad = try #require(expected.first { $0.bad })
            if let id = Self.id(agency, bad) {
                #expect(held.first?.recordKey == RecordKey(kind: .program, owner: agency, localID: id).description)
            } else {
                #expect(held.first?.recordKey == nil && held.first?.reason.contains("no id") == true, "\(held.first?.reason ?? "")")
            }
            #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh)
            let first = await reader.board.entry(agency, .inbound)
            #expect(first?.usableItems == good.count && first?.refusedItems == 1, "\(agency): \(String(describing: first))")
            // When it reads again, Then nothing changes: same quarantine rows, same digest
            let digest = try await reader.replica.digest()
            try await reader.service.cycle(full: false)
            #expect(try await reader.replica.digest() == digest)
            let again = try await reader.replica.quarantine()
            #expect(again.count == 1 && again.first?.id == held.first?.id && (again.first?.attempts ?? 0) >= (held.first?.attempts ?? 0))
            // And the agency stays fresh with the same counts: this server ignores the filter, so an
            // incremental read gets the items read before again — held, not new — and the bad item
            // alone is not most of what the agency lists.
            let second = await reader.board.entry(agency, .inbound)
            #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh, "\(agency): \(second?.lastError ?? "")")
            #expect(second?.usableItems == first?.usableItems && second?.refusedItems == first?.refusedItems,
                    "\(agency): first \(String(describing: first?.usableItems))/\(String(describing: first?.refusedItems)), second \(String(describing: second?.usableItems))/\(String(describing: second?.refusedItems))")
            if reader.ingest.adapter.snapshotMemo != nil {
                // A snapshot agency, served by a server this project did not write: its unchanged
                // pages are recognised by their bytes, the bad item's page is read in full again
                // (one more attempt on its row), and nothing is written.
                let third = try await reader.ingest.ingestPrograms()
                #expect(third.summary.unchangedPages >= 1 && third.summary.unchangedPages < third.summary.pages, "\(agency): \(third.summary)")
                #expect(third.applied == 0 && third.quarantined == 1)
                #expect(try await reader.replica.digest() == digest)
                let rows = try await reader.replica.quarantine()
                #expect(rows.count == 1 && rows.first?.attempts == (again.first?.attempts ?? 0) + 1, "\(rows.map(\.attempts))")
            }
            await reader.http.shutdown()
        }
    }

    /// `python3 -m http.server` over `root` for the duration of `body`: a plain web server's own
    /// directory index, `index.html` where a folder has one, and its `301` from `/exports` to
    /// `/exports/` — how a static export folder such as kamco's is published.
    static func withDirectoryServer<T>(_ root: String, _ body: (String) async throws -> T) async throws -> T {
        let log = TemporaryDirectory("http-server")
        let server = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root],
                                      logPath: log.file("server.log"))
        guard let line = await server.line(where: { $0.hasPrefix("Serving HTTP") }),
              let port = line.firstMatch(of: /port (\d+)/).map({ String($0.1) }) else {
            throw ProcessFailure("python3 -m http.server did not start: \(server.output)")
        }
        return try await serving(server, port: port, body)
    }

    /// The name of kamco's file of the day `daysAgo` days before the agency's today (KST).
    static func kamcoFile(daysAgo: Int) -> String {
        "programs-" + AgencyTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970) - Int64(daysAgo) * 86_400).description.prefix(8) + ".csv"
    }

    /// A kamco export in the fixture's columns, CP949, one row per (id, title).
    static func kamcoExport(_ rows: [(id: String, title: String)]) throws -> Data {
        let text = "관리번호,사업명,신청기간,대상지역\r\n" + rows.map { "\($0.id),\($0.title),상시,11\r\n" }.joined()
        return try #require(text.data(using: String.Encoding(rawValue: 0x8000_0422)))
    }

    @Test("kamco on a plain web server: `programs_path` with or without its trailing slash reads the files its index lists, resolved against the index's URL after the redirect", arguments: ["/exports", "/exports/"])
    func kamcoDirectoryIndex(path: String) async throws {
        // Given the fixture's export as the file of two days ago, under a web server's own index
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        try Data(contentsOf: Self.fixtures.appendingPathComponent("real/kamco/programs-20261130.csv"))
            .write(to: URL(fileURLWithPath: exports + "/" + Self.kamcoFile(daysAgo: 2)))
        let good = try Self.manifest(.kamco).filter { !$0.bad }
        try await Self.withDirectoryServer(www.path) { url in
            try await Reader.with(.kamco, url: url, pageSize: 3, configure: { $0.programsPath = path }) { (reader) async throws in
                // When the node reads kamco
                try? await reader.service.cycle(full: false)
                // Then the file was found where the index put it (not at `/exportsprograms-….csv`)
                let entry = await reader.board.entry(.kamco, .inbound)
                #expect(await reader.board.state(.kamco, .inbound, staleAfterSeconds: 900) == .fresh, "\(entry?.lastError ?? "")")
                #expect(try await reader.programs(.kamco).keys.sorted() == good.compactMap(\.nativeID).sorted())
            }
        }
    }

    @Test("kamco: an index's links are resolved, and only files below its directory count: archive/, ../ and another host are not program files")
    func kamcoIndexLinks() async throws {
        // Given a snapshot export whose index links, beside yesterday's file (by an absolute path),
        // a newer file in archive/, one above the folder, and one on another host
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        try www.directory("exports/archive")
        let today = Self.kamcoFile(daysAgo: 1), newer = Self.kamcoFile(daysAgo: 0)
        try Self.kamcoExport([("K-1", "새출발기금 채무조정"), ("K-2", "재기지원 컨설팅")]).write(to: URL(fileURLWithPath: exports + "/" + today))
        for decoy in ["exports/archive/" + newer, newer] {
            try Self.kamcoExport([("K-DECOY", "보관된 파일")]).write(to: URL(fileURLWithPath: www.file(decoy)))
        }
        let index = """
            <html><head><title>Index of /exports/</title></head><body><pre>
            <a href="../">../</a>
            <a href="?C=N;O=D">Name</a>
            <a href="archive/">archive/</a>
            <a href="archive/\(newer)">archive/\(newer)</a>
            <a href="../\(newer)">../\(newer)</a>
            <a href="http://elsewhere.invalid/exports/\(newer)">mirror</a>
            <a href="/exports/\(today)">\(today)</a>
            </pre></body></html>
            """
        try Data(index.utf8).write(to: URL(fileURLWithPath: exports + "/index.html"))
        try await Self.withDirectoryServer(www.path) { url in
            try await Reader.with(.kamco, url: url, pageSize: 10, configure: {
                $0.programsPath = "/exports/"
                $0.export = .snapshot
            }) { (reader) async throws in
                // When it is read
                let outcome = try await reader.ingest.ingestPrograms()
                // Then the newest program file below /exports/ is the one read, and no decoy
                #expect(outcome.summary.isComplete && outcome.summary.pages == 1, "\(outcome.summary)")
                #expect(try await reader.programs(.kamco).keys.sorted() == ["K-1", "K-2"])
            }
        }
    }

    @Test("kamco `export: snapshot`: a dropped program is closed at the second day's file without it, not at a second read of the same file; an empty file closes nothing")
    func kamcoSnapshotDays() async throws {
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        func publish(_ daysAgo: Int, _ rows: [(id: String, title: String)]) throws {
            try Self.kamcoExport(rows).write(to: URL(fileURLWithPath: exports + "/" + Self.kamcoFile(daysAgo: daysAgo)))
        }
        let all = [("K-1", "새출발기금 채무조정"), ("K-2", "재기지원 컨설팅"), ("K-3", "자산매각 지원")]
        try publish(4, all)
        try await Self.withDirectoryServer(www.path) { url in
            try await Reader.with(.kamco, url: url, pageSize: 10, configure: { $0.export = .snapshot }) { (reader) async throws in
                func open() async throws -> [String] {
                    try await reader.programs(.kamco).values.filter { !$0.isDeleted }.map(\.nativeID).sorted()
                }
                #expect(try await reader.ingest.ingestPrograms().closed == 0)
                #expect(try await open() == ["K-1", "K-2", "K-3"])
                // Given the next day's file drops K-2; When it is read, and read again (the next poll)
                try publish(3, [all[0], all[2]])
                #expect(try await reader.ingest.ingestPrograms().closed == 0)
                #expect(try await reader.ingest.ingestPrograms().closed == 0)
                // Then K-2 is still open: the same file read twice is one absence
                #expect(try await open() == ["K-1", "K-2", "K-3"])
                // When a second day's file lacks it too, Then it is closed at its first read
                try publish(2, [all[0], all[2]])
                #expect(try await reader.ingest.ingestPrograms().closed == 1)
                #expect(try await open() == ["K-1", "K-3"])
                // When the agency publishes an empty file, two days running, Then nothing is closed
                try publish(1, [])
                #expect(try await reader.ingest.ingestPrograms().closed == 0)
                try publish(0, [])
                #expect(try await reader.ingest.ingestPrograms().closed == 0)
                #expect(try await open() == ["K-1", "K-3"])
            }
        }
    }

    @Test("a total that overstates the list by 3: the short last page ends the read (two pages, no re-reads at smaller sizes), the bad item is quarantined once, the counts are the list's", arguments: [AgencyID.semas, .koreg, .kodit, .kinfa, .ewpc])
    func overstatedTotal(agency: AgencyID) async throws {
        let expected = try Self.manifest(agency)
        try await Self.withFixtureServer(agency, mode: "overcount") { url in
            try await Reader.with(agency, url: url, pageSize: 5) { (reader) async throws in
                // When one read goes through the list (5 items a page; each agency has 6 to 8)
                let outcome = try await reader.ingest.ingestPrograms()
                // Then the first page, full, proved there is no cap: the short second page is the end
                #expect(outcome.summary.isComplete && outcome.summary.pages == 2 && outcome.summary.restarts == 0, "\(agency): \(outcome.summary)")
                #expect(outcome.usable == expected.count - 1 && outcome.quarantined == 1, "\(agency): usable \(outcome.usable), quarantined \(outcome.quarantined)")
                let held = try await reader.replica.quarantine()
                #expect(held.count == 1 && held.first?.attempts == 1, "\(agency): attempts \(held.map(\.attempts))")
                // And the node's verdict on the next read: fresh, with the list's counts
                try await reader.service.cycle(full: false)
                let entry = await reader.board.entry(agency, .inbound)
                #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh, "\(agency): \(entry?.lastError ?? "")")
                #expect(entry?.usableItems == expected.count - 1 && entry?.refusedItems == 1,
                        "\(agency): \(String(describing: entry?.usableItems))/\(String(describing: entry?.refusedItems))")
            }
        }
    }

    @Test("koreg: one bad item and a NODATA second page end the read fresh")
    func koregNodata() async throws {
        // The first page holds the whole list (7 items, the bad one among them): the bad item
        // counts in the paging, so nothing more is expected of page 2 (a NODATA page while the
        // total says more is a partial read: RealFormatReadTests).
        try await Self.withFixtureServer(.koreg, mode: "nodata-after-first") { url in
            let reader = try Reader(.koreg, url: url, pageSize: 7)
            try await reader.service.cycle(full: false)
            #expect(await reader.board.state(.koreg, .inbound, staleAfterSeconds: 900) == .fresh)
            #expect(try await reader.replica.quarantine().count == 1)
            #expect(try await reader.programs(.koreg).count == 6)
            await reader.http.shutdown()
        }
    }

    @Test("an agency answering only errors is failing with the reason, and nothing is stored", arguments: [AgencyID.semas, .koreg, .kodit, .kinfa])
    func errors(agency: AgencyID) async throws {
        try await Self.withFixtureServer(agency, mode: "error") { url in
            let reader = try Reader(agency, url: url, pageSize: 10)
            await #expect(throws: AdapterError.self) { try await reader.service.cycle(full: false) }
            #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .failing)
            #expect(await reader.board.entry(agency, .inbound)?.lastError?.isEmpty == false)
            #expect(try await reader.replica.summary().programs == 0)
            await reader.http.shutdown()
        }
    }

    @Test("a complete read whose every item is refused is degraded, with the counts, not fresh — and stays so while the agency sends them")
    func degraded() async throws {
        try await SimulatedAgency.with(.ewpc, programs: 6) { sim in
            var faults = SimulatorFaults()
            faults.malformedRecords = 6
            await sim.simulator.setFaults(faults)
            let board = FreshnessBoard()
            var logger = Logger(label: "degraded")
            logger.logLevel = .critical
            let service = AdapterService(ingest: sim.ingest, pollIntervalSeconds: 60, board: board, logger: logger)
            try await service.cycle(full: false)
            #expect(await board.state(.ewpc, .inbound, staleAfterSeconds: 900) == .degraded)
            let entry = await board.entry(.ewpc, .inbound)
            #expect(entry?.usableItems == 0 && entry?.refusedItems == 6)
            #expect(entry?.lastError?.contains("6 of 6") == true)
            #expect(try await sim.replica.quarantine().count == 6)
            // When the next read brings the same bad items, Then it stays degraded (and adds no rows).
            try await service.cycle(full: false)
            #expect(try await sim.replica.quarantine().count == 6)
            #expect(await board.state(.ewpc, .inbound, staleAfterSeconds: 900) == .degraded)
        }
    }

    @Test("an agency that fixes its bad items: the next read stores them, their quarantine rows are released, the agency fresh", arguments: [AgencyID.ewpc, .koreg])
    func recovered(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 6) { sim in
            // Given a read that quarantined four of the six programs
            var faults = SimulatorFaults()
            faults.malformedRecords = 4
            await sim.simulator.setFaults(faults)
            sim.letSecondPass()
            let board = FreshnessBoard()
            var logger = Logger(label: "recovered")
            logger.logLevel = .critical
            let service = AdapterService(ingest: sim.ingest, pollIntervalSeconds: 60, board: board, logger: logger)
            try await service.cycle(full: false)
            #expect(try await sim.replica.quarantine().count == 4)
            #expect(await board.state(agency, .inbound, staleAfterSeconds: 900) == .degraded)
            // When the agency serves them well again
            await sim.simulator.repairMalformed()
            sim.letSecondPass()
            try await service.cycle(full: false)
            // Then they are stored, nothing is held any more, and the agency is fresh
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
            let held = try await sim.replica.quarantine()
            #expect(held.isEmpty, "\(held.map { "\($0.recordKey ?? "-"): \($0.reason)" })")
            #expect(try await sim.replica.quarantine(state: .released).count == 4)
            #expect(try await sim.replica.summary().quarantined == 0)
            #expect(await board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh)
        }
    }
}
