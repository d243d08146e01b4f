public import HanaroCore

/// Seeded, realistic synthetic records: Korean program titles, institutions, regions, amounts
/// and referrals with valid business numbers. Used by tests, benchmarks and the demo; the same
/// seed gives the same data on every machine.
public struct SyntheticData: Sendable {
    public var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    public static let programWords = ["소상공인", "정책자금", "경영안정", "재도전", "희망리턴패키지", "스마트상점", "온라인 판로",
                               "특례보증", "새출발기금", "햇살론", "미소금융", "내일배움카드", "국민취업지원", "디지털 전환",
                               "상권 활성화", "점포 철거", "재창업", "채무조정", "고용안정", "수출 바우처"]
    static let kinds = ["지원사업 공고", "모집 공고", "융자 안내", "보증 지원", "교육생 모집", "참여기업 모집"]
    /// Institutions that publish or run programs.
    public static let institutions = ["소상공인시장진흥공단", "서울신용보증재단", "경기신용보증재단", "부산신용보증재단", "신용보증기금",
                               "한국자산관리공사", "서민금융진흥원", "고용노동부 서울강남고용센터", "중소벤처기업부"]
    static let provinces = Array(RegionCode.provinces.keys).sorted()
    static let industries = ["G47", "I56", "C10", "F41", "S95", "N75", "J58", "H49", "G46", "M73"]
    public static let surnames = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
    public static let givenNames = ["민준", "서연", "도윤", "하은", "지호", "수빈", "예준", "지민", "현우", "유진"]
    public static let trades = ["행복분식", "우리세탁소", "한빛철물", "새봄꽃집", "다온카페", "바른정육점", "은하미용실", "푸른약국"]

    public mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    /// A valid business number drawn at random (the check digit computed).
    public mutating func businessNumber() -> BusinessNumber {
        var d = (0..<9).map { _ in int(0...9) }
        d[0] = int(1...9)
        let weights = [1, 3, 7, 1, 3, 7, 1, 3, 5]
        var sum = zip(d, weights).map(*).reduce(0, +)
        sum += (d[8] * 5) / 10
        d.append((10 - sum % 10) % 10)
        return try! BusinessNumber(d.map(String.init).joined())
    }

    /// A program of about 500 canonical bytes.
    public mutating func program(owner: AgencyID, nativeID: String, revision: Int = 0) -> ProgramRecord {
        let year = 2026
        let startMonth = int(1...10)
        let title = "\(year)년 \(pick(Self.programWords)) \(pick(Self.programWords)) \(pick(Self.kinds))" + (revision > 0 ? " (변경 \(revision))" : "")
        var summary = ""
        for _ in 0..<3 { summary += "\(pick(Self.programWords)) 분야 소상공인의 \(pick(Self.programWords))을 위해 자금과 컨설팅을 지원합니다. " }
        let regions = (0..<int(0...3)).map { _ in try! RegionCode(pick(Self.provinces)) }
        let industries = (0..<int(0...2)).map { _ in try! KSICCode(pick(Self.industries)) }
        return ProgramRecord(
            owner: owner, nativeID: nativeID, title: title, summary: summary,
            category: pick(SupportCategory.allCases), institution: pick(Self.institutions),
            eligibility: Eligibility(
                regions: regions, industries: industries,
                businessAgeMonths: BoundedRange(min: nil, max: Int64(int(12...120))),
                revenueKRW: BoundedRange(max: Int64(int(1...30)) * 100_000_000),
                employees: BoundedRange(max: Int64(int(5...10))),
                targets: [.smallBusiness]),
            period: ApplicationPeriod(start: try! LocalDate(year: year, month: startMonth, day: int(1...28)),
                                      end: try! LocalDate(year: year, month: startMonth + 2, day: int(1...28))),
            supportAmountKRW: BoundedRange(max: Int64(int(1...70)) * 1_000_000),
            rateBasisPoints: BoundedRange(min: 200, max: Int64(int(250...450))),
            url: "https://www.example.go.kr/programs/\(owner.rawValue)/\(nativeID)",
            contact: "1357-\(int(1000...9999))",
            status: .open)
    }

    /// A referral draft from `origin` to another agency, with consent and personal fields.
    public mutating func referralDraft(origin: AgencyID, referralID: String) -> ReferralDraft {
        var target = pick(AgencyID.allCases)
        if target == origin { target = AgencyID(index: (origin.index + 1) % AgencyID.allCases.count)! }
        let name = pick(Self.surnames) + pick(Self.givenNames)
        return ReferralDraft(
            referralID: referralID, target: target, originCentre: "\(pick(Self.institutions)) \(int(1...77))센터",
            business: BusinessInfo(tradeName: pick(Self.trades), businessNumber: businessNumber(),
                                   address: "\(pick(["서울", "부산", "대구", "광주"])) \(int(1...25))구 \(int(1...300))번길 \(int(1...99))",
                                   region: try! RegionCode(pick(Self.provinces)), industry: try! KSICCode(pick(Self.industries))),
            needs: ReferralNeeds(categories: [pick(SupportCategory.allCases)], summary: "\(pick(Self.programWords)) 상담 희망, 매출 감소로 \(pick(Self.programWords)) 문의"),
            consent: Consent(scope: ["성명", "연락처", "사업자정보"], recipient: target, purpose: "연계 상담",
                             retainUntil: try! LocalDate(year: 2029, month: 12, day: 31), recordedAt: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000)),
            personal: PersonalFields(ownerName: name, phone: "010-\(int(1000...9999))-\(int(1000...9999))"))
    }

    /// A program version as its owner's node would author it (a fresh record).
    public mutating func programVersion(owner: AgencyID, nativeID: String, at clock: HLCTimestamp) -> RecordVersion {
        let content = program(owner: owner, nativeID: nativeID)
        return try! RecordVersion.authoring(.publishProgram(content), on: nil, key: content.key, by: owner, clock: clock)
    }

    /// A referral version as its origin's node would author it (a fresh record).
    public mutating func referralVersion(origin: AgencyID, referralID: String, at clock: HLCTimestamp) -> RecordVersion {
        let draft = referralDraft(origin: origin, referralID: referralID)
        let key = RecordKey(kind: .referral, owner: origin, localID: referralID)
        return try! RecordVersion.authoring(.createReferral(draft), on: nil, key: key, by: origin, clock: clock)
    }
}
