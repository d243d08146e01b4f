import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

/// The membership a snapshot agency's complete reads leave in the replica (`snapshot_member`), on
/// a real SQLite file: what is closed, and what is only forgotten.
@Suite("Snapshot membership")
struct SnapshotMembershipTests {
    @Test("an id listed but never stored (its item only ever quarantined), absent twice, is forgotten: no tombstone, no quarantine row")
    func neverStoredIsForgotten() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 21)
        // Given semas 1001 stored, and 1005 listed by the same snapshot but refused by the mapping
        let stored = data.program(owner: .semas, nativeID: "1001")
        #expect(try await replica.author([AuthoredEdit(key: stored.key, edit: .publishProgram(stored))], by: .semas, source: .adapter(.semas)) == [.inserted])
        #expect(try await replica.recordSnapshot(of: .semas, listed: ["1001", "1005"]).isEmpty)
        // When two complete snapshots in a row no longer list 1005
        let head = try await replica.headSeq()
        #expect(try await replica.recordSnapshot(of: .semas, listed: ["1001"]).isEmpty)
        #expect(try await replica.recordSnapshot(of: .semas, listed: ["1001"]).isEmpty)
        // Then nothing was written for it: no record, no refused tombstone in quarantine
        let held = try await replica.quarantine(state: nil)
        #expect(held.isEmpty, "\(held.map { "\($0.source) \($0.recordKey ?? "-"): \($0.reason)" })")
        #expect(try await replica.record(RecordKey(kind: .program, owner: .semas, localID: "1005")) == nil)
        #expect(try await replica.headSeq() == head)
        // And a stored program absent twice is still closed
        #expect(try await replica.recordSnapshot(of: .semas, listed: ["1002"]).isEmpty)
        #expect(try await replica.recordSnapshot(of: .semas, listed: ["1002"]) == [stored.key])
        #expect(try await replica.record(stored.key)?.program?.isDeleted == true)
        #expect(try await replica.quarantine(state: nil).isEmpty)
    }

    @Test("an empty snapshot is not recorded: it closes nothing and counts no absence")
    func emptySnapshotClosesNothing() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 22)
        let program = data.program(owner: .kinfa, nativeID: "101")
        try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: .kinfa, source: .adapter(.kinfa))
        #expect(try await replica.recordSnapshot(of: .kinfa, listed: ["101"]).isEmpty)
        // When the agency lists nothing, twice, and then lists it once more
        #expect(try await replica.recordSnapshot(of: .kinfa, listed: []).isEmpty)
        #expect(try await replica.recordSnapshot(of: .kinfa, listed: []).isEmpty)
        #expect(try await replica.record(program.key)?.program?.isDeleted == false)
        // Then the empty ones counted no absence: one snapshot without it does not close it
        #expect(try await replica.recordSnapshot(of: .kinfa, listed: ["102"]).isEmpty)
        #expect(try await replica.record(program.key)?.program?.isDeleted == false)
    }
}
