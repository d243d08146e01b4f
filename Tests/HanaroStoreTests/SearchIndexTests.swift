import Foundation
import GRDB
import HanaroCore
@testable import HanaroStore
import HanaroTesting
import HanaroFixtures
import Synchronization
import Testing

/// The Agency API's derived tables: Hangul search text, the index kept in the apply transaction,
/// its rebuild at open, and the webhook outbox matched in the same transaction.
@Suite("Search index and outbox")
struct SearchIndexTests {
    func program(_ owner: AgencyID, _ id: String, _ title: String, summary: String = "", eligibility: Eligibility = Eligibility()) -> ProgramRecord {
        ProgramRecord(owner: owner, nativeID: id, title: title, summary: summary, eligibility: eligibility, status: .open)
    }

    func publish(_ replica: Replica, _ programs: ProgramRecord...) async throws {
        for item in programs { try await replica.author([AuthoredEdit(key: item.key, edit: .publishProgram(item))], by: item.owner) }
    }

    func search(_ replica: Replica, _ text: String) async throws -> [String] {
        var query = ProgramQuery()
        query.text = text
        return try await replica.searchPrograms(query).items.map(\.program.nativeID)
    }

    @Test("grams: Hangul runs joined across spaces, a final syllable, other words whole, NFC")
    func grams() {
        #expect(SearchText.grams("예비창업자") == "예비 비창 창업 업자 자")
        #expect(SearchText.grams("소상공인 정책자금") == SearchText.grams("소상공인정책자금"))
        #expect(SearchText.grams("IT창업 2026년") == "it 창업 업 2026 년")
        #expect(SearchText.grams("창업".decomposedStringWithCanonicalMapping) == "창업 업")
        #expect(SearchText.matchExpression("창업") == "\"창업\"")
        #expect(SearchText.matchExpression("창") == "\"창\"*")
        #expect(SearchText.matchExpression("소상공인 정책자금") == "\"소상 상공 공인\" AND \"정책 책자 자금\"")
        #expect(SearchText.matchExpression("  \" * ( ) ") == nil)
        // Fullwidth letters and digits are their ASCII forms.
        #expect(SearchText.grams("Ｒ＆Ｄ ２０２６년 ＩＴ창업") == SearchText.grams("R&D 2026년 IT창업"))
        #expect(SearchText.grams("ｓｍｅ") == "sme")
    }

    @Test("fullwidth and narrow forms find each other")
    func fullwidth() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        try await publish(replica, program(.semas, "S-W", "Ｒ＆Ｄ 특례보증"), program(.kodit, "K-N", "SME R&D 지원"))
        #expect(Set(try await search(replica, "R&D")) == ["S-W", "K-N"])
        #expect(Set(try await search(replica, "Ｒ＆Ｄ")) == ["S-W", "K-N"])
        #expect(try await search(replica, "ｓｍｅ") == ["K-N"])
    }

    @Test("the index follows every write: insert, edit, withdrawal")
    func followsWrites() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        try await publish(replica, program(.semas, "S-1", "예비창업자 지원"), program(.kodit, "K-1", "정책자금 보증", summary: "소상공인 대상"))
        #expect(try await search(replica, "창업") == ["S-1"])
        #expect(try await search(replica, "소상공인") == ["K-1"])
        try await publish(replica, program(.semas, "S-1", "재도전 지원"))
        #expect(try await search(replica, "창업").isEmpty)
        #expect(try await search(replica, "재도전") == ["S-1"])
        try await replica.author([AuthoredEdit(key: RecordKey(kind: .program, owner: .semas, localID: "S-1"), edit: .deleteProgram)], by: .semas)
        #expect(try await search(replica, "재도전").isEmpty)
        #expect(try await replica.searchPrograms(ProgramQuery()).items.map(\.program.nativeID) == ["K-1"])
        // Filters: a 시군구 program is found by its 시도, a nationwide one by any region.
        try await publish(replica, program(.kamco, "M-1", "강남 상권", eligibility: Eligibility(regions: [try RegionCode("11680")])))
        var query = ProgramQuery()
        query.region = try RegionCode("11")
        #expect(Set(try await replica.searchPrograms(query).items.map(\.program.nativeID)) == ["K-1", "M-1"])
        query.region = try RegionCode("26")
        #expect(try await replica.searchPrograms(query).items.map(\.program.nativeID) == ["K-1"])
        // The contentless index was told exactly what it held at every delete.
        try await replica.writer.write { db in try db.execute(sql: "INSERT INTO program_fts(program_fts) VALUES ('integrity-check')") }
    }

    @Test("text search pages through ranking windows: every match once, the title-weighted first within a window")
    func windows() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        for i in 0..<7 {
            try await publish(replica, program(.semas, "S-\(i)", i == 5 ? "창업 지원" : "경영 안정 \(i)", summary: "소상공인 창업 자금"))
        }
        for window in [1, 2, 3, 100] {
            var seen: [String] = []
            var query = ProgramQuery()
            query.text = "창업"
            query.limit = 2
            query.rankWindow = window
            repeat {
                let page = try await replica.searchPrograms(query)
                seen += page.items.map(\.program.nativeID)
                query.cursor = page.nextCursor
            } while query.cursor != nil && seen.count < 20
            #expect(seen.sorted() == (0..<7).map { "S-\($0)" }, "window \(window): \(seen)")
            if window == 100 { #expect(seen.first == "S-5") }
        }
    }

    @Test("hanaro_bm25 with the true document counts scores every row exactly as FTS5's bm25; search ranks by it and pages carry the counts")
    func rankEqualsBM25() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        var rng = SplitMix64(seed: 7)
        // Punctuation, symbols and other scripts too: FTS5 counts the lengths.
        let words = ["창업", "지원", "소상공인", "정책자금", "재도전", "수출", "바우처", "교육", "컨설팅", "IT", "2026년", "판로", "보증",
                     "e-커머스", "AI·빅데이터", "(주)한빛", "R&D_과제", "Müller", "中小企業", "1,000만원", "ｆｕｌｌ"]
        func text(_ count: Int) -> String { (0..<count).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: rng.next() % 2 == 0 ? " " : "") }
        var items: [String: ProgramRecord] = [:]
        for i in 0..<120 {
            let item = program(AgencyID.allCases[i % 6], "P-\(i)", text(1 + i % 4), summary: text(i % 7))
            items[item.nativeID] = item
            try await publish(replica, item)
        }
        // Twice: the second time after a third of the programs were retitled (other lengths),
        // once every row was ranked: a length kept by rowid (RowLengths) is never a program's old one.
        for round in 0 ..< 2 {
            if round == 1 {
                for i in stride(from: 0, to: 120, by: 3) {
                    var item = items["P-\(i)"]!
                    (item.title, item.summary) = (text(2 + i % 5), text(1 + i % 6))
                    items[item.nativeID] = item
                    try await publish(replica, item)
                }
            }
            // FTS5's own bm25 over the text alone: a table of title and summary only (program_fts
            // also holds the facets, which hanaro_bm25 leaves out), with the same rows.
            let grams = items.mapValues { (SearchText.grams($0.title), SearchText.grams($0.summary)) }
            try await replica.writer.write { db in
                try db.execute(sql: "DROP TABLE IF EXISTS text_only; CREATE VIRTUAL TABLE text_only USING fts5(title_grams, summary_grams, content = '', tokenize = 'ascii')")
                let rows = try Row.fetchAll(db, sql: "SELECT id, native_id FROM program_index")
                #expect(rows.count == 120)
                for row in rows {
                    let (title, summary) = grams[row[1] as String]!
                    try db.execute(sql: "INSERT INTO text_only(rowid, title_grams, summary_grams) VALUES (?, ?, ?)", arguments: [row[0] as Int64, title, summary])
                }
            }
            for query in ["창업", "창", "소상공인 자금", "지원 교육 2026년", "재도전 IT", "없는말"] {
                let phrases = try #require(SearchText.matchPhrases(query))
                let match = phrases.joined(separator: " AND ")
                // On a reader: the lengths it ranks with are the ones kept (RowLengths).
                let (builtIn, ours) = try await replica.read("compare") { db in
                    let counts = try phrases.map { try Int64.fetchOne(db, sql: "SELECT count(*) FROM program_fts WHERE program_fts MATCH ?", arguments: [$0]) ?? 0 }
                    let builtIn = try Row.fetchAll(db, sql: "SELECT rowid, bm25(text_only, 3.0, 1.0) FROM text_only WHERE text_only MATCH ? ORDER BY rowid", arguments: [match])
                    let ours = try Row.fetchAll(db, sql: "SELECT rowid, hanaro_bm25(program_fts, 3.0, 1.0\(String(repeating: ", ?", count: counts.count))) FROM program_fts WHERE program_fts MATCH ? ORDER BY rowid",
                                                arguments: StatementArguments(counts.map(\.databaseValue) + [match.databaseValue]))
                    return (builtIn.map { ($0[0] as Int64, $0[1] as Double) }, ours.map { ($0[0] as Int64, $0[1] as Double) })
                }
                #expect(builtIn.map(\.0) == ours.map(\.0), "\(query)")
                // The same bits: the arithmetic is bm25()'s, in its order.
                for (a, b) in zip(builtIn, ours) { #expect(a.1 == b.1, "\(query) row \(a.0): \(a.1) vs \(b.1)") }
                if query != "없는말" { #expect(!builtIn.isEmpty, "\(query)") }
                // The search's own order is the ascending score with ties by id, and a second page
                // (same counts, from the cursor) continues it without a gap or a repeat.
                var search = ProgramQuery()
                search.text = query
                search.limit = 5
                let first = try await replica.searchPrograms(search)
                search.cursor = first.nextCursor
                let second = search.cursor == nil ? [] : try await replica.searchPrograms(search).items
                let scores = (first.items + second).compactMap(\.score)
                #expect(scores == scores.sorted(), "\(query)")
                let expected = builtIn.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(10).map(\.1)
                // (After the retitles the search still ranks with the counts it kept: PhraseFrequencies.)
                if round == 0 {
                    #expect(zip(scores, expected).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) } && scores.count == expected.count, "\(query): \(scores) vs \(expected)")
                }
            }
        }
        try await replica.writer.write { db in try db.execute(sql: "INSERT INTO program_fts(program_fts) VALUES ('integrity-check')") }
        // A window of the earlier form (four parts, no counts) still pages, bound to its query; a
        // malformed count is refused. Unbound, or bound to another query, a cursor is refused.
        let tag = Replica.cursorTag(["programs", "창업", "", "", "", "", ""])
        let earlier = Data("w:\(Int64.max)::::".dropLast().utf8).base64URLEncoded
        var old = ProgramQuery()
        old.text = "창업"
        old.cursor = Replica.bind(earlier, tag: tag)
        #expect(try await replica.searchPrograms(old).items.count > 0)
        old.cursor = earlier
        await #expect(throws: StoreError.self) { try await replica.searchPrograms(old) }
        var other = old
        other.text = "지원"
        other.cursor = Replica.bind(earlier, tag: tag)
        do {
            _ = try await replica.searchPrograms(other)
            Issue.record("a cursor of another query was followed")
        } catch {
            #expect(error.message.contains("another query"), "\(error.message)")
        }
        // Forged cursors are refused, not followed: a count that is no number, an empty count, a
        // window floor below the first id (whose window below would wrap), a floor above its ceiling.
        for forged in ["w:\(Int64.max)::::x", "w:\(Int64.max)::::1,,2", "w:5:\(Int64.min)::", "w:5:0::", "w:5:9::", "w:0:::", "w:9:1::0", "w:\(Int64.max)::::1:0,5"] {
            old.cursor = Replica.bind(Data(forged.utf8).base64URLEncoded, tag: tag)
            await #expect(throws: StoreError.self, "\(forged)") { try await replica.searchPrograms(old) }
        }
    }

    @Test("a text search filters by agency, category, region, industry and open day exactly as a list does (filters as FTS5 tokens, the day by periods kept by index id), before and after edits")
    func textFiltersEqualListFilters() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        var rng = SplitMix64(seed: 11)
        let regions = ["11", "11680", "26", "26110", "26440", "41", "41135", "51"]
        let industries = ["C", "C10", "C1011", "C20", "G47", "G4711", "I56"]
        func pick<T>(_ from: [T], upTo count: Int) -> [T] { (0 ..< Int(rng.next() % UInt64(count + 1))).map { _ in from[Int(rng.next() % UInt64(from.count))] } }
        func make(_ i: Int, revision: Int) throws -> ProgramRecord {
            // Periods of every shape: none, half-open either way, longer than the index spells
            // out in months, across a year's end, within a month.
            func period() throws -> ApplicationPeriod {
                let first = 2026 * 12 + (i + revision) % 14, last = first + (i * 3 + revision) % 5
                let start = try LocalDate(year: first / 12, month: first % 12 + 1, day: 1 + (i * 7 + revision) % 28)
                let end = try LocalDate(year: last / 12, month: last % 12 + 1, day: 1 + (i * 11 + revision) % 28)
                switch (i + revision) % 6 {
                case 0: return ApplicationPeriod()
                case 1: return ApplicationPeriod(start: start)
                case 2: return ApplicationPeriod(end: end)
                case 3: return ApplicationPeriod(start: try LocalDate(year: 2024, month: 3, day: 5), end: try LocalDate(year: 2029, month: 2, day: 1))
                default: return start <= end ? ApplicationPeriod(start: start, end: end) : ApplicationPeriod(start: end, end: start)
                }
            }
            return ProgramRecord(owner: AgencyID.allCases[i % 6], nativeID: "F-\(i)", title: "창업 지원 \(i) \(revision)",
                                 category: Bool.random(using: &rng) ? SupportCategory.allCases[Int(rng.next() % UInt64(SupportCategory.allCases.count))] : nil,
                                 eligibility: Eligibility(regions: try pick(regions, upTo: 2).map { try RegionCode($0) }, industries: try pick(industries, upTo: 2).map { try KSICCode($0) }),
                                 period: try period(), status: .open)
        }
        var current: [ProgramRecord] = []
        for i in 0 ..< 150 {
            current.append(try make(i, revision: 0))
            try await publish(replica, current[i])
        }
        // The tokens of one program, spelled out.
        let spelled = ProgramRecord(owner: .kodit, nativeID: "T", title: "t", category: .finance,
                                    eligibility: Eligibility(regions: [try RegionCode("26110"), try RegionCode("11")], industries: [try KSICCode("C1011"), try KSICCode("c10")]),
                                    period: ApplicationPeriod(start: try LocalDate(year: 2026, month: 11, day: 20), end: try LocalDate(year: 2027, month: 1, day: 5)))
        #expect(SearchIndex.facets(of: spelled) == "§akodit §c01 §r11 §r26110 §rp26 §ic10 §ic1011")
        func all(_ query: ProgramQuery) async throws -> Set<String> {
            var query = query, keys: Set<String> = [], pages = 0
            query.limit = 100
            repeat {
                let page = try await replica.searchPrograms(query)
                keys.formUnion(page.items.map(\.program.nativeID))
                query.cursor = page.nextCursor
                pages += 1
            } while query.cursor != nil && pages < 20
            return keys
        }
        var queries: [ProgramQuery] = []
        for region in regions + ["42"] { var q = ProgramQuery(); q.region = try RegionCode(region); queries.append(q) }
        for industry in industries + ["C101", "G", "c10", "C-10", "Z9"] { var q = ProgramQuery(); q.industry = industry; queries.append(q) }
        for agency in AgencyID.allCases { var q = ProgramQuery(); q.agency = agency; queries.append(q) }
        for category in SupportCategory.allCases.prefix(3) { var q = ProgramQuery(); q.category = category; queries.append(q) }
        var mixed = ProgramQuery()
        mixed.region = try RegionCode("26")
        mixed.industry = "C1"
        mixed.openOn = try LocalDate(year: 2026, month: 5, day: 10)
        queries.append(mixed)
        for (year, month, day) in [(2026, 3, 3), (2026, 12, 31), (2027, 1, 15), (2025, 6, 1), (2030, 1, 1), (2026, 8, 28)] {
            var query = ProgramQuery()
            query.openOn = try LocalDate(year: year, month: month, day: day)
            queries.append(query)
        }
        for round in 0 ..< 3 {
            var nonEmpty = 0
            for query in queries {
                var text = query
                text.text = "창업"
                let (listed, searched) = (try await all(query), try await all(text))
                #expect(listed == searched, "round \(round) \(query): list \(listed.subtracting(searched).sorted()) search \(searched.subtracting(listed).sorted())")
                if !listed.isEmpty { nonEmpty += 1 }
            }
            #expect(nonEmpty > queries.count / 2)
            // The day was checked by `hanaro_open` on the periods kept, not by the join.
            #expect(replica.searchMemo.periods.state.withLock { $0.through > 0 && !$0.overflowed })
            if round == 0 {
                // Every other program edited (regions, industries, category, period, title): the
                // index's tokens follow, the old ones deleted.
                for i in stride(from: 0, to: 150, by: 2) { current[i] = try make(i, revision: 1) }
            } else if round == 1 {
                // Filters alone (the text the same), or the status alone (the same index id).
                for i in stride(from: 1, to: 150, by: 3) { current[i].eligibility.regions = [try RegionCode(regions[(i / 3) % regions.count])] }
                for i in stride(from: 2, to: 150, by: 5) { current[i].category = current[i].category == .finance ? nil : .finance }
                for i in stride(from: 0, to: 150, by: 7) { current[i].status = .closed }
                // The open period alone: the day filter (`hanaro_open`, periods kept by index id)
                // follows it.
                for i in stride(from: 3, to: 150, by: 4) {
                    current[i].period = i % 8 == 3 ? ApplicationPeriod() : ApplicationPeriod(start: try LocalDate(year: 2026, month: 8, day: 1 + i % 20), end: try LocalDate(year: 2027, month: 1, day: 20))
                }
            }
            for i in 0 ..< 150 { try await publish(replica, current[i]) }
        }
        // What the index holds is exactly the current programs' tokens, at their positions: no
        // delete left a stale token (FTS5's integrity-check cannot tell for a contentless table).
        let programs = Dictionary(uniqueKeysWithValues: current.map { ($0.nativeID, $0) })
        let (held, expected) = try await replica.writer.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE expected_fts USING fts5(title_grams, summary_grams, facets, content = '', tokenize = 'ascii')")
            for row in try Row.fetchAll(db, sql: "SELECT id, native_id FROM program_index") {
                let item = programs[row[1] as String]!
                try db.execute(sql: "INSERT INTO expected_fts(rowid, title_grams, summary_grams, facets) VALUES (?, ?, ?, ?)",
                               arguments: [row[0] as Int64, SearchText.grams(item.title), SearchText.grams(item.summary), SearchIndex.facets(of: item)])
            }
            try db.execute(sql: """
                CREATE VIRTUAL TABLE temp.held_vocab USING fts5vocab(main, program_fts, instance);
                CREATE VIRTUAL TABLE temp.expected_vocab USING fts5vocab(main, expected_fts, instance)
                """)
            func instances(_ table: String) throws -> [String] {
                try Row.fetchAll(db, sql: "SELECT term, doc, col, offset FROM temp.\(table) ORDER BY term, doc, col, offset").map { "\($0[0] as String) \($0[1] as Int64) \($0[2] as String) \($0[3] as Int64)" }
            }
            return (try instances("held_vocab"), try instances("expected_vocab"))
        }
        #expect(held.count > 1_000 && held == expected, "\(Set(held).symmetricDifference(expected).sorted().prefix(5))")
        // A text spelling a facet finds no program by its facets.
        for spelled in ["rall", "§rall", "asemas", "§ip c10", "iall"] {
            var query = ProgramQuery()
            query.text = spelled
            #expect(try await all(query).isEmpty, "\(spelled)")
        }
        try await replica.writer.write { db in try db.execute(sql: "INSERT INTO program_fts(program_fts) VALUES ('integrity-check')") }
    }

    @Test("paging survives the index changing between pages: a window emptied since goes on to the next, programs indexed since stay out of the search's windows")
    func pagingAcrossChanges() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        for i in 0..<7 { try await publish(replica, program(.semas, "S-\(i)", "창업 지원 \(i)")) }
        var query = ProgramQuery()
        query.text = "창업"
        query.limit = 1
        query.rankWindow = 2
        // Page 1 comes from the newest window (S-6, S-5). Then a program is indexed (a higher id
        // than the windows page 1 saw), and both programs of that window are withdrawn.
        let first = try await replica.searchPrograms(query)
        #expect(Set(first.items.map(\.program.nativeID)).isSubset(of: ["S-5", "S-6"]))
        try await publish(replica, program(.kodit, "K-new", "창업 보증"))
        for id in ["S-5", "S-6"] {
            try await replica.author([AuthoredEdit(key: RecordKey(kind: .program, owner: .semas, localID: id), edit: .deleteProgram)], by: .semas)
        }
        var seen = first.items.map(\.program.nativeID)
        query.cursor = first.nextCursor
        #expect(query.cursor != nil)
        while let cursor = query.cursor, seen.count < 20 {
            query.cursor = cursor
            let page = try await replica.searchPrograms(query)
            seen += page.items.map(\.program.nativeID)
            query.cursor = page.nextCursor
        }
        #expect(seen.count == 6 && Set(seen) == Set(first.items.map(\.program.nativeID) + (0..<5).map { "S-\($0)" }), "\(seen)")
        // A new search finds the new program.
        query.cursor = nil
        query.limit = 20
        #expect(try await replica.searchPrograms(query).items.map(\.program.nativeID).contains("K-new"))
    }

    @Test("pages rank with the N and mean length their first page read: programs indexed while a client pages (long ones, moving both) neither repeat nor skip a match of the window (outside review, session 16)")
    func pagingKeepsItsStatistics() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        // Matches whose order depends on the mean length and on N: short texts with one hit of
        // each word, long texts with several, in between.
        var originals: [ProgramRecord] = []
        for i in 0..<24 {
            let filler = String(repeating: "자료 ", count: (i % 6) * 12)
            let words = String(repeating: "창업 ", count: 1 + i % 4) + String(repeating: "지원 ", count: 1 + (i / 4) % 3)
            originals.append(program(.semas, "S-\(i)", "공고 \(i)", summary: words + filler))
        }
        try await replica.author(originals.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .semas)
        var query = ProgramQuery()
        query.text = "창업 지원"
        query.limit = 2
        var seen: [String] = []
        var page = try await replica.searchPrograms(query)
        seen += page.items.map(\.program.nativeID)
        // Then 300 long programs holding 지원 only (not 창업): N, the mean length and 지원's weight all move.
        let noise = (0..<300).map { program(.kodit, "K-\($0)", "기타 \($0)", summary: String(repeating: "지원 안내 자료 ", count: 40)) }
        try await replica.author(noise.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .kodit)
        while let cursor = page.nextCursor, seen.count < 100 {
            query.cursor = cursor
            page = try await replica.searchPrograms(query)
            seen += page.items.map(\.program.nativeID)
        }
        #expect(seen.count == 24 && Set(seen) == Set(originals.map(\.nativeID)), "\(seen.count) seen, \(seen.count - Set(seen).count) repeated: \(seen)")
        // The statistics the search reads from FTS5's averages record are FTS5's own.
        let (ours, fts5) = try await replica.read("statistics") { db in
            (try SearchRank.statistics(db), try String.fetchOne(db, sql: "SELECT hanaro_stats(program_fts) FROM program_fts WHERE program_fts MATCH '창업' LIMIT 1"))
        }
        #expect(ours != nil && ours == fts5, "\(ours ?? "nil") vs \(fts5 ?? "nil")")
        #expect(ours?.hasPrefix("324 ") == true, "\(ours ?? "nil")")
    }

    /// The live matcher a replica keeps changes in place: subscriptions added and removed in any
    /// order match exactly what checking every active one finds, a snapshot taken before a change
    /// (a write transaction in progress) keeps matching what it was made with, and tombstones ask
    /// for a full load once they outnumber the live entries.
    @Test("the live matcher: adds and removals in place, snapshots unchanged by later changes, compaction asked for")
    func liveMatcher() throws {
        var rng = SystemRandomNumberGenerator()
        let words = ["창업", "자금", "재도전", "스마트상점", "햇살론", "판로", "소상공인정책자금", "IT"]
        var live = SubscriptionMatcher.Live()
        var active: [(id: String, filter: SubscriptionFilter)] = []
        func expected(_ record: ProgramRecord) -> [String] {
            let text = SubscriptionMatcher.normalized(record.title + " " + record.summary)
            return active.filter { _, filter in
                filter.events.contains(.programMatched)
                    && (filter.agency.map { $0 == record.owner } ?? true)
                    && (filter.keywords.isEmpty || filter.keywords.contains { text.contains(SubscriptionMatcher.normalized($0)) })
                    && (filter.profile.map { record.eligibility.quickCheck($0) != .ineligible } ?? true)
            }.map(\.id)
        }
        let empty = live.current()
        #expect(empty == nil)
        var next = 0
        for round in 0..<60 {
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let keywords = (0..<Int.random(in: 0...2, using: &rng)).map { _ in words.randomElement(using: &rng)! }
                let events: Set<WebhookEventType> = next % 7 == 0 ? [.referralReceived] : next % 7 == 1 ? [.programMatched, .referralReceived] : [.programMatched]
                let filter = SubscriptionFilter(events: events, profile: next % 3 == 0 ? BusinessProfile(ownerAge: Int64.random(in: 20...70, using: &rng)) : nil,
                                                keywords: keywords, agency: next % 5 == 0 ? AgencyID.allCases.randomElement(using: &rng) : nil)
                live.add(id: "s\(next)", filter: filter)
                active.append(("s\(next)", filter))
                next += 1
            }
            for _ in 0..<Int.random(in: 0...10, using: &rng) where !active.isEmpty {
                let gone = active.remove(at: Int.random(in: 0..<active.count, using: &rng))
                live.remove(id: gone.id)
            }
            let record = program(AgencyID.allCases[round % 6], "P-\(round)", (0..<3).map { _ in words.randomElement(using: &rng)! }.joined(separator: " "),
                                 summary: "소상공인 지원", eligibility: Eligibility(ownerAge: BoundedRange(min: Int64.random(in: 20...60, using: &rng))))
            let matcher = live.current()
            #expect((matcher?.matches(record) ?? []) == expected(record), "round \(round)")
            #expect((matcher?.referralSubscriptions ?? []) == active.filter { $0.filter.events.contains(.referralReceived) }.map(\.id))
            #expect(matcher?.hasProgramSubscriptions ?? false == active.contains { $0.filter.events.contains(.programMatched) })
        }
        // A snapshot in use is not changed by what comes after it.
        let record = program(.kodit, "P-new", "새말 지원", summary: "", eligibility: Eligibility())
        let taken = live.current()
        let before = try #require(taken)
        live.add(id: "new", filter: SubscriptionFilter(events: [.programMatched], keywords: ["새말"]))
        let after = live.current()
        #expect(!before.matches(record).contains("new"))
        #expect(after?.matches(record).contains("new") == true)
        live.remove(id: "new")
        let removed = live.current()
        #expect(removed?.matches(record).contains("new") == false)
        // Tombstones: none asked for while few; asked for once they outnumber the live entries.
        var many = SubscriptionMatcher.Live((0..<600).map { ("m\($0)", SubscriptionFilter(events: [.programMatched], keywords: ["창업"])) })
        for i in 0..<300 { many.remove(id: "m\(i)") }
        #expect(!many.needsCompaction)
        for i in 300..<301 { many.remove(id: "m\(i)") }
        #expect(many.needsCompaction)
        let left = many.current()
        #expect(left?.matches(program(.kodit, "P", "창업", summary: "", eligibility: Eligibility())).count == 299)
    }

    @Test("the matcher's pair index finds exactly what checking every subscription finds")
    func matcherIndex() throws {
        var rng = SystemRandomNumberGenerator()
        let words = ["창업", "자금", "재도전", "스마트상점", "수출 바우처", "IT", "햇살론", "창", "판로", "없는말", "Smart Store", "2026년", "ＩＴ", "소상공인정책자금", "소상공인 지원", "창업자금", "소상공인정책자금지원", "소상공인정책", "스마트상점 창업자금", "\u{1100}\u{1161}\u{11A8}"]
        var subscriptions: [(id: String, filter: SubscriptionFilter)] = []
        for i in 0..<400 {
            let keywords = (0..<Int.random(in: 0...2, using: &rng)).map { _ in words.randomElement(using: &rng)! }
            let profile = i % 3 == 0 ? BusinessProfile(ownerAge: Int64.random(in: 20...70, using: &rng)) : nil
            subscriptions.append(("s\(i)", SubscriptionFilter(events: [.programMatched], profile: profile, keywords: keywords,
                                                              agency: i % 5 == 0 ? AgencyID.allCases.randomElement(using: &rng) : nil)))
        }
        let matcher = SubscriptionMatcher(subscriptions)
        for i in 0..<300 {
            let title = (0..<3).map { _ in words.randomElement(using: &rng)! }.joined(separator: i % 2 == 0 ? " " : "")
            let record = program(AgencyID.allCases[i % 6], "P-\(i)", title, summary: "소상공인 지원",
                                 eligibility: Eligibility(ownerAge: BoundedRange(min: Int64.random(in: 20...60, using: &rng))))
            let text = SubscriptionMatcher.normalized(record.title + " " + record.summary)
            let expected = subscriptions.filter { id, filter in
                (filter.agency.map { $0 == record.owner } ?? true)
                    && (filter.keywords.isEmpty || filter.keywords.contains { text.contains(SubscriptionMatcher.normalized($0)) })
                    && (filter.profile.map { record.eligibility.quickCheck($0) != .ineligible } ?? true)
            }.map(\.id)
            #expect(matcher.matches(record) == expected, "\(title)")
        }
    }

    @Test("a program's matching form, folded scalar by scalar, is exactly Foundation's NFC + lowercased + no whitespace: every scalar of the fast ranges alone, and 3,000 random texts")
    func matchingForm() throws {
        func reference(_ title: String, _ summary: String) -> [UInt8] { Array(SubscriptionMatcher.normalized(title + " " + summary).utf8) }
        var fast: [ClosedRange<UInt32>] = [0x01...0x2FF, 0x2000...0x206F, 0x3000...0x303F, 0xFF01...0xFF5E, 0xAC00...0xD7A3, 0x4E00...0x9FFF]
        var checked = 0
        for range in fast {
            for value in range {
                guard let scalar = Unicode.Scalar(value) else { continue }
                let text = String(Character(scalar))
                let form = SubscriptionMatcher.matchingForm(title: "A\(text)", summary: text)
                if form.bytes != reference("A\(text)", text) || form.bytes != Array(String(String.UnicodeScalarView(form.scalars)).utf8) {
                    Issue.record("U+\(String(value, radix: 16)): \(form.bytes) vs \(reference("A\(text)", text))")
                    return
                }
                checked += 1
            }
        }
        #expect(checked > 30_000)
        // Random texts mixing those ranges with combining marks and decomposed Hangul (Foundation's path).
        fast.append(0x300...0x36F)
        fast.append(0x1100...0x11FF)
        var rng = SplitMix64(seed: 41)
        for round in 0..<3_000 {
            func text() -> String {
                var scalars = String.UnicodeScalarView()
                for _ in 0..<Int(rng.next() % 12) {
                    let range = fast[Int(rng.next() % UInt64(fast.count))]
                    if let scalar = Unicode.Scalar(range.lowerBound + UInt32(rng.next() % UInt64(range.count))) { scalars.append(scalar) }
                }
                return String(scalars)
            }
            let (title, summary) = (text(), text())
            #expect(SubscriptionMatcher.matchingForm(title: title, summary: summary).bytes == reference(title, summary), "round \(round): \(title.unicodeScalars.map(\.value)) / \(summary.unicodeScalars.map(\.value))")
        }
    }

    @Test("a replica without the index (made before it, or damaged) rebuilds it at open")
    func rebuildsAtOpen() async throws {
        let dir = TemporaryDirectory("search")
        do {
            let replica = try Replica.temporary(in: dir)
            try await publish(replica, program(.semas, "S-1", "예비창업자 지원"), program(.kinfa, "F-1", "햇살론"))
            try await replica.writer.write { db in
                try db.execute(sql: "INSERT INTO program_fts(program_fts) VALUES ('delete-all'); DELETE FROM program_index; DELETE FROM meta WHERE name = 'search.index'")
            }
            #expect(try await search(replica, "창업").isEmpty)
        }
        let reopened = try Replica.temporary(in: dir)
        #expect(try await search(reopened, "창업") == ["S-1"])
        #expect(try await search(reopened, "햇살") == ["F-1"])
    }

    @Test("a replica kept without the Agency API's tables (a node without api.listen) builds them when the API is turned on")
    func offThenOn() async throws {
        let dir = TemporaryDirectory("search")
        let key = try ReplicaKey.create(at: dir.file("r.key"))
        var off = Replica.Options()
        off.agencyAPI = false
        do {
            let replica = try Replica(path: dir.file("r.sqlite"), key: key, options: off)
            try await publish(replica, program(.semas, "S-1", "예비창업자 지원"))
            #expect(try await search(replica, "창업").isEmpty)
        }
        do {
            let replica = try Replica(path: dir.file("r.sqlite"), key: key)
            #expect(try await search(replica, "창업") == ["S-1"])
            try await publish(replica, program(.kodit, "K-1", "창업 보증"))
        }
        // Off again and on again: what changed while off is found too.
        do {
            let replica = try Replica(path: dir.file("r.sqlite"), key: key, options: off)
            try await publish(replica, program(.kinfa, "F-1", "창업 자금"))
        }
        let replica = try Replica(path: dir.file("r.sqlite"), key: key)
        #expect(Set(try await search(replica, "창업")) == ["S-1", "K-1", "F-1"])
    }

    @Test("subscriptions are matched in the apply transaction, once per version")
    func outbox() async throws {
        let dir = TemporaryDirectory("search")
        let replica = try Replica.temporary(in: dir)
        let audit = AuditNote(actor: "api:test", action: "api.subscription.create", target: "", outcome: "ok", detail: "")
        let byKeyword = try await replica.createSubscription(client: "test", url: "http://127.0.0.1:1/hook", secret: "whsec_x",
                                                             filter: SubscriptionFilter(events: [.programMatched], keywords: ["창업 지원"]), audit: audit)
        let byProfile = try await replica.createSubscription(client: "test", url: "http://127.0.0.1:1/hook", secret: "whsec_x",
                                                             filter: SubscriptionFilter(events: [.programMatched], profile: BusinessProfile(ownerAge: 25)), audit: audit)
        // Matches the keyword (spacing ignored) and the profile.
        let first = program(.semas, "S-1", "예비창업지원 사업")
        // Matches neither: no keyword, and the profile's owner is too young.
        let second = program(.kodit, "K-1", "정책자금", eligibility: Eligibility(ownerAge: BoundedRange(min: 40)))
        try await publish(replica, first, second)
        // The same versions delivered again (a retried pull) owe nothing more.
        let versions = [try await replica.record(first.key)!, try await replica.record(second.key)!]
        try await replica.apply(versions, from: .peer(.kodit))
        let due = try await replica.dueDeliveries(limit: 10)
        #expect(Set(due.map(\.subscription)) == [byKeyword.id, byProfile.id])
        #expect(due.allSatisfy { $0.recordKey == first.key.description && $0.type == .programMatched })
        // A 410 disables the subscription and drops what it is owed.
        try await replica.recordDelivery(due.first { $0.subscription == byKeyword.id }!, result: .gone)
        let listed = try await replica.subscriptions()
        #expect(listed.first { $0.id == byKeyword.id }?.state == "disabled")
        try await publish(replica, program(.semas, "S-2", "창업지원 2차"))
        #expect(try await replica.dueDeliveries(limit: 10).allSatisfy { $0.subscription == byProfile.id })
        // A 503 with Retry-After pauses everything owed to that subscription, not only that delivery.
        let owed = try await replica.dueDeliveries(limit: 10)
        #expect(owed.count == 2)
        try await replica.recordDelivery(owed[0], result: .retry(status: 503, error: "busy", at: Date().addingTimeInterval(40)))
        #expect(try await replica.dueDeliveries(limit: 10).isEmpty, "the other delivery to the paused receiver waits too")
    }

    @Test("the index's work done on the cores before the writer (IndexPrework) gives exactly what the writer alone gives: search, outbox, digest; a subscription made after a page was prepared is matched")
    func preworkEqualsWriter() async throws {
        let dir = TemporaryDirectory("search")
        let source = try Replica.temporary(in: dir, name: "source.sqlite")
        var rng = SplitMix64(seed: 13)
        let words = ["창업", "지원", "소상공인", "정책자금", "재도전", "스마트상점", "판로", "수출", "교육", "컨설팅", "보증", "IT", "Ａ"]
        func text(_ count: Int) -> String { (0 ..< count).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: rng.next() % 3 == 0 ? "" : " ") }
        func make(_ i: Int, revision: Int) throws -> ProgramRecord {
            ProgramRecord(owner: AgencyID.allCases[i % 6], nativeID: "P-\(i)", title: text(3) + " \(revision)", summary: text(12),
                          category: i % 3 == 0 ? .finance : nil,
                          eligibility: Eligibility(regions: i % 4 == 0 ? [try RegionCode(i % 8 == 0 ? "26" : "11680")] : [], ownerAge: i % 5 == 0 ? BoundedRange(min: 40) : .unbounded),
                          status: .open)
        }
        func versions(_ programs: [ProgramRecord]) async throws -> [RecordVersion] {
            for owner in AgencyID.allCases {
                let edits = programs.filter { $0.owner == owner }.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }
                if !edits.isEmpty { try await source.author(edits, by: owner) }
            }
            var result: [RecordVersion] = []
            for program in programs { result.append(try await source.record(program.key)!) }
            return result
        }
        let first = try await versions(try (0 ..< 120).map { try make($0, revision: 0) })
        // Half of them edited (text, region, age), ten withdrawn.
        let second = try await versions(try (0 ..< 60).map { try make($0, revision: 1) })
        for program in first[60 ..< 70].map({ $0.program! }) {
            try await source.author([AuthoredEdit(key: program.key, edit: .deleteProgram)], by: program.owner)
        }
        var withdrawn: [RecordVersion] = []
        for version in first[60 ..< 70] { withdrawn.append(try await source.record(version.key)!) }
        // Programs 100-119 arrive with both their versions in one page (the later one's prework
        // is kept by key; the earlier state must not take it).
        let later = try await versions(try (100 ..< 120).map { try make($0, revision: 2) })
        var pageOne = Array(first[0 ..< 100])
        for index in 0 ..< 20 { pageOne += [first[100 + index], later[index]] }
        // Then the edits, the withdrawals, and some versions again (a retried pull).
        let pageTwo = second + withdrawn + Array(first[0 ..< 10])

        let filters: [SubscriptionFilter] = [
            SubscriptionFilter(events: [.programMatched], keywords: ["창업 지원"]),
            SubscriptionFilter(events: [.programMatched], keywords: ["정책자금", "수출"]),
            SubscriptionFilter(events: [.programMatched], profile: BusinessProfile(ownerAge: 25)),
            SubscriptionFilter(events: [.programMatched], profile: BusinessProfile(region: try RegionCode("11680")), keywords: ["교육"]),
            SubscriptionFilter(events: [.programMatched], keywords: ["스마트상점"], agency: .kodit),
            SubscriptionFilter(events: [.programMatched], keywords: ["ａ"], category: .finance),
            SubscriptionFilter(events: [.programMatched]),
        ]
        let late = SubscriptionFilter(events: [.programMatched], keywords: ["재도전"])
        let audit = AuditNote(actor: "api:test", action: "api.subscription.create", target: "", outcome: "ok", detail: "")
        func subscribe(_ replica: Replica, _ filter: SubscriptionFilter, _ n: Int) async throws {
            _ = try await replica.createSubscription(client: "test", url: "http://127.0.0.1:1/hook/\(n)", secret: "whsec_x", filter: filter, audit: audit)
        }
        // `batched`: each page in one call, the second through `prepare` with a subscription made
        // after it was prepared. `alone`: one version a call (below the prework's minimum).
        let batched = try Replica.temporary(in: dir, name: "batched.sqlite"), alone = try Replica.temporary(in: dir, name: "alone.sqlite")
        for replica in [batched, alone] {
            for (n, filter) in filters.enumerated() { try await subscribe(replica, filter, n) }
        }
        #expect(!IndexPrework(pageOne, events: SessionEvents()).isEmpty)
        try await batched.apply(pageOne, from: .peer(.kodit))
        let prepared = batched.prepare(pageTwo.map(\.canonicalBytes))
        try await subscribe(batched, late, filters.count)
        try await batched.apply(prepared: prepared, from: .peer(.kodit))
        for version in pageOne { try await alone.apply([version], from: .peer(.kodit)) }
        try await subscribe(alone, late, filters.count)
        for version in pageTwo { try await alone.apply([version], from: .peer(.kodit)) }

        #expect(try await batched.digest() == alone.digest())
        func owed(_ replica: Replica) async throws -> Set<String> {
            Set(try await replica.dueDeliveries(limit: 100_000).map { "\($0.url) \($0.recordKey) \($0.version)" })
        }
        let deliveries = try await owed(batched)
        #expect(deliveries == (try await owed(alone)))
        #expect(deliveries.contains { $0.hasPrefix("http://127.0.0.1:1/hook/\(filters.count) ") }, "the subscription made after the page was prepared is matched")
        #expect(deliveries.count > 100)
        for query in ["창업", "정책자금", "스마트상점 판로", "창", "ａ", "교육 컨설팅", "1", "2"] {
            for region in [nil, "11", "26"] {
                var search = ProgramQuery()
                search.text = query
                search.region = try region.map { try RegionCode($0) }
                search.limit = 200
                let found = try await batched.searchPrograms(search).items.map(\.program.nativeID)
                #expect(found == (try await alone.searchPrograms(search).items.map(\.program.nativeID)), "\(query) \(region ?? "-")")
            }
        }
    }

    @Test("ParallelFill puts every position exactly once, for every count and grain (parts of a grain can outnumber the cores, and the last ones can be empty)")
    func parallelFill() {
        for grain in [nil, 1, 7, 16, 64] as [Int?] {
            for count in Array(0 ... 300) + [499, 500, 501, 4_999, 5_000] {
                let filled: [Int] = ParallelFill.fill(count, grain: grain) { range, put in
                    for index in range { put(index, index * 3) }
                }
                #expect(filled == (0 ..< count).map { $0 * 3 }, "count \(count), grain \(grain.map(String.init) ?? "none")")
            }
        }
    }
}
