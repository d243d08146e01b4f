public import HanaroCore

/// 서민금융진흥원's loan products through data.go.kr (XML): programs at
/// `/B553701/LoanProductSearchingInfo/LoanProductSearchingInfo/getLoanProductSearchingInfo`
/// (`adapter.programs_path`). The products carry no update stamp: kinfa is read as snapshots. A
/// referral feed (`adapter.referral_events_path`, ours: `/B553701/Referral/getRfrlEventList`) and
/// the intake (`/B553701/Referral/rfrlIntake`) use the same envelope.
public struct KINFAAdapter: DataGoKrAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    static let defaultProgramsPath = "/B553701/LoanProductSearchingInfo/LoanProductSearchingInfo/getLoanProductSearchingInfo"
    static let defaultReferralEventsPath = "/B553701/Referral/getRfrlEventList"
    static let defaultIntakePath = "/B553701/Referral/rfrlIntake"
    static let programsHaveStamps = false

    public let snapshotMemo: SnapshotPageMemo? = SnapshotPageMemo()

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programID(_ item: [String: String]) -> String? { NativeCleaning.present(item["seq"]) }
    func programStamp(_ item: [String: String]) -> ListRead.Stamp { .none }
    func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord { try KINFAMapping.program(item) }
}

extension KINFAAdapter: AgencyFormat {
    public static let agency = AgencyID.kinfa

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        KINFAAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try DataGoKrEnvelope.parse(body, agency: agency).items.map { item in Result { () throws(ValidationError) in try KINFAMapping.program(item) } }
    }
}
