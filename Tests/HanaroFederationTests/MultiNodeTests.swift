import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

@Suite("Federation between nodes", .serialized)
struct MultiNodeTests {
    @Test("a write on A reaches C through B while A and C cannot talk; concurrent edits converge, conflict logged once per node")
    func relayAndConvergence() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .koreg, .kamco])
        // A = semas, B = koreg, C = kamco. A and C have no link between them (the cut).
        let a = try await TestNode(agency: .semas, dir: dir, peers: [.koreg, .kamco])
        let b = try await TestNode(agency: .koreg, dir: dir, peers: [.semas, .kamco])
        let c = try await TestNode(agency: .kamco, dir: dir, peers: [.koreg, .semas])
        let links = [a.link(to: b), b.link(to: a), b.link(to: c), c.link(to: b)]
        var data = SyntheticData(seed: 41)
        let koregProgram = data.program(owner: .koreg, nativeID: "from-b")
        try await b.replica.author(.publishProgram(koregProgram), key: koregProgram.key, by: .koreg)

        // Given a program and a referral written on A,
        let program = data.program(owner: .semas, nativeID: "relay-1")
        try await a.replica.author(.publishProgram(program), key: program.key, by: .semas)
        var draft = data.referralDraft(origin: .semas, referralID: "R-relay")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let referralKey = RecordKey(kind: .referral, owner: .semas, localID: "R-relay")
        try await a.replica.author(.createReferral(draft), key: referralKey, by: .semas)
        // When the nodes sync,
        try await settle(links)
        // Then C holds both, through B. Personal fields leave the origin in clear only to the
        // consented target: B relays them withheld, with the part sealed to C, which C opens.
        #expect(try await c.replica.record(program.key)?.program == program)
        #expect(try await b.replica.record(referralKey)?.referral?.personal.value == .withheld)
        #expect(try await c.replica.record(referralKey)?.referral?.personal.value.fields == draft.personal)
        #expect(try await b.replica.digest() == (try await c.replica.digest()))
        // When the cut heals and C reaches A directly, C holds the same.
        try await settle([c.link(to: a)])
        #expect(try await c.replica.record(referralKey)?.referral?.personal.value.fields == draft.personal)
        // And A does not send B's program back to B (echo suppression).
        let echo = try await a.replica.feed(after: 0, limit: 1000, for: .koreg)
        #expect(echo.suppressedEchoes >= 1)
        #expect(try await a.replica.feed(after: 0, limit: 1000, for: .kamco).frames.count == 3)

        // When A withdraws the referral while C marks it supported, concurrently,
        try await c.replica.author(.setStatus(.received), key: referralKey, by: .kamco)
        try await settle(links)
        try await a.replica.author(.setStatus(.withdrawn), key: referralKey, by: .semas)
        try await c.replica.author(.setStatus(.supported), key: referralKey, by: .kamco)
        try await settle(links)
        // Then all three converge to the same digest, with the same resolution, and each logged
        // the conflict exactly once.
        let digests = [try await a.replica.digest(), try await b.replica.digest(), try await c.replica.digest()]
        #expect(Set(digests).count == 1)
        for node in [a, b, c] {
            // Nobody was restored, so nobody may think so (peers read past each node's head at open).
            #expect(try await !node.replica.audit().contains { $0.action == "federation.restore-detected" }, "\(node.agency)")
            #expect(try await node.replica.record(referralKey)?.referral?.status == .supported)
            let logged = try await node.replica.conflicts()
            #expect(logged.count == 1, "\(node.agency) logged \(logged.count) conflicts")
            #expect(logged.first?.field == "status")
        }
        for node in [a, b, c] { await node.stop() }
    }

    @Test("a recreated peer replica triggers a full reconciliation; nothing is lost or duplicated")
    func recreatedPeer() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let a = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        var b = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var data = SyntheticData(seed: 42)
        let programs = (0..<50).map { data.program(owner: .kodit, nativeID: "k\($0)") }
        try await b.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .kodit)
        try await settle([a.link(to: b)])
        #expect(try await a.replica.summary().programs == 50)

        // When kodit's replica is recreated from scratch (new epoch) and re-ingests some data,
        await b.stop()
        b = try await TestNode(agency: .kodit, dir: dir, peers: [.semas], replicaName: "kodit-new")
        try await b.replica.author(programs.prefix(10).map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .kodit)
        let link = a.link(to: b)
        try await settle([link])
        // Then the link noticed, re-read from the start, and A still has all 50, once each.
        #expect(link.status.resets == 1)
        #expect(try await a.replica.summary().programs == 50)
        #expect(try await a.replica.recomputeDigest() == (try await a.replica.digest()))
        await a.stop()
        await b.stop()
    }

    @Test("long-poll: a change reaches a waiting peer without waiting out the poll")
    func longPoll() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .ewpc])
        let a = try await TestNode(agency: .semas, dir: dir, peers: [.ewpc])
        let b = try await TestNode(agency: .ewpc, dir: dir, peers: [.semas])
        let link = a.link(to: b)
        try await settle([link])
        var data = SyntheticData(seed: 43)
        let program = data.program(owner: .ewpc, nativeID: "lp")
        let started = Date()
        async let pulled = link.syncOnce(waitMilliseconds: 15_000)
        try await Task.sleep(for: .milliseconds(300))
        try await b.replica.author(.publishProgram(program), key: program.key, by: .ewpc)
        #expect(try await pulled)
        // Far less than the 15 s poll: the commit woke the waiting request.
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try await a.replica.record(program.key)?.program == program)
        await a.stop()
        await b.stop()
    }

    @Test("catch-up pulls page after page, prefetching, and stops at the peer's head")
    func pipelinedCatchUp() async throws {
        let dir = TemporaryDirectory()
        try makePKI(in: dir, for: [.semas, .kodit])
        let a = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        let b = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        var data = SyntheticData(seed: 44)
        let programs = (0..<1_050).map { data.program(owner: .kodit, nativeID: "c\($0)") }
        try await b.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .kodit)
        let link = a.link(to: b) // 200 per page: six pages
        #expect(try await link.catchUp() == 1_050)
        #expect(try await link.catchUp() == 0)
        #expect(link.status.lastCaughtUpAt != nil)
        #expect(try await a.replica.digest() == (try await b.replica.digest()))
        await a.stop()
        await b.stop()
    }
}
