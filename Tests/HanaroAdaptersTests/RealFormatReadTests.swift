import AgencySimulator
import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroStore
import HanaroTesting
import Logging
import Testing

/// How a read ends and what it makes of its items, against the real-shaped fixtures (served by
/// Fixtures/serve_fixtures.py, as in ``RealFormatTests``), edited where a test needs an agency's
/// list in another shape: a "no data" answer in the middle of the list, items without a stamp or
/// stamped in the future, an incremental agency whose every item is bad (issue 9, outside review
/// items 1, 4, 9 and 12).
extension RealFormatTests {
    /// A copy of the real fixtures in which `edit` rewrote the text of `agency`'s files (name →
    /// text); the copy's root, for `serve_fixtures.py --fixtures`.
    static func editedFixtures(_ agency: AgencyID, in dir: TemporaryDirectory, _ edit: (String, inout String) throws -> Void) throws -> String {
        let source = fixtures.appendingPathComponent("real/\(agency.rawValue)")
        let target = try dir.directory("fixtures/\(agency.rawValue)")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            var text = try String(contentsOf: source.appendingPathComponent(name), encoding: .utf8)
            try edit(name, &text)
            try Data(text.utf8).write(to: URL(fileURLWithPath: target + "/" + name))
        }
        return dir.file("fixtures")
    }

    /// `serve_fixtures.py` over the fixtures at `root` (the real ones when nil).
    static func withFixtureServer<T>(_ agency: AgencyID, mode: String = "normal", root: String?, _ body: (String) async throws -> T) async throws -> T {
        let dir = TemporaryDirectory("fixtures")
        let server = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["python3", fixtures.appendingPathComponent("serve_fixtures.py").path, "--agency", agency.rawValue, "--port", "0", "--mode", mode]
                                          + (root.map { ["--fixtures", $0] } ?? []),
                                      logPath: dir.file("server.log"))
        guard let line = await server.line(where: { $0.hasPrefix("serving") }),
              let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)/).map({ String($0.1) }) else {
            throw ProcessFailure("the fixture server did not start: \(server.output)")
        }
        return try await serving(server, port: port, body)
    }

    /// A second way into the same replica: an adapter on another server's URL, with its own
    /// freshness board, for the duration of `body`.
    static func withService<T>(_ agency: AgencyID, url: String, replica: Replica, pageSize: Int,
                               _ body: (AdapterService, FreshnessBoard) async throws -> T) async throws -> T {
        let settings = AdapterSettings(baseURL: url, serviceKey: "test-key", requestsPerSecond: 1000, timeoutSeconds: 10)
        let http = try AgencyHTTP(agency: agency, settings: settings)
        let ingest = AdapterIngest(adapter: AgencyFormats.makeAdapter(for: agency, settings: settings, http: http), replica: replica, pageSize: pageSize)
        let board = FreshnessBoard()
        var logger = Logger(label: "second")
        logger.logLevel = .critical
        let service = AdapterService(ingest: ingest, pollIntervalSeconds: 60, board: board, logger: logger)
        do {
            let result = try await body(service, board)
            await http.shutdown()
            return result
        } catch {
            await http.shutdown()
            throw error
        }
    }

    @Test("a \"no data\" answer or an empty page while the reported total says more: the read is partial — failing with the page and the total, the cursor kept, nothing closed — and the next whole read stores every good item",
          arguments: [AgencyID.semas, .koreg, .kodit, .kinfa, .ewpc])
    func noDataInTheMiddle(agency: AgencyID) async throws {
        let expected = try Self.manifest(agency)
        let good = expected.filter { !$0.bad }.compactMap { Self.id(agency, $0) }
        try await Self.withFixtureServer(agency, mode: "nodata-after-first") { cut in
            try await Self.withFixtureServer(agency) { whole in
                try await Reader.with(agency, url: cut, pageSize: 3) { (reader) async throws in
                    // Given an agency that answers page 1 (3 items) and then "no data" (koreg,
                    // kinfa: resultCode 03; the JSON agencies: an empty list with the real total)
                    // When the node reads it
                    await #expect(throws: AdapterError.self) { try await reader.service.cycle(full: false) }
                    // Then the read is partial: failing, saying where and what the total was
                    let entry = await reader.board.entry(agency, .inbound)
                    #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .failing)
                    #expect(entry?.lastError?.contains("no data on page 2 while its totalCount was \(expected.count)") == true, "\(entry?.lastError ?? "")")
                    // And the cursor did not move past what was not read
                    #expect(try await reader.replica.checkpoint(.adapter(agency, .programs)) == nil)
                    // When the whole list is served again, Then every good item is stored, fresh
                    try await Self.withService(agency, url: whole, replica: reader.replica, pageSize: 3) { service, board in
                        try await service.cycle(full: false)
                        let reason = await board.entry(agency, .inbound)?.lastError ?? ""
                        #expect(await board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh, "\(reason)")
                    }
                    #expect(try await reader.programs(agency).keys.sorted() == good.sorted())
                    // And a snapshot agency cut short twice more closes nothing
                    for _ in 0..<2 { await #expect(throws: AdapterError.self) { try await reader.service.cycle(full: false) } }
                    let open = try await reader.programs(agency).values.filter { !$0.isDeleted }.map(\.nativeID)
                    #expect(open.sorted() == good.sorted(), "\(agency): closed by a partial read")
                }
            }
        }
    }

    @Test("an item without an update stamp (no updtPnttm/수정일시, or an empty one) is stored, not quarantined: the whole list is read, the cursor stays at the beginning, a second poll changes nothing",
          arguments: [AgencyID.koreg, .kodit])
    func unstampedItems(agency: AgencyID) async throws {
        let dir = TemporaryDirectory("unstamped")
        let root = try Self.editedFixtures(agency, in: dir) { name, text in
            switch (agency, name) {
            case (.koreg, "page-1.xml"):
                // Only creatPnttm on one item, an empty <updtPnttm/> on another
                text = text.replacingOccurrences(of: "<updtPnttm>2026-11-24 10:30:15</updtPnttm>", with: "")
                text = text.replacingOccurrences(of: "<updtPnttm>2026-11-19 08:00:00</updtPnttm>", with: "<updtPnttm/>")
            case (.kodit, "page-1.json"):
                // Only 등록일시 on one item, a dash for another's 수정일시
                text = text.replacingOccurrences(of: "\"수정일시\":\"20261118143005\",", with: "")
                text = text.replacingOccurrences(of: "\"수정일시\":\"20261105000000\"", with: "\"수정일시\":\"-\"")
            default: break
            }
        }
        let good = try Self.manifest(agency).filter { !$0.bad }.compactMap { Self.id(agency, $0) }
        try await Self.withFixtureServer(agency, root: root) { url in
            try await Reader.with(agency, url: url, pageSize: 3) { (reader) async throws in
                // When the node reads it
                try await reader.service.cycle(full: false)
                // Then every good item is stored, only the fixture's bad item is held, fresh
                #expect(try await reader.programs(agency).keys.sorted() == good.sorted())
                let held = try await reader.replica.quarantine()
                #expect(held.count == 1, "\(held.map(\.reason))")
                let reason = await reader.board.entry(agency, .inbound)?.lastError ?? ""
                #expect(await reader.board.state(agency, .inbound, staleAfterSeconds: 900) == .fresh, "\(reason)")
                // And the cursor is the beginning: the next read goes through the whole list
                #expect(try await reader.replica.checkpoint(.adapter(agency, .programs)) == AdapterCursor.beginning.text)
                // When it reads again, Then nothing changes and every item is read again, unchanged
                let digest = try await reader.replica.digest()
                let again = try await reader.ingest.ingestPrograms()
                // (koreg's fixture has a third: `2026-11-31 09:14:03` is not a date)
                #expect(again.summary.unstamped == (agency == .koreg ? 3 : 2) && again.applied == 0 && again.unchanged == good.count, "\(again)")
                #expect(try await reader.replica.digest() == digest)
            }
        }
    }

    @Test("koreg: an item stamped in the future is stored (not held back until then); the cursor stays at the agency's clock, and the item is counted")
    func futureStamp() async throws {
        let dir = TemporaryDirectory("future")
        let root = try Self.editedFixtures(.koreg, in: dir) { name, text in
            guard name == "page-1.xml" else { return }
            text = text.replacingOccurrences(of: "<updtPnttm>2026-11-23 16:40:02</updtPnttm>", with: "<updtPnttm>2099-03-01 09:00:00</updtPnttm>")
        }
        let good = try Self.manifest(.koreg).filter { !$0.bad }.compactMap(\.nativeID)
        try await Self.withFixtureServer(.koreg, root: root) { url in
            try await Reader.with(.koreg, url: url, pageSize: 3) { (reader) async throws in
                // When the node reads it
                let outcome = try await reader.ingest.ingestPrograms()
                // Then the future item is stored with the rest, and counted
                #expect(try await reader.programs(.koreg).keys.sorted() == good.sorted())
                #expect(outcome.summary.aheadOfClock == 1, "\(outcome.summary)")
                // And the cursor is not pushed to its stamp
                let stored = try #require(try await reader.replica.checkpoint(.adapter(.koreg, .programs)))
                #expect(stored < "2099", "\(stored)")
                #expect(stored == AdapterCursor(updatedAt: outcome.summary.signpost, id: "").text || stored == AdapterCursor.beginning.text)
            }
        }
    }

    @Test("kodit: an incremental agency whose every item is bad stays degraded on the next polls (its items sent again are still held), and is fresh once it fixes them")
    func allBadStaysDegraded() async throws {
        let dir = TemporaryDirectory("allbad")
        let root = try Self.editedFixtures(.kodit, in: dir) { name, text in
            // Every item without its title (the server ignores the filter: it sends them all again)
            text = text.replacingOccurrences(of: "\"서비스명\"", with: "\"서비스명(구)\"")
        }
        try await Self.withFixtureServer(.kodit, root: root) { url in
            try await Reader.with(.kodit, url: url, pageSize: 3) { (reader) async throws in
                try await reader.service.cycle(full: false)
                #expect(await reader.board.state(.kodit, .inbound, staleAfterSeconds: 900) == .degraded)
                let rows = try await reader.replica.quarantine().count
                // When it is polled again (nothing new, the same bad items sent again)
                for _ in 0..<2 {
                    try await reader.service.cycle(full: false)
                    // Then it stays degraded, with nothing usable, and no new rows
                    let entry = await reader.board.entry(.kodit, .inbound)
                    #expect(await reader.board.state(.kodit, .inbound, staleAfterSeconds: 900) == .degraded, "\(String(describing: entry))")
                    #expect(entry?.usableItems == 0 && entry?.refusedItems == rows, "\(String(describing: entry))")
                    #expect(try await reader.replica.quarantine().count == rows)
                }
                #expect(try await reader.replica.summary().programs == 0)
            }
        }
    }

    @Test("an incremental agency whose every item is bad, behind a server that honours the filter: the quiet polls after it keep it degraded; once it fixes them it is fresh")
    func allBadThenQuiet() async throws {
        try await SimulatedAgency.with(.kodit, programs: 6) { sim in
            // Given every program of the agency published with a field no adapter can map
            var faults = SimulatorFaults()
            faults.malformedRecords = 6
            await sim.simulator.setFaults(faults)
            sim.letSecondPass()
            let board = FreshnessBoard()
            var logger = Logger(label: "all-bad")
            logger.logLevel = .critical
            let service = AdapterService(ingest: sim.ingest, pollIntervalSeconds: 60, board: board, logger: logger)
            try await service.cycle(full: false)
            #expect(await board.state(.kodit, .inbound, staleAfterSeconds: 900) == .degraded)
            // When the next polls find nothing new (nothing usable was stored since)
            for _ in 0..<2 {
                sim.letSecondPass()
                let quiet = try await sim.ingest.ingestPrograms()
                #expect(quiet.usable + quiet.refused == 0, "\(quiet)")
                try await service.cycle(full: false)
                // Then the agency stays degraded, with the counts of the read that made it so
                let entry = await board.entry(.kodit, .inbound)
                #expect(await board.state(.kodit, .inbound, staleAfterSeconds: 900) == .degraded, "\(String(describing: entry))")
                #expect(entry?.usableItems == 0 && entry?.refusedItems == 6)
            }
            // When one poll fails in between, Then the quiet poll after it shows the agency
            // degraded again, with why
            var burst = SimulatorFaults()
            burst.errorBurst = 1
            await sim.simulator.setFaults(burst)
            await #expect(throws: AdapterError.self) { try await service.cycle(full: false) }
            #expect(await board.state(.kodit, .inbound, staleAfterSeconds: 900) == .failing)
            sim.letSecondPass()
            try await service.cycle(full: false)
            let afterFailure = await board.entry(.kodit, .inbound)
            #expect(await board.state(.kodit, .inbound, staleAfterSeconds: 900) == .degraded)
            #expect(afterFailure?.lastError?.contains("6 of 6 items") == true, "\(afterFailure?.lastError ?? "")")
            // When the agency fixes them, Then they are stored and the agency is fresh
            await sim.simulator.repairMalformed()
            sim.letSecondPass()
            try await service.cycle(full: false)
            #expect(await board.state(.kodit, .inbound, staleAfterSeconds: 900) == .fresh)
            #expect(try await sim.replica.summary().programs == 6)
        }
    }
}
