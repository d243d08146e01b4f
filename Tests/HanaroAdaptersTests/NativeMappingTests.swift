import Foundation
import HanaroAdapters
import HanaroCore
import HanaroTesting
import Testing

/// Fixtures built from the agencies' real field names and envelopes, with the dirt of
/// the agencies' real-world dirt: free-text dates, `@`/`,`/`||` multi-values, nulls, escaped entities, legacy
/// region codes, CP949 with quoting and embedded newlines.
@Suite("Native formats and their dirt")
struct NativeMappingTests {
    @Test("cleaning: entities, HTML, multi-values, amounts, rates, ages")
    func cleaning() throws {
        #expect(NativeCleaning.decodingEntities("R&amp;D &lt;3회&gt; &#39;x&#x27; &amp;amp;") == "R&D <3회> 'x' &")
        #expect(NativeCleaning.plainText(fromHTML: "<p>첫째&nbsp;줄</p><p> R&amp;amp;D </p><br/><b>굵게</b>") == "첫째 줄\nR&D\n굵게")
        #expect(NativeCleaning.multiValues("G47@I56@ C10") == ["G47", "I56", "C10"])
        #expect(NativeCleaning.multiValues("중소기업||예비창업자") == ["중소기업", "예비창업자"])
        #expect(NativeCleaning.multiValues("11|42150") == ["11", "42150"])
        #expect(NativeCleaning.multiValues("소상공인, 중소기업") == ["소상공인", "중소기업"])
        #expect(NativeCleaning.multiValues(nil) == [] && NativeCleaning.multiValues("  ") == [])
        #expect(try NativeCleaning.amount("50,000,000", field: "a") == 50_000_000)
        #expect(try NativeCleaning.amount("3000만원", field: "a") == 30_000_000)
        #expect(try NativeCleaning.amount("1억 5천만원", field: "a") == 150_000_000)
        #expect(throws: ValidationError.self) { try NativeCleaning.amount("협의", field: "lnlmt") }
        // Garbled figures are refused, never allowed to overflow (the process would stop): found by
        // fuzzing kamco's export (ops/fuzz/corpus/kamco/regression-amount-overflow).
        for garbled in ["99999999999999999999999", "9999999999999999만원", "99999999999999999억", "9999999999억" + String(repeating: "억", count: 400), "1" + String(repeating: "0", count: 40) + "원"] {
            #expect(throws: ValidationError.self, "\(garbled)") { try NativeCleaning.amount(garbled, field: "a") }
        }
        #expect(throws: ValidationError.self) { try NativeCleaning.amount("900000000000000000", field: "a", unit: 10_000) }
        #expect(throws: ValidationError.self) { try NativeCleaning.rateRange("연 " + String(repeating: "9", count: 400) + "%", field: "r") }
        #expect(throws: ValidationError.self) { try NativeCleaning.ageRange("만 99999999999999999999세 이상", field: "age") }
        #expect(try NativeCleaning.ageRange("만 19세 이상 ~ 만 39세 이하", field: "age") == BoundedRange(min: 19, max: 39))
        #expect(try NativeCleaning.rateRange("연 4.5% ~ 6.0%", field: "irt") == BoundedRange(min: 450, max: 600))
        #expect(try NativeCleaning.rateRange("연 6.0% 이내", field: "irt") == BoundedRange(max: 600))
        #expect(try NativeCleaning.rateRange("~3.5", field: "r") == BoundedRange(max: 350))
        #expect(try NativeCleaning.ageRange("만 19세 이상 ~ 만 39세 이하", field: "age") == BoundedRange(min: 19, max: 39))
        #expect(try NativeCleaning.ageRange("만 65세 이하", field: "age") == BoundedRange(max: 65))
        #expect(throws: ValidationError.self) { try NativeCleaning.ageRange("만 abc세", field: "age") }
    }

    @Test("semas: 소상공인24 item with nulls, entities, legacy region, @-joined industries")
    func semas() throws {
        let json = """
            {"pbancSn":123456,"pbancNm":"2026년 R&amp;D 소상공인 정책자금 공고","bizYr":"2026","rcptPd":{"from":"2026-01-01 00:00","to":"2026-03-31 18:00"},
             "rcrtTypeCd":"01","aplyPsbltySe":"Y","stngBgngBhisCnt":null,"stngEndBhisCnt":7,"stngBgngWrkrNope":null,"stngEndWrkrNope":5,
             "stngBgngSlsAmt":null,"stngEndSlsAmt":1000000000,"ctpvCd":"11,42","sggCd":"45110","tpbizCd":"G47@I56","jrsdInsttNm":"소상공인시장진흥공단",
             "detailUrl":"https://www.sbiz24.kr/#/pbanc/123456","useYn":"Y","updtDt":"2026-09-23 14:16:15"}
            """
        let item = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let record = try SEMASMapping.program(item)
        #expect(record.nativeID == "123456")
        #expect(record.title == "2026년 R&D 소상공인 정책자금 공고")
        #expect(record.eligibility.regions.map(\.code) == ["11", "51", "52110"])
        #expect(record.eligibility.industries.map(\.code) == ["G47", "I56"])
        #expect(record.eligibility.businessAgeMonths == BoundedRange(max: 84))
        #expect(record.period.start?.description == "2026-01-01" && record.period.end?.description == "2026-03-31")
        #expect(record.category == .finance && record.status == .open)
        #expect(SEMASMapping.id(item) == "123456")
    }

    @Test("an XML answer that is not valid UTF-8 is refused as a schema error, before Foundation's XMLParser (which traps on it) sees it")
    func invalidUTF8XML() throws {
        // Found by fuzzing koreg's parser (ops/fuzz/corpus/koreg/regression-xmlparser-invalid-utf8-name).
        let body = Array(#"<?xml version="1.0" encoding="UTF-8"?><response><"#.utf8) + [0xFF] + Array("header><resultCode>03</resultCode></header></response>".utf8)
        #expect { try DataGoKrEnvelope.parse(body, agency: .koreg) } throws: { ($0 as? AdapterError)?.code == .schema && "\($0)".contains("not valid UTF-8") }
        let undeclared = Array("<response><".utf8) + [0xC3, 0x28] + Array("x/></response>".utf8)
        #expect { try DataGoKrEnvelope.parse(undeclared, agency: .kinfa) } throws: { ($0 as? AdapterError)?.code == .schema }
        #expect(DataGoKrEnvelope.declaresUTF8(Array(#"<?xml version="1.0" encoding='EUC-KR'?><a/>"#.utf8)) == false)
        // Processing instructions (Foundation crashes on `<?x?>`: the fuzzer's third find), DOCTYPE, ENTITY.
        for hostile in [#"<?x?><response/>"#, #"<?xml version="1.0"?><response><?pi?></response>"#,
                        #"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><response>&a;</response>"#] {
            #expect { try DataGoKrEnvelope.parse(Array(hostile.utf8), agency: .kinfa) } throws: { "\($0)".contains("processing instruction, DOCTYPE or ENTITY") }
        }
        // A mangled declaration is not a way around the check (the fuzzer's second find).
        let mangled = Array(#"<?xml version="1.0" encoding="UT`F-8"?><response><header><resultCode>00</resultCode></header></response>"#.utf8)
        #expect { try DataGoKrEnvelope.parse(mangled, agency: .koreg) } throws: { "\($0)".contains("other than UTF-8") }
        #expect(DataGoKrEnvelope.declaresUTF8(Array(#"<?xml version="1.0" encoding="utf-8"?><a/>"#.utf8)))
    }

    @Test("koreg: 기업마당 XML envelope, HTML summary, free-text period kept, NODATA and key errors")
    func koreg() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?><response><header><resultCode>00</resultCode><resultMsg>NORMAL_SERVICE</resultMsg></header>
            <body><items><item><pblancId>PBLN_000000000126767</pblancId><pblancNm>[서울] R&amp;amp;D 특례보증</pblancNm><jrsdInsttNm>서울신용보증재단</jrsdInsttNm>
            <bsnsSumryCn>&lt;p&gt;소상공인 &amp;amp; 전통시장&lt;/p&gt;&lt;p&gt;최대 5천만원&lt;/p&gt;</bsnsSumryCn><reqstBeginEndDe>예산 소진시까지</reqstBeginEndDe>
            <trgetNm>소상공인,여성기업</trgetNm><hashtags>금융,서울</hashtags><areaCd>11</areaCd><pldirSportRealmLclasCodeNm>금융</pldirSportRealmLclasCodeNm>
            <pblancUrl>https://www.bizinfo.go.kr/x</pblancUrl><refrncNm/><useAt>Y</useAt><updtPnttm>2026-09-23 14:16:15</updtPnttm></item></items>
            <numOfRows>10</numOfRows><pageNo>1</pageNo><totalCount>1</totalCount></body></response>
            """
        let envelope = try DataGoKrEnvelope.parse(Array(xml.utf8), agency: .koreg)
        #expect(envelope.totalCount == 1)
        let record = try KOREGMapping.program(envelope.items[0])
        #expect(record.title == "[서울] R&D 특례보증")
        #expect(record.summary == "소상공인 & 전통시장\n최대 5천만원")
        #expect(record.period == ApplicationPeriod(text: "예산 소진시까지"))
        #expect(record.eligibility.targets == [.smallBusiness, .womenOwned])
        #expect(record.contact == nil)
        // 03 NODATA is an empty page, not an error.
        let nodata = "<response><header><resultCode>03</resultCode><resultMsg>NODATA_ERROR</resultMsg></header></response>"
        #expect(try DataGoKrEnvelope.parse(Array(nodata.utf8), agency: .koreg).items.isEmpty)
        // The portal's key error, in HTTP 200.
        let keyError = "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg><returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>"
        #expect { try DataGoKrEnvelope.parse(Array(keyError.utf8), agency: .koreg) } throws: { ($0 as? AdapterError)?.code == .unauthorized }
        // A body cut short.
        #expect { try DataGoKrEnvelope.parse(Array(xml.utf8.prefix(200)), agency: .koreg) } throws: { ($0 as? AdapterError)?.code == .schema }
        // An agency's own text that names a person never reaches the error (logs, /status); a
        // fixed token does.
        let personal = "<response><header><resultCode>99</resultCode><resultMsg>신청인 홍길동(010-1234-5678) 건 처리 중 오류</resultMsg></header></response>"
        do {
            _ = try DataGoKrEnvelope.parse(Array(personal.utf8), agency: .koreg)
            Issue.record("an error envelope was accepted")
        } catch {
            #expect(error.code == .envelope && error.description.contains("99"), "\(error)")
            #expect(!error.description.contains("홍길동") && !error.description.contains("1234"), "\(error)")
        }
        do {
            _ = try DataGoKrEnvelope.parse(Array(keyError.utf8), agency: .koreg)
        } catch {
            #expect(error.description.contains("SERVICE_KEY_IS_NOT_REGISTERED_ERROR"), "\(error)")
        }
    }

    @Test("an agency's error text is shown only when it is a fixed token", arguments: [
        ("SERVICE_KEY_IS_NOT_REGISTERED_ERROR", true), ("NODATA_ERROR", true), ("LIMITED NUMBER OF SERVICE REQUESTS EXCEEDS ERROR.", true),
        ("E401", true), ("신청인 홍길동 건 처리 중 오류", false), ("call 010-1234-5678", false), ("owner hong@example.kr", false),
        ("id 900101-1234567", false), (String(repeating: "A", count: 81), false),
    ])
    func agencyMessages(text: String, shown: Bool) {
        #expect((AgencyHTTP.agencyMessage(text) == text) == shown, "\(text)")
        if !shown { #expect(AgencyHTTP.agencyMessage(text).contains("not shown")) }
    }

    @Test("kodit: odcloud Korean keys, || multi-values, 상시신청")
    func kodit() throws {
        let json = """
            {"서비스ID":"KODIT-000001","서비스명":"재도전 특례보증","지원내용":"보증료 0.5%p 감면||R&amp;D 기업 우대","지원대상":"중소기업||예비창업자","신청기한":"상시신청",
             "소관기관명":"신용보증기금","상세조회URL":"https://www.kodit.co.kr/x","전화문의":"1588-6565","지원분야":"금융","지원한도":"3,000,000,000",
             "지역코드":null,"업종코드":"C10||C25","사용여부":"Y","등록일시":"20251204133104","수정일시":"20251204133104"}
            """
        let item = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let record = try KODITMapping.program(item)
        #expect(record.summary == "보증료 0.5%p 감면\nR&D 기업 우대")
        #expect(record.eligibility.targets == [.sme, .prospectiveFounder])
        #expect(record.period == ApplicationPeriod(text: "상시신청"))
        #expect(record.supportAmountKRW == BoundedRange(max: 3_000_000_000))
        #expect(record.eligibility.regions.isEmpty)
    }

    @Test("kinfa: loan product with rates and ages; an inverted age range is refused")
    func kinfa() throws {
        var item = ["seq": "FP00004001", "finprdnm": "햇살론 특례", "trgt": "저신용자, 소상공인", "age": "만 19세 이상 ~ 만 34세 이하",
                    "suprtgtdtlcond": "연소득 3천5백만원 이하 &amp; 신용평점 하위", "lnlmt": "30000000", "irt": "연 4.5% ~ 6.0%",
                    "ofrinstnm": "서민금융진흥원", "useAt": "Y", "updtPnttm": "2026-09-23 14:16:15"]
        let record = try KINFAMapping.program(item)
        #expect(record.eligibility.ownerAge == BoundedRange(min: 19, max: 34))
        #expect(record.rateBasisPoints == BoundedRange(min: 450, max: 600))
        #expect(record.summary == "연소득 3천5백만원 이하 & 신용평점 하위")
        item["age"] = "만 40세 이상 ~ 만 19세 이하"
        #expect { try KINFAMapping.program(item) } throws: { ($0 as? ValidationError)?.code == .invalidRange }
    }

    @Test("ewpc: 고용24 course, YYYYMMDD dates, legacy 5-digit district, bad date refused")
    func ewpc() throws {
        var item: [String: Any] = ["trprId": "AIG20260000412345", "trprDegr": "2", "title": "소상공인 디지털 전환 과정", "subTitle": "서울강남고용센터",
                                   "traStartDate": "20260105", "traEndDate": "20260227", "trngAreaCd": "42150", "courseMan": "1200000",
                                   "titleLink": "https://www.work24.go.kr/x", "telNo": "02-000-0000", "useYn": "Y", "lastUpdtDt": "20260923141615"]
        let record = try EWPCMapping.program(item)
        #expect(record.nativeID == "AIG20260000412345-2")
        #expect(record.eligibility.regions.map(\.code) == ["51150"])
        #expect(record.period.start?.description == "2026-01-05")
        item["traStartDate"] = "20269999"
        #expect { try EWPCMapping.program(item) } throws: { ($0 as? ValidationError)?.field == "traStartDate" }
    }

    @Test("kamco: a CP949 export with quoting, embedded newlines, 똠 and thousands separators")
    func kamco() throws {
        let csv = "관리번호,사업명,사업내용,지원대상,지역코드,업종코드,신청시작일,신청종료일,지원한도금액,금리(%),담당부서,연락처,삭제여부,등록일시,수정일시\r\n"
            + "KC0000001,새출발기금 채무조정 (똠방각하),\"첫째 줄, 쉼표\r\n\"\"따옴표\"\" 둘째 줄\",소상공인|여성기업,42|11,,2026.01.01,20261231,\"50,000,000\",2.0~3.5,채무조정부,1588-3570,N,2026-01-01 09:00:00,2026-09-23 14:16:15\r\n"
            + "KC0000002,상시 상담,,,,,,상시,,,,,Y,2026-01-01 09:00:00,2026-09-23 14:16:16\r\n"
            + "KC0000003,\"\"\"부실우려\"\" 차주\r\n특별   지원 \",,,,,,상시,,,,,N,2026-01-01 09:00:00,2026-09-23 14:16:17\r\n"
        let bytes = try #require(csv.data(using: String.Encoding(rawValue: 0x8000_0422)))
        #expect(String(data: bytes, encoding: .utf8) == nil, "the fixture really is CP949, not UTF-8")
        let rows = try KAMCOAdapter.parseExport(Array(bytes), file: "programs-20260923.csv", columns: [])
        #expect(rows.count == 3)
        let columns = try KAMCOMapping.resolve(header: rows[0].header, configured: [:], file: "programs-20260923.csv")
        let first = try KAMCOMapping.program(rows[0].fields, columns: columns)
        #expect(first.title == "새출발기금 채무조정 (똠방각하)")
        #expect(first.summary == "첫째 줄, 쉼표\n\"따옴표\" 둘째 줄")
        #expect(first.eligibility.regions.map(\.code) == ["11", "51"])
        #expect(first.supportAmountKRW == BoundedRange(max: 50_000_000))
        #expect(first.rateBasisPoints == BoundedRange(min: 200, max: 350))
        let second = try KAMCOMapping.program(rows[1].fields, columns: columns)
        #expect(second.period == ApplicationPeriod(text: "상시") && second.isDeleted)
        // A title broken over lines in its quoted field is one line, its runs of spaces one space.
        let third = try KAMCOMapping.program(rows[2].fields, columns: columns)
        #expect(third.title == "\"부실우려\" 차주 특별 지원", "\(third.title.debugDescription)")
        // A download cut short (no final line break) is refused, not half-read.
        #expect { try KAMCOAdapter.parseExport(Array(bytes.dropLast(3)), file: "programs-20260923.csv", columns: []) }
            throws: { ($0 as? AdapterError)?.code == .schema }
    }
}
