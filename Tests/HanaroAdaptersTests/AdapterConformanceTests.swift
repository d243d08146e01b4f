import AgencySimulator
import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroStore
import HanaroTesting
import Testing

/// The one conformance suite every adapter must pass , run against each
/// agency's simulator over real HTTPS on loopback, with a real replica file.
@Suite("Adapter conformance", .serialized)
struct AdapterConformanceTests {
    @Test("a first full read equals the data set; a second read changes nothing (incremental: takes nothing; snapshot: recognises everything); duplicate delivery is harmless", arguments: AgencyID.allCases)
    func fullThenIncremental(agency: AgencyID) async throws {
        // Given a simulated agency with a seeded data set of a few pages
        try await SimulatedAgency.with(agency) { sim in
            // When the adapter reads everything
            let first = try await sim.ingest.ingestPrograms()
            // Then the replica holds exactly the simulator's data set, mapped
            let expected = await sim.simulator.expectedPrograms()
            #expect(expected.count == 240)
            #expect(differences(expected, try await sim.replicaPrograms()) == [])
            #expect(first.summary.items == 240 && first.applied == 240 && first.summary.isComplete)
            #expect(first.summary.isSnapshot == !sim.incremental)
            // When it reads again with no change
            let head = try await sim.replica.summary().headSeq
            let second = try await sim.ingest.ingestPrograms()
            // Then nothing changes: an incremental read takes nothing (kamco's daily files: only the
            // latest day's again), a snapshot recognises every item
            if agency == .kamco {
                #expect(second.summary.items < 240)
            } else {
                #expect(second.summary.items == (sim.incremental ? 0 : 240))
            }
            #expect(second.applied == 0 && second.closed == 0)
            #expect(try await sim.replica.summary().headSeq == head)
            // When everything is delivered again (a full re-read)
            let again = try await sim.ingest.ingestPrograms(full: true)
            // Then it is all taken and changes nothing
            #expect(again.summary.items == 240 && again.applied == 0 && again.unchanged == 240)
            #expect(try await sim.replica.summary().headSeq == head)
            #expect(try await sim.replica.summary().quarantined == 0)
        }
    }

    @Test("changes made while paging, and duplicated pages, are picked up and not skipped", arguments: AgencyID.allCases)
    func changesWhilePaging(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency) { sim in
            try await sim.ingest.ingestPrograms()
            // Given new, changed and deleted programs, and an agency that changes records while we page
            // and repeats a page
            for _ in 0..<3 { await sim.simulator.createProgram() }
            let ids = await sim.simulator.expectedPrograms().map(\.nativeID)
            await sim.simulator.changeProgram(ids[5])
            await sim.simulator.deleteProgram(ids[9])
            sim.letSecondPass()
            var faults = SimulatorFaults()
            faults.changeWhilePaging = 4
            faults.duplicatePages = 1
            await sim.simulator.setFaults(faults)
            // When a full read runs through those faults, then an incremental one
            let during = try await sim.ingest.ingestPrograms(full: true)
            sim.letSecondPass()
            let after = try await sim.ingest.ingestPrograms()
            // Then the replica holds the latest state of every program
            let missed = differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms())
            #expect(missed == [], "\(missed.prefix(3)); during: \(during.summary); after: \(after.summary)")
            let changedDuringRead = await sim.simulator.changedWhilePaging
            #expect(changedDuringRead >= 1)
            #expect(after.summary.items >= changedDuringRead, "the records changed during the read come with the next one")
            if agency != .kamco {
                #expect(during.summary.restarts >= 1, "the shifted or repeated page was noticed")
            }
            #expect(try await sim.replicaPrograms().first { $0.nativeID == ids[9] }?.isDeleted == true)
        }
    }

    @Test("snapshot formats: a program missing from one complete snapshot stays; missing from two it is closed; listed again it comes back", arguments: [AgencyID.semas, .kinfa, .ewpc])
    func absentTwiceIsClosed(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 30) { sim in
            try await sim.ingest.ingestPrograms()
            let ids = await sim.simulator.listedIDs()
            let key = RecordKey(kind: .program, owner: agency, localID: ids[3])
            // Given the agency stops listing one program
            #expect(await sim.simulator.unlist(ids[3]))
            // When one complete snapshot lacks it, Then it is kept
            let once = try await sim.ingest.ingestPrograms()
            #expect(once.closed == 0)
            #expect(try await sim.replica.record(key)?.program?.isDeleted == false)
            // When a second consecutive one lacks it, Then it is closed (a tombstone)
            let twice = try await sim.ingest.ingestPrograms()
            #expect(twice.closed == 1)
            #expect(try await sim.replica.record(key)?.program?.isDeleted == true)
            // And a third read changes nothing more
            let head = try await sim.replica.summary().headSeq
            #expect(try await sim.ingest.ingestPrograms().closed == 0)
            #expect(try await sim.replica.summary().headSeq == head)
            // When the agency lists it again, Then it is open again
            #expect(await sim.simulator.relist(ids[3]))
            try await sim.ingest.ingestPrograms()
            #expect(try await sim.replica.record(key)?.program?.isDeleted == false)
            // A program absent from one snapshot and back in the next is never closed.
            #expect(await sim.simulator.unlist(ids[5]))
            try await sim.ingest.ingestPrograms()
            #expect(await sim.simulator.relist(ids[5]))
            try await sim.ingest.ingestPrograms()
            #expect(await sim.simulator.unlist(ids[5]))
            #expect(try await sim.ingest.ingestPrograms().closed == 0)
        }
    }

    @Test("a failed snapshot closes nothing: an error page mid-read leaves every program as it was")
    func failedSnapshotClosesNothing() async throws {
        try await SimulatedAgency.with(.semas, programs: 120, pageSize: 20) { sim in
            try await sim.ingest.ingestPrograms()
            let ids = await sim.simulator.listedIDs()
            #expect(await sim.simulator.unlist(ids[0]))
            try await sim.ingest.ingestPrograms()
            // Given the program was missing once; When the next read fails midway
            var faults = SimulatorFaults()
            faults.errorBurst = 1
            faults.errorAfterPages = 2
            await sim.simulator.setFaults(faults)
            await #expect(throws: AdapterError.self) { try await sim.ingest.ingestPrograms() }
            // Then nothing was closed, and the next complete read is what counts
            #expect(try await sim.replica.record(RecordKey(kind: .program, owner: .semas, localID: ids[0]))?.program?.isDeleted == false)
        }
    }

    @Test("a future or corrupt cursor is set aside and the read starts over", arguments: AgencyID.allCases)
    func futureAndCorruptCursor(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 60) { sim in
            let stream = StreamID.adapter(agency, .programs)
            // Given a cursor from the future
            try await sim.replica.author([], by: agency, checkpoint: .init(stream: stream, value: "29991231235959 ZZZ"))
            let future = try await sim.ingest.ingestPrograms()
            // Then the read starts from the beginning and says so (a snapshot reads everything anyway)
            if sim.incremental { #expect(future.summary.cursorReset?.contains("after the agency's clock") == true) }
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
            // Given a corrupt cursor
            try await sim.replica.author([], by: agency, checkpoint: .init(stream: stream, value: "garbage"))
            let corrupt = try await sim.ingest.ingestPrograms()
            #expect(corrupt.summary.cursorReset?.contains("corrupt") == true)
            #expect(corrupt.summary.items == 60)
            // And the cursor is sound again afterwards
            let stored = try await sim.replica.checkpoint(stream)
            #expect(stored.map { (try? AdapterCursor(text: $0)) != nil } == true)
        }
    }

    @Test("malformed records go to quarantine with their raw payload and reason; the rest apply", arguments: AgencyID.allCases)
    func malformedQuarantined(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 120) { sim in
            try await sim.ingest.ingestPrograms()
            // Given three records the agency now publishes with a field no adapter can map, and new ones
            var faults = SimulatorFaults()
            faults.malformedRecords = 3
            await sim.simulator.setFaults(faults)
            for _ in 0..<5 { await sim.simulator.createProgram() }
            sim.letSecondPass()
            // When the adapter reads
            let summary = try await sim.ingest.ingestPrograms()
            // Then the three are quarantined with a reason, and the five new ones applied
            #expect(summary.quarantined == 3 && summary.applied == 5)
            let held = try await sim.replica.quarantine()
            #expect(held.count == 3)
            #expect(held.allSatisfy { $0.source == .adapter(agency) && !$0.reason.isEmpty })
            let payload = try await sim.replica.quarantinedPayload(id: held[0].id)
            #expect((payload?.count ?? 0) > 20, "the raw native payload is kept")
            let malformed = Set(await sim.simulator.malformedIDs())
            let mapped = try await sim.replicaPrograms().filter { !malformed.contains($0.nativeID) }
            #expect(differences(await sim.simulator.expectedPrograms(), mapped) == [])
        }
    }

    @Test("envelope errors surface with a readable reason, and nothing is lost", arguments: AgencyID.allCases)
    func envelopeErrors(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 80) { sim in
            // A wrong key
            let (wrong, wrongHTTP) = try sim.adapter(serviceKey: "not-the-key")
            await #expect(throws: AdapterError.self) { try await wrong.check() }
            do throws(AdapterError) { _ = try await wrong.check() } catch {
                #expect(error.code == .unauthorized, "\(error)")
                #expect(error.message.contains("service_key"))
            }
            await wrongHTTP.shutdown()
            // An error burst (HTTP 200 carrying an error code, or 5xx), a 429, a truncated body
            let cases: [(SimulatorFaults, Set<AdapterError.Code>)] = [
                ({ var f = SimulatorFaults(); f.errorBurst = 1; return f }(), [.envelope]),
                ({ var f = SimulatorFaults(); f.rateLimited = 1; f.retryAfterSeconds = 7; return f }(), [.rateLimited]),
                ({ var f = SimulatorFaults(); f.truncate = 1; return f }(), [.schema]),
            ]
            for (faults, codes) in cases {
                await sim.simulator.setFaults(faults)
                do throws(AdapterError) {
                    try await sim.ingest.ingestPrograms()
                    Issue.record("\(faults) did not surface")
                } catch {
                    #expect(codes.contains(error.code), "\(error)")
                    #expect(error.message.count > 10)
                    if error.code == .rateLimited { #expect(error.retryAfterSeconds == 7) }
                }
            }
            // Then the next read takes everything: nothing was lost
            try await sim.ingest.ingestPrograms()
            #expect(differences(await sim.simulator.expectedPrograms(), try await sim.replicaPrograms()) == [])
        }
    }

    @Test("referral events: new referrals and status changes are recorded once; deliveries reach the intake", arguments: AgencyID.allCases)
    func referralEvents(agency: AgencyID) async throws {
        try await SimulatedAgency.with(agency, programs: 10) { sim in
            let target = AgencyID.allCases.first { $0 != agency }!
            // Given three referrals made by the agency's counsellors, one of them later withdrawn
            var ids: [String] = []
            for _ in 0..<3 { ids.append(await sim.simulator.createReferral(to: target)) }
            sim.letSecondPass()
            try await sim.ingest.ingestReferralEvents()
            #expect(await sim.simulator.setReferralStatus(ids[1], to: "withdrawn", note: "본인 요청으로 철회"))
            sim.letSecondPass()
            try await sim.ingest.ingestReferralEvents()
            // Then the replica holds them, with the status and the note
            let referrals = try await sim.replicaReferrals()
            #expect(referrals.map(\.referralID) == ids)
            #expect(referrals.allSatisfy { $0.origin == agency && $0.target == target })
            #expect(referrals[1].status == .withdrawn)
            #expect(referrals[1].notes.elements.map(\.text) == ["본인 요청으로 철회"])
            #expect(referrals[0].personal.value.fields != nil)
            // When the events are delivered again (a full re-read), nothing changes
            let head = try await sim.replica.summary().headSeq
            try await sim.ingest.ingestReferralEvents(full: true)
            #expect(try await sim.replica.summary().headSeq == head)
            #expect(try await sim.replica.summary().quarantined == 0)
            // When the outbound side runs, the agency's intake receives each referral (an upsert)
            #expect(try await sim.ingest.pendingOutbound() == 3)
            #expect(try await sim.ingest.deliverOutbound() == 3)
            #expect(try await sim.ingest.pendingOutbound() == 0)
            let intake = await sim.simulator.intakeSnapshot()
            #expect(Set(intake.keys) == Set(ids))
            #expect(intake[ids[1]]?["sttsCd"] == "withdrawn")
            #expect(intake[ids[0]]?["ownrNm"]?.isEmpty == false, "the origin gets its own personal fields back")
        }
    }
}

@Suite("Adapter transport")
struct AdapterTransportTests {
    @Test("the per-agency rate limit: a burst of one second, then requests spaced at the rate (adapter.rate_limit)")
    func tokenBucket() {
        var bucket = TokenBucket(perSecond: 10)
        let start = Duration.seconds(100)
        // Given a bucket full for one second, When 10 requests come at once, Then all go.
        for _ in 0..<10 { #expect(bucket.take(now: start) == nil) }
        // The 11th waits a tenth of a second.
        #expect(bucket.take(now: start) == .milliseconds(100))
        // After that tenth, one more goes; then it waits again.
        #expect(bucket.take(now: start + .milliseconds(100)) == nil)
        #expect(bucket.take(now: start + .milliseconds(100)) != nil)
        // After an idle while, the bucket holds one second's burst again, never more.
        for _ in 0..<10 { #expect(bucket.take(now: start + .seconds(60)) == nil) }
        #expect(bucket.take(now: start + .seconds(60)) != nil)
    }

    @Test("requests above the rate wait on the agency's limiter, and all of them reach the agency")
    func rateLimitedRequests() async throws {
        try await SimulatedAgency.with(.ewpc, programs: 5) { sim in
            let clock = ManualClock()
            let settings = AdapterSettings(baseURL: sim.url, serviceKey: "demo-key", requestsPerSecond: 10, caPath: sim.dir.file("federation-ca.pem"))
            let http = try AgencyHTTP(agency: .ewpc, settings: settings, clock: clock)
            let adapter = AgencyFormats.makeAdapter(for: .ewpc, settings: settings, http: http)
            let before = await sim.simulator.nativeRequests
            // When 12 requests are made, the 11th waits on the limiter until its clock moves.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for _ in 0..<12 { _ = try await adapter.check() } }
                while clock.sleeperCount == 0 { await Task.yield() }
                #expect(await sim.simulator.nativeRequests - before == 10)
                clock.advance(by: .milliseconds(100))
                while clock.sleeperCount == 0 { await Task.yield() }
                #expect(await sim.simulator.nativeRequests - before == 11)
                clock.advance(by: .milliseconds(100))
                try await group.waitForAll()
            }
            #expect(await sim.simulator.nativeRequests - before == 12)
            await http.shutdown()
        }
    }

    @Test("an unreachable agency and a refused TLS handshake give readable reasons")
    func unreachableAndTLS() async throws {
        try await SimulatedAgency.with(.semas, programs: 5) { sim in
            // No CA given: the agency's development certificate does not verify.
            let untrusted = AdapterSettings(baseURL: sim.url, serviceKey: "demo-key")
            let http = try AgencyHTTP(agency: .semas, settings: untrusted)
            await #expect { try await AgencyFormats.makeAdapter(for: .semas, settings: untrusted, http: http).check() } throws: {
                ($0 as? AdapterError)?.code == .tls && ($0 as? AdapterError)?.message.contains("adapter.ca") == true
            }
            await http.shutdown()
            // Nothing listens on the port.
            let closed = AdapterSettings(baseURL: "https://127.0.0.1:1", serviceKey: "demo-key", timeoutSeconds: 2)
            let http2 = try AgencyHTTP(agency: .semas, settings: closed)
            await #expect { try await AgencyFormats.makeAdapter(for: .semas, settings: closed, http: http2).check() } throws: {
                ($0 as? AdapterError)?.code == .unreachable && ($0 as? AdapterError)?.message.contains("adapter.base_url") == true
            }
            await http2.shutdown()
        }
    }
}
