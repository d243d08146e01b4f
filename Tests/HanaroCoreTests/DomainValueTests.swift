import HanaroTesting
import Testing
import HanaroCore

@Suite("Domain values")
struct DomainValueTests {
    @Test("business numbers: the published check digit rule", arguments: [
        ("1168200276", true), ("1348672683", true), ("1208147521", true), ("1018116406", true), ("1234567891", true),
        ("116-82-00276", true), ("1234567890", false), ("1168200278", false), ("1208147522", false),
        ("123456789", false), ("12345678901", false), ("12a4567891", false), ("", false),
    ])
    func businessNumber(text: String, valid: Bool) {
        // Given a printed number, When it is parsed, Then only checksum-valid 10-digit numbers pass.
        let parsed = try? BusinessNumber(text)
        #expect((parsed != nil) == valid, "\(text)")
        if let parsed { #expect(parsed.description.count == 12) }
    }

    @Test("an invalid business number names the rule")
    func businessNumberError() {
        #expect(throws: ValidationError.self) { try BusinessNumber("1234567890") }
        do {
            _ = try BusinessNumber("1234567890")
        } catch {
            #expect(error.code == .invalidBusinessNumber)
            #expect(error.message.contains("check digit"))
        }
    }

    @Test("region codes: legacy 강원 42 and 전북 45 map to 51 and 52", arguments: [
        ("11", "11"), ("42", "51"), ("45", "52"), ("42110", "51110"), ("45111", "52111"), ("51", "51"), ("26440", "26440"),
    ])
    func regionMapping(input: String, expected: String) throws {
        #expect(try RegionCode(input).code == expected)
    }

    @Test("bad region codes are refused", arguments: ["1", "123", "99", "4211", "ab", "00000"])
    func badRegion(input: String) {
        #expect(throws: ValidationError.self) { try RegionCode(input) }
    }

    @Test("KSIC codes", arguments: [("G47", true), ("c10", true), ("I56111", true), ("G", true), ("G4", false), ("Z12", false), ("G4711111", false)])
    func ksic(input: String, valid: Bool) {
        #expect(((try? KSICCode(input)) != nil) == valid)
    }

    @Test("KSIC digits alone take their division's section", arguments: [
        ("47111", "G47111"), ("47", "G47"), ("10", "C10"), ("5621", "I5621"), ("01", "A01"), ("99", "U99"), ("86", "Q86"),
    ])
    func ksicDigits(input: String, expected: String) throws {
        #expect(try KSICCode(input).code == expected)
    }

    @Test("a program's status on a day: from its period, else the agency's; an early close stands")
    func statusOnDay() throws {
        let day = try LocalDate(year: 2026, month: 12, day: 3)
        func program(_ start: LocalDate?, _ end: LocalDate?, _ status: ProgramStatus) -> ProgramRecord {
            ProgramRecord(owner: .semas, nativeID: "P", title: "t", period: ApplicationPeriod(start: start, end: end), status: status)
        }
        let past = try LocalDate(year: 2026, month: 6, day: 27), future = try LocalDate(year: 2027, month: 1, day: 5)
        #expect(program(nil, past, .open).status(on: day) == .closed)
        #expect(program(past, nil, .unknown).status(on: day) == .open)
        #expect(program(future, nil, .open).status(on: day) == .upcoming)
        #expect(program(past, future, .unknown).status(on: day) == .open)
        #expect(program(past, future, .closed).status(on: day) == .closed)
        #expect(program(nil, day, .open).status(on: day) == .open)
        #expect(program(nil, nil, .open).status(on: day) == .open)
        #expect(program(nil, nil, .unknown).status(on: day) == .unknown)
        #expect(LocalDate.inKorea(secondsSince1970: 1_764_687_600).description == "2025-12-03")  // 2025-12-02T15:00Z = 00:00 KST
        #expect(LocalDate.inKorea(secondsSince1970: 1_764_687_599).description == "2025-12-02")
    }

    @Test("digits no KSIC division has are refused", arguments: ["04", "40", "4", "477777", "48123", "00"])
    func ksicNoDivision(input: String) {
        #expect(throws: ValidationError.self) { try KSICCode(input) }
    }

    @Test("dates in every published shape", arguments: [
        ("20260909", "2026-09-09"), ("2026-09-09", "2026-09-09"), ("2026.09.09", "2026-09-09"),
        ("2026-09-23 14:16:15", "2026-09-23"), ("2026-01-01 00:00", "2026-01-01"), ("20251204133104", "2025-12-04"),
    ])
    func dates(input: String, expected: String) {
        #expect(LocalDate(parsing: input)?.description == expected)
    }

    @Test("impossible and free-text dates are not dates", arguments: ["20260230", "2026-13-01", "상시신청", "예산 소진시까지", ""])
    func notDates(input: String) {
        #expect(LocalDate(parsing: input) == nil)
    }

    @Test("application periods keep free text")
    func periods() {
        let range = ApplicationPeriod(parsing: "2026-09-09 ~ 2026-09-30")
        #expect(range.start?.description == "2026-09-09")
        #expect(range.end?.description == "2026-09-30")
        #expect(range.text == nil)
        let openEnded = ApplicationPeriod(parsing: "2026-09-09 ~ 예산 소진시까지")
        #expect(openEnded.start?.description == "2026-09-09")
        #expect(openEnded.end == nil)
        #expect(openEnded.text == "2026-09-09 ~ 예산 소진시까지")
        let free = ApplicationPeriod(parsing: "상시신청")
        #expect(free.start == nil && free.end == nil && free.text == "상시신청")
        #expect(throws: ValidationError.self) { try ApplicationPeriod(parsing: "2026-09-30 ~ 2026-09-01").validate() }
    }

    @Test("주민등록번호 shapes are detected; phones and business numbers are not", arguments: [
        ("주민번호 900101-1234567 입니다", true), ("9001011234567", true), ("900101 2234567", true),
        ("010-1234-5678", false), ("116-82-00276", false), ("991399-1234567", false), ("900101-9234567", false),
        ("12900101-1234567", false), ("전화 02-123-4567", false),
        // Any dash, a few separators, fullwidth digits: as typed on a Korean keyboard or pasted.
        ("주민 800101–1234567", true), ("800101—1234567", true), ("800101−1234567", true), ("800101－1234567", true),
        ("800101/1234567", true), ("800101_1234567", true), ("800101.1234567", true), ("800101 - 1234567", true),
        ("９００１０１－１２３４５６７", true), ("９００１０１１２３４５６７", true), ("900101\u{3000}1234567", true),
        ("800101 -- - 1234567", false), ("2026.01.01", false), ("합계 120,000 1234567", false), ("800101–9234567", false),
        ("０１０－１２３４－５６７８", false), ("사업자 １１６－８２－００２７６", false),
    ])
    func residentNumbers(text: String, expected: Bool) {
        #expect(ResidentNumberDetector.containsResidentNumber(text) == expected, "\(text)")
    }

    @Test("phone numbers and e-mail addresses in free text are found and redacted; representative numbers, dates and amounts stay", arguments: [
        ("연락처 010-1234-5678 로", "연락처 [연락처 삭제] 로"),
        ("010.1234.5678", "[연락처 삭제]"), ("01012345678번", "[연락처 삭제]번"), ("011 234 5678", "[연락처 삭제]"),
        ("+82 10-9876-5432 (휴대폰)", "[연락처 삭제] (휴대폰)"), ("+82-2-123-4567", "[연락처 삭제]"),
        ("자택 02-123-4567, 031)987-6543", "자택 [연락처 삭제], [연락처 삭제]"), ("070-1234-5678", "[연락처 삭제]"),
        ("메일 hong.gildong+1@example.co.kr.", "메일 [연락처 삭제]."), ("A@B.KR 로 회신", "[연락처 삭제] 로 회신"),
        ("대표번호 1588-1234 문의", "대표번호 1588-1234 문의"), ("2026-01-02 접수", "2026-01-02 접수"),
        ("매출 0원, 대출 30,000,000원", "매출 0원, 대출 30,000,000원"), ("사업자 116-82-00276", "사업자 116-82-00276"),
        ("계좌 1010-1234-5678-99", "계좌 1010-1234-5678-99"), ("010-1234-56789", "010-1234-56789"),
        ("user@localhost", "user@localhost"), ("@example.com", "@example.com"), ("상담 메모 1234", "상담 메모 1234"),
    ])
    func contacts(text: String, expected: String) {
        #expect(ContactDetector.redacted(text) == expected, "\(text)")
        #expect(ContactDetector.containsContact(text) == (expected != text), "\(text)")
        #expect(!ContactDetector.containsContact(ContactDetector.redacted(text)))
    }

    @Test("record keys round-trip through text and refuse unknown agencies")
    func recordKeys() throws {
        let key = try RecordKey(parsing: "program/kamco/2026/07/A-1")
        #expect(key.owner == .kamco && key.kind == .program && key.localID == "2026/07/A-1")
        #expect(key.description == "program/kamco/2026/07/A-1")
        #expect(throws: ValidationError.self) { try RecordKey(parsing: "program/nps/1") }
        #expect(throws: ValidationError.self) { try RecordKey(parsing: "invoice/semas/1") }
        #expect(throws: ValidationError.self) { try RecordKey(parsing: "program/semas/") }
    }
}

@Suite("Eligibility check")
struct EligibilityCheckTests {
    @Test("eligible, ineligible with every failed criterion, unknown with the missing facts")
    func outcomes() throws {
        let criteria = Eligibility(regions: [try RegionCode("11680")], industries: [try KSICCode("G47")],
                                   businessAgeMonths: BoundedRange(max: 36), ownerAge: BoundedRange(min: 19, max: 39))
        #expect(criteria.check(BusinessProfile(region: try RegionCode("11680"), industry: try KSICCode("G47121"), businessAgeMonths: 12, ownerAge: 30)) == .eligible)
        guard case .ineligible(let failed) = criteria.check(BusinessProfile(region: try RegionCode("26"), industry: try KSICCode("C10"), businessAgeMonths: 48, ownerAge: 30)) else {
            Issue.record("expected ineligible")
            return
        }
        #expect(failed.map(\.criterion) == [.region, .ksic, .businessAgeMonths])
        #expect(failed.last?.requirement == "at most 36" && failed.last?.actual == "48")
        // The 시도 alone cannot tell whether the business is in 강남구; G alone cannot tell G47.
        #expect(criteria.check(BusinessProfile(region: try RegionCode("11"), industry: try KSICCode("G"))) == .unknown(missing: [.region, .ksic, .businessAgeMonths, .ownerAge]))
        #expect(Eligibility().check(BusinessProfile()) == .eligible)
    }
}
