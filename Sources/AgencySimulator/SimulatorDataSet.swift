import Foundation
public import HanaroCore
import HanaroFixtures

/// Seeded, realistic program data for one agency: Korean titles, institutions, regions (some
/// with legacy codes), industries, amounts, free-text periods, and the real-world dirt of the agencies' APIs
/// (`R&D` that the formats escape, nulls, multi-values). The same seed gives the same content;
/// updated-at stamps fall in the 30 days before `now`, many records sharing one second.
public struct SimulatorDataSet {
    var data: SyntheticData
    let agency: AgencyID
    var sequence = 0

    public init(agency: AgencyID, seed: UInt64) {
        self.agency = agency
        data = SyntheticData(seed: seed ^ UInt64(agency.index + 1) &* 0x9E37_79B9)
    }

    static let titleHeads = ["소상공인", "전통시장", "골목상권", "청년 창업", "재도전", "폐업 소상공인", "여성기업", "장애인기업", "R&D", "수출초보"]
    static let titleBodies = ["정책자금 융자", "경영개선 지원사업", "특례보증", "희망리턴패키지 재창업", "새출발기금 채무조정", "햇살론 특례",
                              "미소금융 창업자금", "국민취업지원제도", "내일배움카드 직업훈련", "스마트상점 기술보급", "온라인 판로 지원",
                              "점포 철거비 지원", "디지털 전환 바우처", "고용안정 장려금"]
    static let suffixes = ["공고", "참여기업 모집", "(2차) 모집 공고", "안내", "지원 대상자 모집", "시행 공고"]
    static let sentences = ["매출 감소로 어려움을 겪는 소상공인의 경영 안정을 지원합니다.", "업체당 최대 한도 내에서 융자 또는 보증을 제공합니다.",
                            "R&D 역량이 있는 기업은 우대합니다.", "신청은 온라인(소상공인24)에서만 받습니다.", "예산 소진 시 조기 마감될 수 있습니다.",
                            "전문가 컨설팅 <3회>를 함께 지원합니다.", "폐업 후 재취업을 희망하는 분께 직업훈련을 연계합니다.", "\"희망리턴패키지\"와 연계하여, 재기를 돕습니다."]
    static let freeTexts = ["예산 소진시까지", "상시신청", "연중 수시 접수", "추후 공지"]
    static let provinces = ["11", "26", "27", "28", "29", "30", "31", "36", "41", "43", "44", "46", "47", "48", "50", "51", "52", "42", "45"]
    static let sigungu = ["11680", "26350", "41135", "42150", "45110", "51110", "52111", "48121"]
    static let industries = ["G47", "I56", "C10", "F41", "S95", "N75", "J58", "H49", "G4711", "I56111", "C25"]
    static let targets = ["소상공인", "중소기업", "예비창업자", "사회적기업", "장애인기업", "여성기업"]

    /// The native id of the n-th program, in the agency's style.
    public func nativeID(_ n: Int) -> String {
        switch agency {
        case .semas: String(100_000 + n)
        case .koreg: "PBLN_" + String(repeating: "0", count: 12 - String(126_000 + n).count) + String(126_000 + n)
        case .kodit: "KODIT-\(String(format: "%06d", n))"
        case .kamco: "KC\(String(format: "%07d", n))"
        case .kinfa: "FP\(String(format: "%08d", 4_000 + n))"
        case .ewpc: "AIG2026\(String(format: "%08d", 412_000 + n))-\(n % 3 + 1)"
        }
    }

    /// The next new program, updated at `stamp`.
    public mutating func makeProgram(updatedAt stamp: AgencyTimestamp) -> SimulatedProgram {
        sequence += 1
        let id = nativeID(sequence)
        let year = 2026
        let month = data.int(1...10)
        var start: LocalDate? = try! LocalDate(year: year, month: month, day: data.int(1...28))
        var end: LocalDate? = try! LocalDate(year: year, month: month + 2, day: data.int(1...28))
        var text: String?
        if data.int(0...5) == 0 {
            start = nil
            end = nil
            text = data.pick(Self.freeTexts)
        }
        let regions: [String] = (0..<data.int(0...3)).map { _ in data.int(0...3) == 0 ? data.pick(Self.sigungu) : data.pick(Self.provinces) }
        // One code per province or district: duplicates (also via a legacy code) collapse in the canonical form.
        var seen = Set<String>()
        let distinctRegions = regions.filter { (try? RegionCode($0)).map { seen.insert($0.code).inserted } ?? false }
        var seenIndustries = Set<String>()
        let industries = (0..<data.int(0...2)).map { _ in data.pick(Self.industries) }.filter { seenIndustries.insert($0).inserted }
        var seenTargets = Set<String>()
        let targets = (0..<data.int(0...2)).map { _ in data.pick(Self.targets) }.filter { seenTargets.insert($0).inserted }
        let summary = (0..<data.int(1...3)).map { _ in data.pick(Self.sentences) }.joined(separator: "\n")
        let minAge = data.int(0...1) == 0 ? nil : data.int(19...30) as Int?
        return SimulatedProgram(
            id: id,
            title: "\(year)년 \(data.pick(Self.titleHeads)) \(data.pick(Self.titleBodies)) \(data.pick(Self.suffixes))",
            summary: summary,
            institution: data.pick(SyntheticData.institutions),
            category: data.pick(SupportCategory.allCases),
            regions: distinctRegions, industries: industries,
            periodStart: start, periodEnd: end, periodText: text,
            businessAgeYears: (min: data.int(0...2) == 0 ? 1 : nil, max: data.int(0...1) == 0 ? nil : data.int(3...10)),
            employees: (min: nil, max: data.int(0...2) == 0 ? nil : data.int(5...10)),
            revenueKRW: (min: nil, max: data.int(0...1) == 0 ? nil : Int64(data.int(1...30)) * 100_000_000),
            ownerAge: (min: minAge, max: minAge == nil ? nil : data.int(39...64)),
            amountMaxKRW: data.int(0...4) == 0 ? nil : Int64(data.int(1...70)) * 1_000_000,
            rateBasisPoints: (min: data.int(0...1) == 0 ? nil : Int64(data.int(10...25)) * 10, max: Int64(data.int(30...60)) * 10),
            targets: targets,
            url: "https://www.example.go.kr/\(agency.rawValue)/programs/\(id)",
            contact: "1357-\(data.int(1000...9999))",
            isOpen: data.int(0...3) != 0, isDeleted: false, isMalformed: false,
            createdAt: stamp, updatedAt: stamp)
    }

    /// A changed copy of a program (its owner edited the title and the amount), updated at `stamp`.
    public mutating func change(_ program: SimulatedProgram, at stamp: AgencyTimestamp) -> SimulatedProgram {
        var changed = program
        changed.title = "\(program.title.split(separator: " (변경").first ?? "") (변경 \(data.int(1...99)))"
        changed.amountMaxKRW = Int64(data.int(1...70)) * 1_000_000
        changed.isOpen.toggle()
        changed.updatedAt = stamp
        return changed
    }

    /// `count` programs whose stamps fall in the 30 days before `now`, several per second.
    public mutating func seed(count: Int, now: Int64) -> [SimulatedProgram] {
        var programs: [SimulatedProgram] = []
        programs.reserveCapacity(count)
        let span = Int64(30 * 86_400)
        var second = now - span
        let step = max(1, span / Int64(max(1, count)))
        for _ in 0..<count {
            // Several records per second (a batch import), to exercise tie-safe cursors.
            if data.int(0...3) == 0 { second += Int64(data.int(1...Int(max(1, step * 2)))) }
            programs.append(makeProgram(updatedAt: AgencyTimestamp(secondsSince1970: min(second, now - 2))))
        }
        return programs
    }

    /// A referral draft from this agency's counsellor to `target`, as wire fields.
    public mutating func referralFields(target: AgencyID) -> [String: String] {
        let draft = data.referralDraft(origin: agency, referralID: "x")
        return [
            "cntrNm": "\(agency.koreanName) \(data.int(1...77))센터",
            "bzentyNm": draft.business.tradeName,
            "brno": draft.business.businessNumber.digits,
            "addr": draft.business.address,
            "rgnCd": draft.business.region?.code ?? "11",
            "ksicCd": draft.business.industry?.code ?? "G47",
            "needCtgry": draft.needs.categories.map(\.rawValue).joined(separator: ","),
            "needCn": draft.needs.summary,
            "cnsntScope": "성명,연락처,사업자정보",
            "cnsntPrps": "연계 상담",
            "cnsntEndDe": "20291231",
            "ownrNm": draft.personal!.ownerName,
            "mblTelno": draft.personal!.phone,
            "pgmKey": "",
        ]
    }
}
