import ArgumentParser
import Foundation
import GRDBSQLite
import HanaroCore
import HanaroFixtures
import HanaroStore

/// `hanaro-bench apply`: applies N synthetic versions (~500 bytes, 4 programs : 1 referral) into
/// a fresh replica, beside raw SQLite INSERTs of the same rows into the same table with the same
/// batch size and pragmas. Each engine runs in its own child process, so that peak RSS is its own.
struct ApplyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply throughput of the replica vs raw SQLite INSERTs of the same rows."
    )

    @Option(help: "Versions to apply.") var records = 1_000_000
    @Option(help: "Versions per transaction.") var batch = 1_000
    @Option(help: "Directory for the database files (removed afterwards).") var dir = NSTemporaryDirectory()
    @Flag(help: "Keep the Agency API's tables (search index, referral index, webhook matching), as a node with api.listen does.") var agencyAPI = false

    func run() async throws {
        let command = "hanaro-bench apply --records \(records) --batch \(batch)\(agencyAPI ? " --agency-api" : "")"
        print("# \(command)")
        var results: [PhaseResult] = []
        for engine in ["raw-sqlite", "hanaro"] {
            let path = (dir as NSString).appendingPathComponent("hanaro-bench-\(engine)-\(UUID().uuidString).sqlite")
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            child.arguments = ["apply-phase", "--engine", engine, "--records", String(records), "--batch", String(batch), "--path", path] + (agencyAPI ? ["--agency-api"] : [])
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            for suffix in ["", "-wal", "-shm", ".key"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            guard child.terminationStatus == 0, let result = try? JSONDecoder().decode(PhaseResult.self, from: output) else {
                throw ValidationError("the \(engine) phase failed (exit \(child.terminationStatus))")
            }
            results.append(result)
        }
        print(String(repeating: "-", count: 78))
        print("engine        records   seconds    records/s   peak RSS MB   avg row bytes")
        for r in results {
            print(r.engine.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: " %8d  %8.2f  %11.0f  %12.1f  %14.0f", r.records, r.seconds, r.rate, Double(r.peakRSS) / 1_048_576, r.avgRowBytes))
        }
        let raw = results[0], ours = results[1]
        print(String(format: "hanaro / raw = %.2f (target >= 0.50); hanaro peak RSS %.1f MB (target <= 150)",
                     ours.rate / raw.rate, Double(ours.peakRSS) / 1_048_576))
    }
}

/// One engine's figures.
struct PhaseResult: Codable {
    var engine: String
    var records: Int
    var seconds: Double
    var rate: Double
    var peakRSS: Int
    var avgRowBytes: Double
}

/// The child process of `apply`: runs one engine and prints its figures as JSON.
struct ApplyPhase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply-phase", shouldDisplay: false)

    @Option var engine: String
    @Option var records: Int
    @Option var batch: Int
    @Option var path: String
    @Flag var agencyAPI = false

    /// The workload: version `i` of a deterministic stream; every fifth is a referral.
    static func version(_ i: Int, data: inout SyntheticData) -> RecordVersion {
        let clock = HLCTimestamp(millisecondsSince1970: 1_790_000_000_000 + UInt64(i))
        let id = String(format: "%09d", i)
        if i % 5 == 4 {
            return data.referralVersion(origin: AgencyID(index: i % 6)!, referralID: id, at: clock)
        }
        return data.programVersion(owner: AgencyID(index: i % 6)!, nativeID: id, at: clock)
    }

    func run() async throws {
        var data = SyntheticData(seed: 2026)
        var elapsed = 0.0
        var rowBytes = 0
        switch engine {
        case "hanaro":
            var options = Replica.Options()
            options.agencyAPI = agencyAPI
            let replica = try Replica(path: path, key: try ReplicaKey.create(at: path + ".key"), options: options)
            var start = 0
            while start < records {
                let versions = (start..<min(start + batch, records)).map { Self.version($0, data: &data) }
                let t0 = monotonicSeconds()
                try await replica.apply(versions, from: .tool("bench"), checkpoint: Checkpoint(stream: .tool("bench"), value: String(start)))
                elapsed += monotonicSeconds() - t0
                start += batch
            }
            let summary = try await replica.summary()
            guard summary.programs + summary.referrals == Int64(records), summary.quarantined == 0 else {
                throw ValidationError("the replica holds \(summary.programs + summary.referrals) records, \(summary.quarantined) quarantined")
            }
            rowBytes = try await averageRowBytes()
        case "raw-sqlite":
            let raw = try RawSQLite(path: path)
            var start = 0
            while start < records {
                let rows = (start..<min(start + batch, records)).map { RawSQLite.Row(Self.version($0, data: &data), seq: Int64($0 + 1)) }
                let t0 = monotonicSeconds()
                try raw.insert(rows)
                elapsed += monotonicSeconds() - t0
                start += batch
            }
            raw.close()
            rowBytes = try await averageRowBytes()
        default:
            throw ValidationError("unknown engine \(engine)")
        }
        let result = PhaseResult(engine: engine, records: records, seconds: elapsed, rate: Double(records) / elapsed,
                                 peakRSS: peakRSSBytes(), avgRowBytes: Double(rowBytes))
        FileHandle.standardOutput.write(try JSONEncoder().encode(result))
    }

    /// The average stored row size (key + vector + body + sealed), read back with SQLite itself.
    func averageRowBytes() async throws -> Int {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { return 0 }
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT avg(length(key) + length(vector) + length(body) + coalesce(length(sealed), 0)) FROM record", -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return 0 }
        return Int(sqlite3_column_double(statement, 0))
    }
}
