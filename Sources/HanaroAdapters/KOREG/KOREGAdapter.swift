public import HanaroCore

/// 신용보증재단중앙회's announcements in the 기업마당 shape through data.go.kr (XML): programs at
/// `/1421000/bizinfo/pblancBsnsService` (`adapter.programs_path`), incremental by `updtPnttm`; a
/// referral feed (`adapter.referral_events_path`, ours: `/B552735/kfcgf/getRfrlEventList`) and the
/// intake (`/B552735/kfcgf/rfrlIntake`) use the same envelope.
public struct KOREGAdapter: DataGoKrAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    static let defaultProgramsPath = "/1421000/bizinfo/pblancBsnsService"
    static let defaultReferralEventsPath = "/B552735/kfcgf/getRfrlEventList"
    static let defaultIntakePath = "/B552735/kfcgf/rfrlIntake"
    static let programsHaveStamps = true

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programID(_ item: [String: String]) -> String? { NativeCleaning.present(item["pblancId"]) }
    func programStamp(_ item: [String: String]) -> ListRead.Stamp {
        item["updtPnttm"].flatMap(AgencyTimestamp.init(parsing:)).map { .at($0) } ?? .unreadable
    }
    func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord { try KOREGMapping.program(item) }
}

extension KOREGAdapter: AgencyFormat {
    public static let agency = AgencyID.koreg

    public static func makeAdapter(settings: AdapterSettings, http: AgencyHTTP) -> any AgencyAdapter {
        KOREGAdapter(settings: settings, http: http)
    }

    public static func mapProgramPage(_ body: [UInt8]) throws(AdapterError) -> [Result<ProgramRecord, ValidationError>] {
        try DataGoKrEnvelope.parse(body, agency: agency).items.map { item in Result { () throws(ValidationError) in try KOREGMapping.program(item) } }
    }
}
