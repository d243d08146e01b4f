import Foundation
import HanaroFuzzTargets
import Testing

/// The libFuzzer corpora (ops/fuzz/corpus/<target>, kept in the repo) replayed in CI through the
/// same targets `ops/fuzz/run.sh` fuzzes: no input traps, none breaks its target's properties.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("each fuzz target's corpus: no trap, no broken property", arguments: FuzzTarget.allCases)
    func corpus(_ target: FuzzTarget) throws {
        let dir = Self.root + "/ops/fuzz/corpus/" + target.rawValue
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        // Seeds (real-shaped inputs: the agencies' published formats, the example configuration,
        // real versions) and what the fuzzer added.
        #expect(names.count >= 2)
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            #expect(target.run(bytes) == [], "\(target.rawValue)/\(name)")
        }
    }
}
