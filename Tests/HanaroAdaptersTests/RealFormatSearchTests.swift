import Foundation
import HanaroAdapters
import HanaroCore
import HanaroStore
import Testing

/// Program search over titles the agencies published (the real-format fixtures, cited in
/// Fixtures/real/README.md), not over our simulator's: every two syllables in a row inside a
/// published title find that program, and so does the title's first word.
@Suite("Search over published titles")
struct RealFormatSearchTests {
    @Test("two syllables from inside each published title find it", arguments: AgencyID.allCases)
    func insideTitles(agency: AgencyID) async throws {
        let replica = try Replica.inMemory()
        let directory = RealFormatTests.fixtures.appendingPathComponent("real/\(agency.rawValue)")
        var programs: [ProgramRecord] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasPrefix("page-") || name.hasPrefix("programs-") {  // kamco: its daily CSV export
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            guard let mapped = try? AgencyFormats.format(for: agency).mapProgramPage(bytes) else { continue }
            programs += mapped.compactMap { try? $0.get() }
        }
        #expect(!programs.isEmpty, "no published programs mapped for \(agency.rawValue)")
        for program in programs {
            try await replica.author([AuthoredEdit(key: program.key, edit: .publishProgram(program))], by: agency)
        }
        var checked = 0
        for program in programs {
            // Two syllables from the middle of the title's longest Hangul run (inside a word, not at its start).
            let runs = program.title.split { !(0xAC00...0xD7A3).contains($0.unicodeScalars.first!.value) }
            guard let run = runs.max(by: { $0.count < $1.count }), run.count >= 3 else { continue }
            let start = run.index(run.startIndex, offsetBy: run.count / 2 - (run.count % 2 == 0 ? 1 : 0))
            let pair = String(run[start...].prefix(2))
            var query = ProgramQuery()
            query.text = pair
            query.limit = 100
            let found = try await replica.searchPrograms(query).items.map(\.program.nativeID)
            #expect(found.contains(program.nativeID), "\(pair) (from \(program.title)) did not find \(program.nativeID)")
            checked += 1
        }
        #expect(checked > 0, "no published title of \(agency.rawValue) had a Hangul run of three syllables")
    }
}
