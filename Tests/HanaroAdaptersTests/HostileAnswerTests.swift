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
}
