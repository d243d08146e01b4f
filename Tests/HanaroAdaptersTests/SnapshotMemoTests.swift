import AgencySimulator
import HanaroCore
import HanaroDaemon
import HanaroStore
import Testing

/// A snapshot agency's unchanged pages are recognised by their bytes and not parsed again — and
/// never at the cost of a change: a changed page, a changed replica, a resync or a bad item each
/// bring the pages back to a full read.
@Suite("Unchanged snapshot pages")
struct SnapshotMemoTests {
    @Test("semas, kinfa, ewpc: an unchanged list is listed from the remembered pages with 0 writes; one changed program makes its page read; a bad item's page is read every time and counts the attempt", arguments: [AgencyID.semas, .kinfa, .ewpc])
    func unchangedPages(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 200, pageSize: 50) { sim in
            let first = try await sim.ingest.ingestPrograms()
            #expect(first.applied == 200 && first.summary.unchangedPages == 0)
            let head = try await sim.replica.summary().headSeq
            let digest = try await sim.replica.digest()

            // Unchanged: every page remembered, every item listed and counted unchanged, nothing written.
            let second = try await sim.ingest.ingestPrograms()
            #expect(second.summary.isComplete && second.summary.pages == 4 && second.summary.unchangedPages == 4)
            #expect(second.unchanged == 200 && second.applied == 0 && second.summary.items == 200)
            #expect(second.summary.listed.count == 200, "membership still comes from every page")
            #expect(try await sim.replica.summary().headSeq == head)
            #expect(try await sim.replica.digest() == digest)

            // One program changed: its page is read and the change stored; the others are remembered.
            let id = try #require(await sim.simulator.expectedPrograms().map(\.nativeID).sorted().dropFirst(60).first)
            _ = await sim.simulator.changeProgram(id)
            let third = try await sim.ingest.ingestPrograms()
            #expect(third.applied == 1)
            #expect(third.summary.unchangedPages >= 1 && third.summary.unchangedPages < 4, "\(third.summary)")
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])

            // The replica's copy changed by someone else (here: an edit authored on the node):
            // nothing is remembered until a full read has compared every item again.
            let program = try #require(try await sim.replicaPrograms().first { $0.nativeID == id })
            var edited = program
            edited.title += " (edited on the node)"
            try await sim.replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(edited))], by: agency)
            let fourth = try await sim.ingest.ingestPrograms()
            #expect(fourth.summary.unchangedPages == 0)
            #expect(fourth.applied == 1, "the agency's listing is published again over the node's edit")
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
            let fifth = try await sim.ingest.ingestPrograms()
            #expect(fifth.summary.unchangedPages == 4, "\(fifth.summary) \(fifth)")

            // A resync reads everything.
            let resync = try await sim.ingest.ingestPrograms(full: true)
            #expect(resync.summary.unchangedPages == 0 && resync.unchanged == 200)

            // A bad item: its page is read in full every time (one quarantine row, attempts counted).
            var faults = SimulatorFaults()
            faults.malformedRecords = 1
            await sim.simulator.setFaults(faults)
            let bad = try await sim.ingest.ingestPrograms()
            #expect(bad.quarantined == 1)
            let again = try await sim.ingest.ingestPrograms()
            #expect(again.quarantined == 1 && again.summary.unchangedPages == 3, "\(again.summary)")
            let rows = try await sim.replica.quarantine()
            #expect(rows.count == 1 && rows.first?.attempts == 2, "\(rows.map { ($0.recordKey, $0.reason, $0.attempts) })")
        }
    }

    @Test("A failed read remembers nothing: the next read parses every page")
    func failedRead() async throws {
        try await SimulatedAgency.with(.semas, programs: 200, pageSize: 50) { sim in
            try await sim.ingest.ingestPrograms()
            #expect(try await sim.ingest.ingestPrograms().summary.unchangedPages == 4)
            var faults = SimulatorFaults()
            faults.errorAfterPages = 2
            faults.errorBurst = 50
            await sim.simulator.setFaults(faults)
            await #expect(throws: AdapterError.self) { try await sim.ingest.ingestPrograms() }
            await sim.simulator.setFaults(SimulatorFaults())
            let after = try await sim.ingest.ingestPrograms()
            #expect(after.summary.unchangedPages == 0 && after.unchanged == 200 && after.summary.isComplete)
            let last = try await sim.ingest.ingestPrograms()
            #expect(last.summary.unchangedPages == 4, "\(last)")
        }
    }

    @Test("The simulator's kept answers (the bench's option) follow every change of its list, and faults bypass them", arguments: AgencyID.allCases)
    func simulatorKeptAnswers(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 120, pageSize: 50) { sim in
            await sim.simulator.cacheProgramPages(true)
            try await sim.ingest.ingestPrograms()
            let ids = await sim.simulator.expectedPrograms().map(\.nativeID)
            _ = await sim.simulator.changeProgram(ids[3])
            await sim.simulator.createProgram()
            sim.letSecondPass()
            try await sim.ingest.ingestPrograms()
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
            var faults = SimulatorFaults()
            faults.changeWhilePaging = 2
            await sim.simulator.setFaults(faults)
            try await sim.ingest.ingestPrograms(full: true)
            sim.letSecondPass()
            try await sim.ingest.ingestPrograms()
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
        }
    }
}
