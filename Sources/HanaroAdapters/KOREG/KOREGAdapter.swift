public import HanaroCore

/// 신용보증재단중앙회's announcements through data.go.kr (기업마당 style XML): programs at
/// `/B552735/kfcgf/getPblancList`, the referral feed at `/B552735/kfcgf/getRfrlEventList`, the
/// intake at `/B552735/kfcgf/rfrlIntake`.
public struct KOREGAdapter: DataGoKrAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    let programStream = "/B552735/kfcgf/getPblancList"
    let referralStream = "/B552735/kfcgf/getRfrlEventList"
    let intakePath = "/B552735/kfcgf/rfrlIntake"

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programPosition(_ item: [String: String]) -> AdapterCursor? { KOREGMapping.position(item) }
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
