import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroStore
import HanaroTesting
import Testing

/// Answers that misbehave — an answer dripping a byte a second, a redirect to another host, XML
/// nested without end, CDATA, text that is not UTF-8 or CP949, an export index that lists nothing
/// — served by a small server of our own that is not the simulator (Fixtures/serve_hostile.py) or
/// by Python's own `http.server`. An outside acceptance review of issue 9 found each of them.
@Suite("Hostile answers", .serialized)
struct HostileAnswerTests {
    /// `serve_hostile.py` with `arguments`, for the duration of `body` (given its URL and the process).
    static func withHostileServer<T>(_ arguments: [String], _ body: (String, ChildProcess) async throws -> T) async throws -> T {
        let dir = TemporaryDirectory("hostile")
        let server = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["python3", RealFormatTests.fixtures.appendingPathComponent("serve_hostile.py").path, "--port", "0"] + arguments,
                                      logPath: dir.file("server.log"))
        guard let line = await server.line(where: { $0.hasPrefix("serving at") }),
              let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)/).map({ String($0.1) }) else {
            server.signal(SIGKILL)
            await server.waitForExit()
            throw ProcessFailure("serve_hostile.py did not start: \(server.output)")
        }
        return try await RealFormatTests.serving(server, port: port) { url in try await body(url, server) }
    }

    /// A static answer: `bytes` for every request.
    static func withStaticAnswer<T>(_ bytes: [UInt8], contentType: String = "application/json", _ body: (String) async throws -> T) async throws -> T {
        let dir = TemporaryDirectory("hostile-body")
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("body")))
        return try await withHostileServer(["--mode", "static", "--file", dir.file("body"), "--content-type", contentType]) { url, _ in try await body(url) }
    }

    // MARK: The HTTP layer

    @Test("an answer dripping one byte a second fails at adapter.timeout, saying how much had come, instead of holding the read for minutes")
    func drip() async throws {
        try await Self.withHostileServer(["--mode", "drip", "--size", "60"]) { url, _ in
            try await RealFormatTests.Reader.with(.semas, url: url, pageSize: 10, configure: { $0.timeoutSeconds = 2 }) { (reader) async throws in
                // When semas answers its 60 bytes one byte a second, with adapter.timeout 2 s
                let clock = ContinuousClock(), start = clock.now
                var thrown: AdapterError?
                do { _ = try await reader.ingest.ingestPrograms() } catch let error as AdapterError { thrown = error }
                let elapsed = clock.now - start
                // Then the read fails within the timeout (and some slack for this machine), and says why
                #expect(elapsed < .seconds(8), "took \(elapsed)")
                #expect(thrown?.code == .unreachable, "\(String(describing: thrown))")
                #expect(thrown?.message.contains("still arriving after 2 s") == true && thrown?.message.contains("of 60 bytes") == true,
                        "\(thrown?.message ?? "")")
            }
        }
    }

    @Test("a redirect to another origin is not followed: the agency's credential header never reaches it, and the error names where it led")
    func crossOriginRedirect() async throws {
        // Given a server that would receive whatever is sent to it
        let dir = TemporaryDirectory("hostile-elsewhere")
        try Data("leaked\n".utf8).write(to: URL(fileURLWithPath: dir.file("body")))
        try await Self.withHostileServer(["--mode", "static", "--file", dir.file("body"), "--content-type", "text/plain"]) { elsewhere, receiver in
            // And kamco's export index answering 302 to it
            try await Self.withHostileServer(["--mode", "redirect", "--location", elsewhere + "/exports/"]) { url, _ in
                try await RealFormatTests.Reader.with(.kamco, url: url, pageSize: 10) { (reader) async throws in
                    // When kamco is read
                    var thrown: AdapterError?
                    do { _ = try await reader.ingest.ingestPrograms() } catch let error as AdapterError { thrown = error }
                    // Then the read fails, naming the other origin, and nothing reached it
                    #expect(thrown?.message.contains("another origin") == true && thrown?.message.contains(AgencyHTTPTestSupport.port(of: elsewhere)) == true,
                            "\(String(describing: thrown))")
                    try await Task.sleep(for: .milliseconds(200))
                    #expect(!receiver.output.contains("request "), "the other origin was contacted: \(receiver.output)")
                }
            }
        }
    }

    // MARK: The data.go.kr XML reader

    @Test("CDATA is text: 기업마당 wraps pblancNm in <![CDATA[…]]>, and a summary in CDATA keeps its HTML")
    func cdata() throws {
        let body = """
            <response> <header> <resultCode>00</resultCode> <resultMsg>NORMAL_SERVICE</resultMsg> </header> <body> <items> <item> \
            <pblancNm><![CDATA[2026년 하반기 단체관광객 유치 인센티브 지원 공고]]></pblancNm> <!-- 공고명 --> \
            <pblancId>PBLN_000000000126818</pblancId><bsnsSumryCn><![CDATA[<p>사업화 비용을 지원합니다.</p>]]></bsnsSumryCn> \
            </item> </items> <numOfRows>1</numOfRows><pageNo>1</pageNo><totalCount>1</totalCount> </body> </response>
            """
        let envelope = try DataGoKrEnvelope.parse(Array(body.utf8), agency: .koreg)
        #expect(envelope.items.first?["pblancNm"] == "2026년 하반기 단체관광객 유치 인센티브 지원 공고")
        #expect(envelope.items.first?["bsnsSumryCn"] == "<p>사업화 비용을 지원합니다.</p>")
        #expect(envelope.totalCount == 1)
    }

    @Test("XML nested 10,000 deep is refused at once as a schema error (it took 50 s, and 100,000 levels wedged the node)")
    func deepXML() throws {
        let depth = 10_000
        let body = "<response><header><resultCode>00</resultCode></header><body>" + String(repeating: "<a>", count: depth)
            + String(repeating: "</a>", count: depth) + "</body></response>"
        let clock = ContinuousClock(), start = clock.now
        #expect { try DataGoKrEnvelope.parse(Array(body.utf8), agency: .kinfa) } throws: { error in
            let error = error as? AdapterError
            return error?.code == .schema && error?.message.contains("deeper than \(DataGoKrEnvelope.maxDepth) levels") == true
        }
        #expect(clock.now - start < .seconds(2), "took \(clock.now - start)")
    }

    @Test("a header nested inside a header's sibling still counts as the header, after the deeper elements closed")
    func headerAfterDepth() throws {
        let body = "<response><header><x><y>1</y></x><resultCode>03</resultCode><resultMsg>NODATA_ERROR</resultMsg></header></response>"
        let envelope = try DataGoKrEnvelope.parse(Array(body.utf8), agency: .koreg)
        #expect(envelope.resultCode == "03" && envelope.items.isEmpty)
    }

    // MARK: JSON with one unreadable item

    @Test("one item with bytes that are not UTF-8 (semas) or a lone surrogate escape (ewpc) is quarantined under its id; the rest of the page is stored",
          arguments: [AgencyID.semas, .ewpc])
    func unreadableJSONItem(agency: AgencyID) async throws {
        var bytes: [UInt8]
        let badID: String
        if agency == .semas {
            bytes = Array(#"{"result":true,"data":{"default":{"total":3,"list":[{"pbancSn":1,"pbancNm":"소상공인 정책자금"},{"pbancSn":2,"pbancNm":"BAD"},{"pbancSn":3,"pbancNm":"희망리턴패키지"}]}}}"#.utf8)
            let bad = Array("BAD".utf8)
            let at = try #require(bytes.firstRange(of: bad))
            bytes.replaceSubrange(at, with: Array("폐업".utf8) + [0xFF, 0xFE] + Array("지원".utf8))
            badID = "2"
        } else {
            bytes = Array(#"{"scn_cnt":3,"pageNum":"1","pageSize":"10","srchList":[{"trprId":"A1","trprDegr":"1","title":"바리스타 실무"},{"trprId":"A2","trprDegr":"1","title":"요양\ud800보호사"},{"trprId":"A3","trprDegr":"2","title":"온라인 마케팅"}]}"#.utf8)
            badID = "A2-1"
        }
        try await Self.withStaticAnswer(bytes) { url in
            try await RealFormatTests.Reader.with(agency, url: url, pageSize: 10) { (reader) async throws in
                // When the node reads the agency
                try await reader.service.cycle(full: false)
                // Then the two good items are stored and the bad one is held under its own id, saying why
                #expect(try await reader.programs(agency).keys.count == 2)
                let held = try await reader.replica.quarantine()
                #expect(held.count == 1 && held.first?.recordKey == RecordKey(kind: .program, owner: agency, localID: badID).description, "\(held.map { "\($0.recordKey ?? "-") \($0.reason)" })")
                #expect(held.first?.reason.contains("not UTF-8 or a lone UTF-16 surrogate") == true, "\(held.first?.reason ?? "")")
            }
        }
    }

    @Test("a JSON answer that cannot be read says what it is: whole but malformed, cut short, or not JSON — not always \"may have been cut short\"")
    func jsonMessages() async throws {
        let cases: [(body: String, says: String)] = [
            (#"{"scn_cnt":1,"srchList":[{"trprId":"A1" "title":"x"}]}"#, "whole but not valid JSON"),
            (#"{"scn_cnt":1,"srchList":[{"trprId":"A1","ti"#, "ends unfinished"),
            ("<html><body>점검 중</body></html>", "is not JSON"),
        ]
        for (body, says) in cases {
            #expect { try EWPCAdapter.mapProgramPage(Array(body.utf8)) } throws: { error in
                (error as? AdapterError)?.message.contains(says) == true
            }
        }
    }

    // MARK: kamco's exports

    @Test("kamco: an export index that lists no files (a 200 maintenance page, an empty folder) is a failing read with the reason, not fresh",
          arguments: ["<html><head><title>안내</title></head><body><h1>시스템 점검 중입니다</h1></body></html>", nil])
    func kamcoEmptyIndex(page: String?) async throws {
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        if let page { try Data(page.utf8).write(to: URL(fileURLWithPath: exports + "/index.html")) }
        try await RealFormatTests.withDirectoryServer(www.path) { url in
            try await RealFormatTests.Reader.with(.kamco, url: url, pageSize: 10) { (reader) async throws in
                await #expect(throws: AdapterError.self) { try await reader.service.cycle(full: false) }
                #expect(await reader.board.state(.kamco, .inbound, staleAfterSeconds: 900) == .failing)
                let error = await reader.board.entry(.kamco, .inbound)?.lastError ?? ""
                #expect(error.contains("lists no files"), "\(error)")
            }
        }
    }

    @Test("kamco: an index listing files of which none matches adapter.file_pattern fails and names the pattern")
    func kamcoNoMatchingFile() async throws {
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        try RealFormatTests.kamcoExport([("K-1", "새출발기금")]).write(to: URL(fileURLWithPath: exports + "/export_20261201.csv"))
        try await RealFormatTests.withDirectoryServer(www.path) { url in
            try await RealFormatTests.Reader.with(.kamco, url: url, pageSize: 10) { (reader) async throws in
                await #expect { try await reader.ingest.ingestPrograms() } throws: { error in
                    (error as? AdapterError)?.message.contains("none matches adapter.file_pattern") == true
                }
            }
        }
    }

    @Test("kamco: a file whose last row has no line break is complete when its Content-Length is right (RFC 4180 §2.2)")
    func kamcoNoFinalLineBreak() async throws {
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        let file = try RealFormatTests.kamcoExport([("K-1", "새출발기금 채무조정"), ("K-2", "재기지원 컨설팅")])
        try file.dropLast(2).write(to: URL(fileURLWithPath: exports + "/" + RealFormatTests.kamcoFile(daysAgo: 1)))
        try await RealFormatTests.withDirectoryServer(www.path) { url in
            try await RealFormatTests.Reader.with(.kamco, url: url, pageSize: 10) { (reader) async throws in
                try await reader.service.cycle(full: false)
                #expect(try await reader.programs(.kamco).keys.sorted() == ["K-1", "K-2"])
                #expect(await reader.board.state(.kamco, .inbound, staleAfterSeconds: 900) == .fresh)
            }
        }
        // And a body whose length nothing vouched for must still end with a line break
        #expect { try KAMCOAdapter.parseExport(Array(file.dropLast(2)), file: "programs.csv", columns: []) } throws: { error in
            (error as? AdapterError)?.message.contains("may have been cut short") == true
        }
    }

    @Test("kamco: one row with bytes that are not CP949 is quarantined under its id with its row number; the other rows are stored")
    func kamcoBadCP949Row() async throws {
        let www = TemporaryDirectory("kamco-www")
        let exports = try www.directory("exports")
        var file = Array(try RealFormatTests.kamcoExport([("K-1", "새출발기금 채무조정"), ("K-2", "BAD"), ("K-3", "자산매각 지원")]))
        let at = try #require(file.firstRange(of: Array("BAD".utf8)))
        // 가, then FE 80 (a lead byte and a byte no CP949 character ends with) as the outside review sent them, then 가
        file.replaceSubrange(at, with: [0xB0, 0xA1, 0xFF, 0xFE, 0x80, 0xB0, 0xA1])
        let name = RealFormatTests.kamcoFile(daysAgo: 1)
        try Data(file).write(to: URL(fileURLWithPath: exports + "/" + name))
        try await RealFormatTests.withDirectoryServer(www.path) { url in
            try await RealFormatTests.Reader.with(.kamco, url: url, pageSize: 10) { (reader) async throws in
                try await reader.service.cycle(full: false)
                #expect(try await reader.programs(.kamco).keys.sorted() == ["K-1", "K-3"])
                let held = try await reader.replica.quarantine()
                #expect(held.count == 1 && held.first?.recordKey == RecordKey(kind: .program, owner: .kamco, localID: "K-2").description)
                #expect(held.first?.reason.contains("row 2 of \(name) holds bytes that are not CP949") == true, "\(held.first?.reason ?? "")")
            }
        }
        // A header that is not CP949 (a UTF-8 file) still refuses the file, and says what it is
        let utf8 = Array("관리번호,사업명\r\nK-1,새출발기금\r\n".utf8)
        #expect { try KAMCOAdapter.parseExport(utf8, file: "programs.csv", columns: []) } throws: { error in
            (error as? AdapterError)?.message.contains("the file is UTF-8") == true
        }
    }
}

/// Small helpers of these tests.
enum AgencyHTTPTestSupport {
    /// `:<port>` of a URL.
    static func port(of url: String) -> String { ":" + (URL(string: url)?.port.map(String.init) ?? "") }
}
