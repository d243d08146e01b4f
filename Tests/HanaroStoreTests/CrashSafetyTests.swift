import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore
import HanaroTesting
import Testing

/// A real child process (`hanaro-torture`) applies batches in a loop; the test kills it with
/// SIGKILL at random moments and checks, after each kill, that the file is intact and that every
/// batch is either wholly there with its checkpoint or not there at all.
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    /// The directory holding the built executables (next to the test bundle).
    static var productsDirectory: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("hanaro-torture").path) }
            ?? candidates[0]
    }

    static let newPerBatch = 50
    static let fixedRecords = 10

    @Test("kill -9 at random moments: integrity ok, batches all-or-nothing with their checkpoint")
    func killNine() async throws {
        let torture = Self.productsDirectory.appendingPathComponent("hanaro-torture")
        try #require(FileManager.default.isExecutableFile(atPath: torture.path), "hanaro-torture not built at \(torture.path)")
        let dir = TemporaryDirectory()
        let db = dir.file("replica.sqlite"), keyPath = dir.file("replica.key")
        let key = try ReplicaKey.create(at: keyPath)
        let seed = UInt64(ProcessInfo.processInfo.environment["HANARO_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        var rng = SplitMix64(seed: seed)
        var lastBatch = 0
        var killsMidRun = 0
        for trial in 1...24 {
            // Given a child applying batches,
            let child = Process()
            child.executableURL = torture
            child.arguments = [db, keyPath]
            child.standardOutput = FileHandle.nullDevice
            try child.run()
            // When it is killed with SIGKILL at a random moment (some during start-up),
            let delay = UInt64.random(in: 5...400, using: &rng)
            try await Task.sleep(nanoseconds: delay * 1_000_000)
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "trial \(trial), seed \(seed): child exited on its own (\(child.terminationStatus))")

            // Then the file is intact and holds exactly the batches up to its checkpoint.
            let replica = try Replica(path: db, key: key)
            #expect(try await replica.integrityCheck() == "ok", "trial \(trial), seed \(seed)")
            let n = Int(try await replica.checkpoint(.tool("torture")) ?? "0")!
            #expect(n >= lastBatch, "trial \(trial), seed \(seed): checkpoint went back from \(lastBatch) to \(n)")
            if n > lastBatch { killsMidRun += 1 }
            lastBatch = n
            let summary = try await replica.summary()
            #expect(summary.programs == Int64(n * Self.newPerBatch + (n > 0 ? Self.fixedRecords : 0)),
                    "trial \(trial), seed \(seed): \(summary.programs) programs for checkpoint \(n)")
            if n > 0 {
                #expect(try await replica.record(RecordKey(kind: .program, owner: .semas, localID: "b\(n)-\(Self.newPerBatch - 1)")) != nil)
                for k in 0..<Self.fixedRecords {
                    let fixed = try await replica.record(RecordKey(kind: .program, owner: .kodit, localID: "fixed-\(k)"))
                    #expect(fixed?.program?.title == "batch \(n)", "trial \(trial), seed \(seed): fixed-\(k) is not at batch \(n)")
                }
            }
            #expect(try await replica.record(RecordKey(kind: .program, owner: .semas, localID: "b\(n + 1)-0")) == nil,
                    "trial \(trial), seed \(seed): part of batch \(n + 1) is present without its checkpoint")
            #expect(try await replica.digest() == (try await replica.recomputeDigest()), "trial \(trial), seed \(seed): digest drifted")
        }
        // The test must have exercised kills in the middle of real work, not only at start-up.
        #expect(lastBatch > 0 && killsMidRun >= 5, "seed \(seed): only \(killsMidRun) trials made progress (last batch \(lastBatch))")
    }
}

