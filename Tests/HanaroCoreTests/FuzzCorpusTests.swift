import Foundation
import HanaroCore
import Testing

/// The libFuzzer corpus of the canonical reader (ops/fuzz, kept in the repo), replayed in CI: every
/// input decodes or throws a ValidationError — never traps — and what decodes has a stable
/// canonical form (the property `ops/fuzz/canonical.swift` checks under the fuzzer).
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    @Test("the canonical reader's fuzz corpus: no trap, stable canonical form")
    func canonicalCorpus() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = root + "/ops/fuzz/corpus/canonical"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(names.count >= 24)
        var decoded = 0
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            guard let version = try? RecordVersion(canonicalBytes: bytes) else { continue }
            decoded += 1
            let canonical = version.canonicalBytes
            let again = try RecordVersion(canonicalBytes: canonical)
            #expect(again == version && again.canonicalBytes == canonical, "\(name)")
        }
        // The seeds (real versions of every agency) decode; the mutants mostly do not.
        #expect(decoded >= 24)
    }
}
