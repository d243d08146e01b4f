// hanaro-torture: the child process of the crash-safety tests (Tests/HanaroStoreTests/CrashSafetyTests).
//
//   hanaro-torture DB KEYFILE
//
// Opens the replica and applies batches 1, 2, 3, ... for ever (continuing after the batch its
// checkpoint names), each in one `apply` transaction with checkpoint "torture" = batch number.
// Batch i holds 50 new programs (program/semas/b<i>-<j>) and a new version of ten fixed programs
// (program/kodit/fixed-<k>) whose title names batch i. The test kills it with SIGKILL at random
// moments and checks that every batch up to the checkpoint is wholly there and nothing after it.
import HanaroCore
import HanaroStore
import HanaroFixtures
import Foundation

@main
struct Torture {
    static let newPerBatch = 50
    static let fixedRecords = 10

    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: hanaro-torture DB KEYFILE\n".utf8))
            exit(64)
        }
        do {
            let replica = try Replica(path: arguments[1], key: try ReplicaKey.load(from: arguments[2]))
            var batch = Int(try await replica.checkpoint(.tool("torture")) ?? "0")! + 1
            var data = SyntheticData(seed: UInt64(batch))
            FileHandle.standardOutput.write(Data("ready \(batch)\n".utf8))
            while true {
                try await replica.apply(Self.batch(batch, data: &data), from: .tool("torture"), checkpoint: Checkpoint(stream: .tool("torture"), value: String(batch)))
                batch += 1
            }
        } catch {
            FileHandle.standardError.write(Data("hanaro-torture: \(error)\n".utf8))
            exit(1)
        }
    }

    /// The versions of batch `i` (deterministic in `i`).
    static func batch(_ i: Int, data: inout SyntheticData) -> [RecordVersion] {
        var versions: [RecordVersion] = []
        for j in 0..<newPerBatch {
            versions.append(data.programVersion(owner: .semas, nativeID: "b\(i)-\(j)", at: HLCTimestamp(rawValue: UInt64(i))))
        }
        for k in 0..<fixedRecords {
            var content = data.program(owner: .kodit, nativeID: "fixed-\(k)")
            content.title = "batch \(i)"
            versions.append(try! RecordVersion.authoring(.publishProgram(content), on: nil, key: content.key, by: .kodit,
                                                         clock: HLCTimestamp(rawValue: UInt64(i))))
        }
        return versions
    }
}
