import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

@Suite("Applying batches")
struct ApplyTests {
    @Test("insert, replace, ignore older, and the same batch twice changes nothing")
    func basicOutcomes() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 11)
        let v1 = data.programVersion(owner: .semas, nativeID: "1", at: hlc(1000))
        var content = v1.program!
        content.title = "개정 공고"
        let v2 = try RecordVersion.authoring(.publishProgram(content), on: v1, key: v1.key, by: .semas, clock: hlc(2000))
        let other = data.programVersion(owner: .kodit, nativeID: "9", at: hlc(1500))

        // Given a batch, When applied, Then each outcome is as expected and the checkpoint moved.
        #expect(try await replica.apply([v1, other], from: .peer(.semas), checkpoint: Checkpoint(stream: .peer(.semas), value: "10")) == [.inserted, .inserted])
        #expect(try await replica.apply([v2], from: .peer(.semas)) == [.replaced])
        // An older version changes nothing, and is told apart from a duplicate (a relay's replay).
        #expect(try await replica.apply([v1], from: .peer(.semas)) == [.stale])
        #expect(try await replica.record(v1.key) == v2)
        #expect(try await replica.checkpoint(.peer(.semas)) == "10")

        // When the same batch arrives again, Then nothing changes: not the digest, not the feed.
        let digest = try await replica.digest(), head = try await replica.headSeq()
        #expect(try await replica.apply([v2, other, v1], from: .peer(.semas)) == [.unchanged, .unchanged, .stale])
        #expect(try await replica.digest() == digest)
        #expect(try await replica.headSeq() == head)
        let summary = try await replica.summary()
        #expect(summary.programs == 2 && summary.referrals == 0)
    }

    @Test("concurrent outcomes merge, log the conflict once, and a duplicate delivery logs nothing more")
    func concurrentMerge() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 12)
        var draft = data.referralDraft(origin: .semas, referralID: "R-7")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .semas, localID: "R-7")
        let created = try RecordVersion.authoring(.createReferral(draft), on: nil, key: key, by: .semas, clock: hlc(1000))
        try await replica.apply([created], from: .peer(.semas))
        // The target marks it supported while the origin withdraws it.
        let supported = try RecordVersion.authoring(.setStatus(.supported), on: created, key: key, by: .kamco, clock: hlc(2000))
        let withdrawn = try RecordVersion.authoring(.setStatus(.withdrawn), on: created, key: key, by: .semas, clock: hlc(2001))
        #expect(try await replica.apply([supported], from: .peer(.kamco)) == [.replaced])
        let outcome = try await replica.apply([withdrawn], from: .peer(.semas))
        guard case .merged(let ids) = outcome.first else { Issue.record("expected a merge, got \(outcome)"); return }
        #expect(ids.count == 1)
        // Both are older than the merged state, which holds every event of each.
        #expect(try await replica.apply([withdrawn, supported], from: .peer(.semas)) == [.stale, .stale])
        let open = try await replica.conflicts(state: .open)
        #expect(open.count == 1)
        #expect(open.first?.field == "status")
        #expect(open.first?.differingFields == ["withdrawn", "supported"])
        #expect(try await replica.record(key)?.referral?.status == .supported)
        #expect(try await replica.summary().openConflicts == 1)

        // When an admin at semas keeps `withdrawn`, Then the conflict is closed as resolved.
        let merged = try #require(try await replica.record(key))
        let keep = try #require(merged.referral?.history.elements.first { $0.to == .withdrawn }?.dot)
        let resolved = try await replica.author(.resolve(field: "status", keep: keep), key: key, by: .semas, admin: "admin@semas")
        #expect(resolved?.referral?.status == .withdrawn)
        #expect(try await replica.conflicts(state: .open).isEmpty)
        #expect(try await replica.conflicts(state: .resolved).first?.closedBy == "admin@semas")
    }

    @Test("a bad record is quarantined with its reason; the good records around it apply")
    func quarantine() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 13)
        let good1 = data.programVersion(owner: .semas, nativeID: "g1", at: hlc(1000))
        let good2 = data.referralVersion(origin: .koreg, referralID: "g2", at: hlc(1000))
        // A kodit program carrying a write by semas: unauthorized author.
        var forged = data.programVersion(owner: .kodit, nativeID: "f1", at: hlc(1000))
        forged.body = .program(MVRegister(forged.program!, dot: Dot(.semas, hlc(1000).rawValue)))
        forged.vector = VersionVector([.semas: hlc(1000).rawValue])
        // A referral whose bytes carry an invalid business number.
        let referral = data.referralVersion(origin: .semas, referralID: "bad-brn", at: hlc(1000))
        let number = Array(referral.referral!.business.value.businessNumber.digits.utf8)
        var bytes = referral.canonicalBytes
        let at = try #require(bytes.firstRange(of: number))
        bytes[at.upperBound - 1] = bytes[at.upperBound - 1] == UInt8(ascii: "9") ? UInt8(ascii: "0") : bytes[at.upperBound - 1] + 1
        // A truncated payload, and one naming an agency outside the governed set.
        let truncated = Array(good1.canonicalBytes.prefix(20))
        var unknownAgency = good1.canonicalBytes
        unknownAgency[1] = 9

        let outcomes = try await replica.apply(encoded: [good1.canonicalBytes, forged.canonicalBytes, bytes, truncated, unknownAgency, good2.canonicalBytes],
                                               from: .tool("test"), checkpoint: Checkpoint(stream: .tool("test"), value: "1"))
        #expect(outcomes[0] == .inserted && outcomes[5] == .inserted)
        let codes = outcomes[1...4].map { outcome -> ValidationError.Code? in
            if case .quarantined(let error) = outcome { return error.code }
            return nil
        }
        #expect(codes == [.unauthorizedAuthor, .invalidBusinessNumber, .malformed, .unknownAgency])
        if case .quarantined(let error) = outcomes[1] {
            #expect(error.record == "program/kodit/f1")
            #expect(error.description.contains("only kodit authors its programs"))
        }
        let held = try await replica.quarantine()
        #expect(held.count == 4)
        #expect(try await replica.checkpoint(.tool("test")) == "1")
        #expect(try await replica.summary().quarantined == 4)
        // The raw payload is kept (sealed) for inspection and retry.
        let payload = try await replica.quarantinedPayload(id: try #require(held.first { $0.recordKey == "program/kodit/f1" }).id)
        #expect(payload == forged.canonicalBytes)
        // The same bad payload again counts an attempt instead of a new row.
        try await replica.apply(encoded: [truncated], from: .tool("test"))
        let again = try await replica.quarantine()
        #expect(again.count == 4)
        #expect(again.contains { $0.attempts == 2 })
    }

    @Test("a version stamped beyond the allowed clock skew is quarantined, not trusted")
    func runawayClock() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let replica = try Replica.temporary(in: dir, clock: clock)
        var data = SyntheticData(seed: 17)
        let future = data.programVersion(owner: .kodit, nativeID: "f", at: hlc(clock.nowMilliseconds() + 2 * 86_400_000))
        let nearFuture = data.programVersion(owner: .kodit, nativeID: "n", at: hlc(clock.nowMilliseconds() + 60_000))
        var forged = data.programVersion(owner: .kodit, nativeID: "w", at: hlc(1))
        forged.vector[.kodit] = .max
        let outcomes = try await replica.apply([future, nearFuture, forged], from: .peer(.kodit))
        #expect(outcomes[1] == .inserted)
        for outcome in [outcomes[0], outcomes[2]] {
            guard case .quarantined(let error) = outcome else { Issue.record("accepted \(outcome)"); continue }
            #expect(error.code == .clockSkew && error.message.contains("clock skew"))
        }
    }

    @Test("local authoring: an edit that restates the record mints no version")
    func authorNoOp() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 14)
        let content = data.program(owner: .ewpc, nativeID: "T-1")
        let edits = [AuthoredEdit(key: content.key, edit: .publishProgram(content))]
        #expect(try await replica.author(edits, by: .ewpc, source: .adapter(.ewpc), checkpoint: Checkpoint(stream: .adapter(.ewpc), value: "a")) == [.inserted])
        let head = try await replica.headSeq()
        #expect(try await replica.author(edits, by: .ewpc, source: .adapter(.ewpc), checkpoint: Checkpoint(stream: .adapter(.ewpc), value: "b")) == [.unchanged])
        #expect(try await replica.headSeq() == head)
        #expect(try await replica.checkpoint(.adapter(.ewpc)) == "b")
        // An adapter's edit that breaks a rule is quarantined with its native payload.
        var bad = content
        bad.nativeID = "T-2"
        bad.period = ApplicationPeriod(start: try LocalDate(year: 2026, month: 9, day: 30), end: try LocalDate(year: 2026, month: 9, day: 1))
        let raw = Array("{\"trprId\":\"T-2\"}".utf8)
        let outcome = try await replica.author([AuthoredEdit(key: bad.key, edit: .publishProgram(bad), raw: raw)], by: .ewpc, source: .adapter(.ewpc))
        guard case .quarantined(let error) = outcome.first else { Issue.record("expected quarantine, got \(outcome)"); return }
        #expect(error.code == .invalidRange && error.field == "period")
        let held = try #require(try await replica.quarantine().first)
        #expect(try await replica.quarantinedPayload(id: held.id) == raw)
        // A single interactive edit throws the reason instead.
        await #expect(throws: StoreError.self) {
            try await replica.author(.publishProgram(content), key: content.key, by: .semas)
        }
    }

    @Test("a program that applies from the source that held it in quarantine releases its row; a held referral row waits for its retry")
    func recoveredReleases() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 15)
        // Given an adapter's program refused by the rules, and a status for a referral not here yet
        var program = data.program(owner: .ewpc, nativeID: "T-1")
        let good = program
        program.period = ApplicationPeriod(start: try LocalDate(year: 2026, month: 9, day: 30), end: try LocalDate(year: 2026, month: 9, day: 1))
        let draft = data.referralDraft(origin: .ewpc, referralID: "R-1")
        let referral = RecordKey(kind: .referral, owner: .ewpc, localID: "R-1")
        let refused = try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program), raw: Array("{\"bad\":1}".utf8)),
                                                AuthoredEdit(key: referral, edit: .setStatus(.received), raw: Array("{\"evnt\":1}".utf8))],
                                               by: .ewpc, source: .adapter(.ewpc))
        #expect(refused.allSatisfy { if case .quarantined = $0 { true } else { false } }, "\(refused)")
        #expect(try await replica.quarantine().count == 2)
        // When a program of another source applies, Then the row stays held
        try await replica.author([AuthoredEdit(key: good.key, edit: .publishProgram(good))], by: .ewpc, source: .adapter(.kinfa))
        #expect(try await replica.quarantine().count == 2)
        // When the fixed program and the referral itself apply from the adapter
        try await replica.author([AuthoredEdit(key: good.key, edit: .publishProgram(good)), AuthoredEdit(key: referral, edit: .createReferral(draft))],
                                 by: .ewpc, source: .adapter(.ewpc))
        // Then the program's row is released; the status event stays held for its retry
        #expect(try await replica.quarantine().map(\.recordKey) == [referral.description])
        #expect(try await replica.quarantine(state: .released).map(\.recordKey) == [good.key.description])
        #expect(try await replica.summary().quarantined == 1)
    }

    @Test("the change feed pages in stable order, once per record at its latest change")
    func changeFeed() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let replica = try Replica.temporary(in: dir, clock: clock)
        var data = SyntheticData(seed: 15)
        let versions = (0..<250).map { data.programVersion(owner: .koreg, nativeID: "n\($0)", at: hlc(1000)) }
        for chunk in stride(from: 0, to: 250, by: 50) {
            try await replica.apply(Array(versions[chunk..<(chunk + 50)]), from: .peer(.koreg))
            clock.advance(milliseconds: 1)
        }
        var cursor: Int64 = 0
        var seen: [RecordKey] = []
        var pages = 0
        while true {
            let page = try await replica.changes(after: cursor, limit: 100)
            #expect(page.epoch == replica.epoch)
            #expect(page.changes.map(\.seq) == page.changes.map(\.seq).sorted())
            seen += page.changes.map(\.version.key)
            cursor = page.nextCursor
            pages += 1
            if !page.hasMore { break }
        }
        #expect(pages == 3)
        #expect(seen == versions.map(\.key))
        // An update moves its record to the end of the feed; an empty page keeps the cursor.
        var content = versions[3].program!
        content.title = "변경"
        try await replica.apply([try RecordVersion.authoring(.publishProgram(content), on: versions[3], key: content.key, by: .koreg, clock: hlc(2000))], from: .peer(.koreg))
        let tail = try await replica.changes(after: cursor, limit: 100)
        #expect(tail.changes.map(\.version.key) == [versions[3].key])
        let empty = try await replica.changes(after: tail.nextCursor, limit: 100)
        #expect(empty.changes.isEmpty && empty.nextCursor == tail.nextCursor && !empty.hasMore)
    }

    @Test("a replica restored from an old copy issues feed numbers above its old ones")
    func restoredFeedNumbers() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        var data = SyntheticData(seed: 16)
        var replica: Replica? = try Replica.temporary(in: dir, clock: clock)
        try await replica!.apply([data.programVersion(owner: .kinfa, nativeID: "a", at: hlc(1))], from: .peer(.kinfa))
        // Given a backup taken now (a checkpointed copy of the file),
        try await replica!.apply([], from: .peer(.kinfa))
        replica = nil
        try FileManager.default.copyItem(atPath: dir.file("replica.sqlite"), toPath: dir.file("backup.sqlite"))
        replica = try Replica.temporary(in: dir, clock: clock)
        clock.advance(milliseconds: 10)
        try await replica!.apply((0..<5).map { data.programVersion(owner: .kinfa, nativeID: "b\($0)", at: hlc(2)) }, from: .peer(.kinfa))
        let lastBeforeRestore = try await replica!.headSeq()
        let epoch = replica!.epoch
        replica = nil
        // When the old copy is restored and the node writes again,
        try FileManager.default.removeItem(atPath: dir.file("replica.sqlite"))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir.file("replica.sqlite" + suffix)) }
        try FileManager.default.copyItem(atPath: dir.file("backup.sqlite"), toPath: dir.file("replica.sqlite"))
        clock.advance(milliseconds: 10)
        let restored = try Replica.temporary(in: dir, clock: clock)
        try await restored.apply([data.programVersion(owner: .kinfa, nativeID: "c", at: hlc(3))], from: .peer(.kinfa))
        // Then its new change sorts after everything a peer's cursor could have reached.
        #expect(restored.epoch == epoch)
        let page = try await restored.changes(after: lastBeforeRestore, limit: 10)
        #expect(page.changes.map(\.version.key.localID) == ["c"])
    }

    @Test("a write that changes no record (a checkpoint alone) wakes no long-poll; a record change does")
    func wakesOnlyOnChange() async throws {
        // Two idle nodes long-polling each other must not wake each other with checkpoint writes.
        let replica = try Replica.inMemory()
        let start = replica.commitGeneration
        try await replica.apply([], from: .peer(.kodit), checkpoint: Checkpoint(stream: .peer(.kodit), value: "e 5"))
        try await replica.author([], by: .semas, source: .writeProbe, checkpoint: Checkpoint(stream: .writeProbe, value: "1"))
        #expect(replica.commitGeneration == start)
        var data = SyntheticData(seed: 9)
        let program = data.program(owner: .semas, nativeID: "wake")
        try await replica.author(.publishProgram(program), key: program.key, by: .semas)
        #expect(replica.commitGeneration == start + 1)
        // And the same content again is a no-op: no new version, no wake.
        try await replica.author(.publishProgram(program), key: program.key, by: .semas)
        #expect(replica.commitGeneration == start + 1)
    }


    @Test("an agency's bad item is one quarantine row however its content moves between polls (a view counter): attempts count, the newest payload is kept; without an id, the same position is the same row; a peer's versions stay one row each")
    func quarantineOneRowPerItem() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        let key = RecordKey(kind: .program, owner: .kinfa, localID: "4103")
        let missing = ValidationError(.malformed, record: key.description, field: "title", "pblancNm is missing")
        let noID = ValidationError(.malformed, "no readable id (item 2 of page 1)")
        for views in [11, 12, 13] {
            try await replica.author([AuthoredEdit(key: key, refused: missing, raw: Array(#"{"inqireCo":"\#(views)","pblancId":"4103"}"#.utf8)),
                                      AuthoredEdit(key: nil, refused: noID, raw: Array(#"{"inqireCo":"\#(views)"}"#.utf8))],
                                     by: .kinfa, source: .adapter(.kinfa, .programs))
        }
        let held = try await replica.quarantine()
        #expect(held.count == 2, "\(held.map { "\($0.recordKey ?? "-") \($0.attempts)" })")
        #expect(held.allSatisfy { $0.attempts == 3 })
        let row = try #require(held.first { $0.recordKey == key.description })
        #expect(try await replica.quarantinedPayload(id: row.id) == Array(#"{"inqireCo":"13","pblancId":"4103"}"#.utf8))
        // Another position without an id is another row.
        try await replica.author([AuthoredEdit(key: nil, refused: ValidationError(.malformed, "no readable id (item 5 of page 1)"), raw: Array("{}".utf8))],
                                 by: .kinfa, source: .adapter(.kinfa, .programs))
        #expect(try await replica.quarantine().count == 3)
        // From a peer, two different payloads of one record are two rows (each is retried).
        var data = SyntheticData(seed: 14)
        let first = data.programVersion(owner: .semas, nativeID: "ahead", at: hlc(UInt64(Date().timeIntervalSince1970 * 1000) + 7_200_000))
        var content = first.program!
        content.title += " (개정)"
        let second = try RecordVersion.authoring(.publishProgram(content), on: first, key: first.key, by: .semas, clock: hlc(UInt64(Date().timeIntervalSince1970 * 1000) + 7_300_000))
        #expect(try await replica.apply([first], from: .peer(.semas)).first.map { if case .quarantined = $0 { true } else { false } } == true)
        try await replica.apply([second], from: .peer(.semas))
        #expect(try await replica.quarantine().filter { $0.source == .peer(.semas) }.count == 2)
    }
}
