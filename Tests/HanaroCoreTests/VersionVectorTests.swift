import HanaroTesting
import Testing
import HanaroCore
import HanaroFixtures

@Suite("Version vectors")
struct VersionVectorTests {
    @Test("relations", arguments: [
        ([:], [:], CausalRelation.equal),
        ([AgencyID.semas: 1], [:], .after),
        ([:], [.semas: 1], .before),
        ([.semas: 2, .kodit: 1], [.semas: 2, .kodit: 1], .equal),
        ([.semas: 2, .kodit: 1], [.semas: 3, .kodit: 1], .before),
        ([.semas: 2, .kodit: 1], [.semas: 1, .kodit: 2], .concurrent),
        ([.ewpc: 5], [.kamco: 5], .concurrent),
    ] as [([AgencyID: UInt64], [AgencyID: UInt64], CausalRelation)])
    func relation(a: [AgencyID: UInt64], b: [AgencyID: UInt64], expected: CausalRelation) {
        let va = VersionVector(a), vb = VersionVector(b)
        #expect(va.relation(to: vb) == expected)
        // The relation is antisymmetric.
        let mirrored: CausalRelation = switch expected {
        case .before: .after
        case .after: .before
        default: expected
        }
        #expect(vb.relation(to: va) == mirrored)
    }

    @Test("merge is the pointwise maximum and covers both")
    func mergeCovers() {
        let a = VersionVector([.semas: 3, .kodit: 1]), b = VersionVector([.semas: 1, .kodit: 4, .ewpc: 2])
        let m = a.merged(with: b)
        #expect(m[.semas] == 3 && m[.kodit] == 4 && m[.ewpc] == 2)
        #expect(a.relation(to: m) == .before && b.relation(to: m) == .before)
        #expect(m.covers(Dot(.kodit, 4)) && !m.covers(Dot(.kodit, 5)))
    }

    @Test("the hybrid logical clock never goes back and passes what it observed")
    func hlc() {
        var clock = HybridLogicalClock()
        let t1 = clock.tick(physicalMilliseconds: 1000)
        let t2 = clock.tick(physicalMilliseconds: 1000)
        let t3 = clock.tick(physicalMilliseconds: 900) // wall clock stepped back
        #expect(t1 < t2 && t2 < t3)
        clock.observe(HLCTimestamp(millisecondsSince1970: 5000))
        #expect(clock.tick(physicalMilliseconds: 1000) > HLCTimestamp(millisecondsSince1970: 5000))
    }

    @Test("a replica restored from an old backup does not author versions that look older (Syncthing #3876)")
    func restoredReplicaAuthorsNewerVersions() throws {
        // Given: semas published version 1 at t=1000 and version 2 at t=2000; a peer holds v2.
        let owner = AgencyID.semas
        var data = SyntheticData(seed: 7)
        let c1 = data.program(owner: owner, nativeID: "42")
        let v1 = try RecordVersion.authoring(.publishProgram(c1), on: nil, key: c1.key, by: owner, clock: HLCTimestamp(millisecondsSince1970: 1000))
        var c2 = c1
        c2.title = "변경된 공고"
        let v2 = try RecordVersion.authoring(.publishProgram(c2), on: v1, key: c1.key, by: owner, clock: HLCTimestamp(millisecondsSince1970: 2000))
        // When: semas's node is restored from a backup holding only v1 and edits at t=3000.
        var c3 = c1
        c3.title = "복원 후 수정"
        let v3 = try RecordVersion.authoring(.publishProgram(c3), on: v1, key: c1.key, by: owner, clock: HLCTimestamp(millisecondsSince1970: 3000))
        // Then: the new version orders after the peer's, because its counter is the wall time of
        // the write. With plain 1, 2, 3 counters v3 would read {semas:2}, equal to v2's, and
        // every peer would silently drop the new edit.
        #expect(v3.relation(to: v2) == .after)
        let merged = try v2.merged(with: v3)
        #expect(merged.program?.title == "복원 후 수정")
        #expect(try v3.merged(with: v2) == merged)
    }
}
