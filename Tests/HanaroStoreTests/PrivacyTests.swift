import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

@Suite("Personal data at rest")
struct PrivacyTests {
    /// Every byte SQLite wrote for the replica: the main file and the write-ahead log.
    static func rawBytes(_ dir: TemporaryDirectory, name: String = "replica.sqlite") -> Data {
        var all = Data()
        for name in [name, name + "-wal"] {
            all.append(FileManager.default.contents(atPath: dir.file(name)) ?? Data())
        }
        return all
    }

    @Test("personal fields past their consented retention are purged by the origin, once, audited without the name")
    func retentionPurge() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 22)
        var keys: [String: RecordKey] = [:]
        for (id, until) in [("OLD", "2026-11-30"), ("TODAY", "2026-12-03"), ("LATER", "2027-06-30")] {
            var draft = data.referralDraft(origin: .semas, referralID: id)
            draft.personal = PersonalFields(ownerName: "김보유", phone: "010-2222-3333")
            draft.consent?.retainUntil = try #require(LocalDate(parsing: until))
            let key = RecordKey(kind: .referral, owner: .semas, localID: id)
            try await replica.author(.createReferral(draft), key: key, by: .semas)
            keys[id] = key
        }
        // Another agency's referral is not this node's to purge (only the origin writes personal fields).
        var foreign = data.referralDraft(origin: .kodit, referralID: "K-OLD")
        foreign.consent?.retainUntil = try LocalDate(year: 2020, month: 1, day: 1)
        let foreignKey = RecordKey(kind: .referral, owner: .kodit, localID: "K-OLD")
        try await replica.author(.createReferral(foreign), key: foreignKey, by: .kodit)

        let today = try LocalDate(year: 2026, month: 12, day: 3)
        #expect(try await replica.purgeExpiredPersonal(origin: .semas, before: today) == 1)
        #expect(try await replica.record(keys["OLD"]!)?.referral?.personal.value == .purged)
        // The last day of retention is still within it.
        #expect(try await replica.record(keys["TODAY"]!)?.referral?.personal.value.fields?.ownerName == "김보유")
        #expect(try await replica.record(keys["LATER"]!)?.referral?.personal.value.fields?.ownerName == "김보유")
        #expect(try await replica.record(foreignKey)?.referral?.personal.value.fields != nil)
        // Once: a second pass finds nothing; the purge is audited, naming the record, not the person.
        #expect(try await replica.purgeExpiredPersonal(origin: .semas, before: today) == 0)
        let audit = try await replica.audit(limit: 100)
        let purges = audit.filter { $0.action == "referral.personal.purge" }
        #expect(purges.count == 1 && purges.first?.target == keys["OLD"]!.description)
        #expect(!audit.contains { $0.detail.contains("김보유") || $0.detail.contains("010-2222") })
    }

    @Test("names and phones are not in the database file; business data is (the grep works)")
    func encryptedAtRest() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 21)
        var draft = data.referralDraft(origin: .semas, referralID: "P-1")
        draft.personal = PersonalFields(ownerName: "홍길동순", phone: "010-9876-5432")
        draft.business.tradeName = "길동순대국"
        let key = RecordKey(kind: .referral, owner: .semas, localID: "P-1")
        try await replica.author(.createReferral(draft), key: key, by: .semas)
        // A conflict and a quarantined payload may carry personal data too: make both exist.
        let stored = try #require(try await replica.record(key))
        let a = try RecordVersion.authoring(.setPersonal(PersonalFields(ownerName: "홍길동순", phone: "010-1111-2222")), on: stored, key: key, by: .semas, clock: hlc(5_000_000_000_000))
        var forged = a
        forged.vector[.kodit] = 1 // not covered by any write, fine; but add a kodit note to make it unauthorized
        if case .referral(var r) = forged.body {
            r.notes.insert(ReferralNote(dot: Dot(.kodit, 1), text: "x"))
            forged.body = .referral(r)
        }
        try await replica.apply([forged], from: .peer(.kodit))
        #expect(try await replica.summary().quarantined == 1)

        let raw = Self.rawBytes(dir)
        #expect(raw.count > 0)
        #expect(raw.firstRange(of: Data("길동순대국".utf8)) != nil, "control: business data is stored in clear")
        for secret in ["홍길동순", "010-9876-5432", "9876-5432", "010-1111-2222"] {
            #expect(raw.firstRange(of: Data(secret.utf8)) == nil, "\(secret) found in the raw database file")
        }
        // Through the facade, with the key, the fields read back.
        #expect(try await replica.record(key)?.referral?.personal.value.fields?.ownerName == "홍길동순")
    }

    @Test("a party and a non-party replica hold different personal data but the same digest")
    func digestsAcrossParties() async throws {
        let dir = TemporaryDirectory()
        let target = try Replica.temporary(in: dir, name: "kamco.sqlite")
        let bystander = try Replica.temporary(in: dir, name: "kodit.sqlite")
        var data = SyntheticData(seed: 23)
        var draft = data.referralDraft(origin: .semas, referralID: "D-1")
        draft.target = .kamco
        draft.consent?.recipient = .kamco
        let key = RecordKey(kind: .referral, owner: .semas, localID: "D-1")
        let version = try RecordVersion.authoring(.createReferral(draft), on: nil, key: key, by: .semas, clock: hlc(1000))
        try await target.apply([version.shared(with: .kamco)], from: .peer(.semas))
        try await bystander.apply([version.shared(with: .kodit)], from: .peer(.semas))
        #expect(try await target.record(key)?.referral?.personal.value.fields != nil)
        #expect(try await bystander.record(key)?.referral?.personal.value == .withheld)
        #expect(try await target.digest() == (try await bystander.digest()))
        // The bystander relays the withheld form; the target keeps the fields it has.
        let relayed = try #require(try await bystander.record(key))
        #expect(try await target.apply([relayed], from: .peer(.kodit)) == [.unchanged])
        #expect(try await target.record(key)?.referral?.personal.value.fields?.ownerName == draft.personal?.ownerName)
        #expect(PrivacyTests.rawBytes(dir, name: "kodit.sqlite").firstRange(of: Data(draft.personal!.ownerName.utf8)) == nil)
    }

    @Test("the wrong key file cannot read personal fields, and says so")
    func wrongKey() async throws {
        let dir = TemporaryDirectory()
        let replica = try Replica.temporary(in: dir)
        var data = SyntheticData(seed: 22)
        let version = data.referralVersion(origin: .kinfa, referralID: "K-1", at: hlc(1))
        try await replica.apply([version], from: .peer(.kinfa))
        let intruder = try Replica(path: dir.file("replica.sqlite"), key: ReplicaKey.random())
        do {
            _ = try await intruder.record(version.key)
            Issue.record("read personal fields with the wrong key")
        } catch {
            #expect(error.code == .decryption)
            #expect(error.message.contains("another key file"))
        }
    }

    @Test("key files: missing, world-readable, malformed, and never overwritten")
    func keyFiles() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("node.key")
        #expect { try ReplicaKey.load(from: path) } throws: { "\($0)".contains("hanaro keygen") }
        try ReplicaKey.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        _ = try ReplicaKey.load(from: path)
        #expect { try ReplicaKey.create(at: path) } throws: { "\($0)".contains("not overwritten") }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect { try ReplicaKey.load(from: path) } throws: { "\($0)".contains("chmod 600") }
        let bad = dir.file("bad.key")
        FileManager.default.createFile(atPath: bad, contents: Data("not hex\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect { try ReplicaKey.load(from: bad) } throws: { "\($0)".contains("64 hex characters") }
    }
}

@Suite("Digest and limits")
struct DigestTests {
    @Test("the running digest equals the recomputed one, and replicas fed in any order agree")
    func digestAgreement() async throws {
        let dir = TemporaryDirectory()
        let a = try Replica.temporary(in: dir, name: "a.sqlite")
        let b = try Replica.temporary(in: dir, name: "b.sqlite")
        var data = SyntheticData(seed: 31)
        var versions = (0..<40).map { data.programVersion(owner: .semas, nativeID: "d\($0)", at: hlc(100)) }
        versions += (0..<20).map { data.referralVersion(origin: .koreg, referralID: "r\($0)", at: hlc(100)) }
        // Later versions of some records.
        for i in [1, 5, 9] {
            var content = versions[i].program!
            content.title += " (수정)"
            versions.append(try RecordVersion.authoring(.publishProgram(content), on: versions[i], key: content.key, by: .semas, clock: hlc(200)))
        }
        try await a.apply(versions, from: .tool("x"))
        var rng = SplitMix64(seed: 5)
        let shuffled = versions.shuffled(using: &rng)
        for chunk in stride(from: 0, to: shuffled.count, by: 7) {
            try await b.apply(Array(shuffled[chunk..<min(chunk + 7, shuffled.count)]) + [shuffled[chunk]], from: .tool("y"))
        }
        let da = try await a.digest()
        #expect(da == (try await b.digest()))
        #expect(da == (try await a.recomputeDigest()))
        #expect(da != .empty)
        // One differing record makes the digests differ.
        try await b.apply([data.programVersion(owner: .ewpc, nativeID: "extra", at: hlc(300))], from: .tool("y"))
        #expect(try await b.digest() != da)
        #expect(try await b.digest() == (try await b.recomputeDigest()))
    }

    @Test("a full disk: the batch fails with a clear error and nothing of it is written; the replica stays usable")
    func diskFull() async throws {
        let dir = TemporaryDirectory()
        var data = SyntheticData(seed: 32)
        // Cap the file at 60 pages of 4 KiB: SQLite then reports SQLITE_FULL exactly as on a full disk.
        let replica = try Replica.temporary(in: dir, maxPageCount: 60)
        let small = (0..<10).map { data.programVersion(owner: .semas, nativeID: "s\($0)", at: hlc(1)) }
        try await replica.apply(small, from: .peer(.semas), checkpoint: Checkpoint(stream: .peer(.semas), value: "1"))
        let before = try await replica.summary()
        let big = (0..<2000).map { data.programVersion(owner: .semas, nativeID: "b\($0)", at: hlc(2)) }
        do {
            try await replica.apply(big, from: .peer(.semas), checkpoint: Checkpoint(stream: .peer(.semas), value: "2"))
            Issue.record("a batch larger than the disk was accepted")
        } catch {
            #expect(error.code == .diskFull)
            #expect(error.message.contains("full"))
            #expect(error.message.contains("replica.sqlite"))
        }
        #expect(try await replica.checkpoint(.peer(.semas)) == "1")
        #expect(try await replica.summary() == before)
        #expect(try await replica.integrityCheck() == "ok")
        // After space is freed (here: the cap lifted), the same batch applies in full.
        let roomy = try Replica.temporary(in: dir)
        try await roomy.apply(big, from: .peer(.semas), checkpoint: Checkpoint(stream: .peer(.semas), value: "2"))
        #expect(try await roomy.summary().programs == 2010)
        #expect(try await roomy.digest() == (try await roomy.recomputeDigest()))
    }

    @Test("a missing data directory is a clear error naming it")
    func missingDirectory() throws {
        #expect { try Replica(path: "/nonexistent-hanaro-dir/replica.sqlite", key: .random()) } throws: {
            "\($0)".contains("/nonexistent-hanaro-dir") && "\($0)".contains("does not exist")
        }
    }
}
