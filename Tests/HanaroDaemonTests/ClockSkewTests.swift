import Foundation
import HanaroCore
@testable import HanaroDaemon
@testable import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

/// A node whose clock ran ahead: its own clock is brought back at open, peers hold its versions
/// (not lose them) and take them once their clocks allow, and the link to it is not fresh meanwhile.
@Suite("Clock skew")
struct ClockSkewTests {
    @Test("a replica whose logical clock ran two hours ahead is brought back at open; its next writes are stamped now")
    func clampAtOpen() async throws {
        let dir = TemporaryDirectory("skew")
        let now = ManualClock()
        let key = try ReplicaKey.create(at: dir.file("replica.key"))
        var ahead = Replica.Options()
        ahead.clock = ManualClock(wallMilliseconds: now.nowMilliseconds() + 2 * 3_600_000)
        do {
            let replica = try Replica(path: dir.file("replica.sqlite"), key: key, options: ahead)
            var data = SyntheticData(seed: 1)
            let early = data.program(owner: .kamco, nativeID: "while-ahead")
            try await replica.author(.publishProgram(early), key: early.key, by: .kamco)
        }
        var options = Replica.Options()
        options.clock = now
        let replica = try Replica(path: dir.file("replica.sqlite"), key: key, options: options)
        let clamped = try #require(replica.clampedClockFrom)
        #expect(clamped > now.nowMilliseconds() + 3_600_000)
        var data = SyntheticData(seed: 2)
        let fresh = data.program(owner: .kamco, nativeID: "after-restart")
        let version = try #require(try await replica.author(.publishProgram(fresh), key: fresh.key, by: .kamco))
        #expect(HLCTimestamp(rawValue: version.vector[.kamco]).millisecondsSince1970 < now.nowMilliseconds() + 60_000)
        // A replica whose clock is within the bound is left alone.
        let again = try Replica(path: dir.file("replica.sqlite"), key: key, options: options)
        #expect(again.clampedClockFrom == nil)
    }

    @Test("versions stamped ahead of the allowed skew are held, retried, and applied once the clock allows — never lost")
    func heldAndRetried() async throws {
        let clock = ManualClock()
        var options = Replica.Options()
        options.clock = clock
        let replica = try Replica.inMemory(options: options)
        var data = SyntheticData(seed: 3)
        let ahead = data.programVersion(owner: .kodit, nativeID: "ahead", at: HLCTimestamp(millisecondsSince1970: clock.nowMilliseconds() + 2 * 3_600_000))
        let outcome = try await replica.apply([ahead], from: .peer(.kodit))
        guard case .quarantined(let error) = outcome.first else { Issue.record("accepted \(outcome)"); return }
        #expect(error.code == .clockSkew && error.message.contains("clock skew 7200 s"))
        let retry = QuarantineRetry(replica: replica, localAgency: .semas, adapters: [:])
        #expect(try await retry.retryClockSkewed() == (0, 1))
        #expect(try await replica.record(ahead.key) == nil)
        // When the clock reaches the skew bound, Then the held version applies and is released.
        clock.advance(by: .seconds(3_600 + 1))
        #expect(try await retry.retryClockSkewed() == (1, 0))
        #expect(try await replica.record(ahead.key) != nil)
        #expect(try await replica.quarantine().isEmpty)
    }

    @Test("a link whose last page was held for a clock skew is degraded, with the reason, not fresh")
    func linkDegraded() {
        var status = PeerLinkStatus()
        status.lastCaughtUpAt = Date()
        status.clockSkewSeconds = 7200
        status.clockSkewReason = "clock skew 7200 s: version stamped 7200 s ahead"
        let direction = NodeStatus.direction(of: status, stale: 900, now: Date())
        #expect(direction.state == .degraded && direction.lastErrorKind == .clockSkew)
        #expect(direction.lastError?.contains("7200") == true)
    }
}
