public import HanaroCore

/// 서민금융진흥원's loan products through data.go.kr (`getLoanProductSearchingInfo` style XML):
/// programs at `/B553701/LoanProductSearchingInfo/getLoanProductSearchingInfo`, the referral feed
/// at `/B553701/Referral/getRfrlEventList`, the intake at `/B553701/Referral/rfrlIntake`.
public struct KINFAAdapter: DataGoKrAPI {
    public var agency: AgencyID { Self.agency }
    let settings: AdapterSettings
    let http: AgencyHTTP
    let programStream = "/B553701/LoanProductSearchingInfo/getLoanProductSearchingInfo"
    let referralStream = "/B553701/Referral/getRfrlEventList"
    let intakePath = "/B553701/Referral/rfrlIntake"

    public init(settings: AdapterSettings, http: AgencyHTTP) {
        self.settings = settings
        self.http = http
    }

    func programPosition(_ item: [String: String]) -> AdapterCursor? { KINFAMapping.position(item) }
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
