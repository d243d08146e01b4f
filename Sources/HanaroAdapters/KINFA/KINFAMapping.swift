public import HanaroCore

/// 서민금융진흥원 loan products (`getLoanProductSearchingInfo`, data.go.kr XML) → canonical
/// programs; every product is 금융. Fields: `seq` (id), `finprdnm` (title, entity-escaped), `trgt`
/// (comma list of target types), `age` (`만 19세 이상 ~ 만 39세 이하`, `없음`), `suprtgtdtlcond`
/// (conditions), `lnlmt` (loan limit in 만원, as 서민금융진흥원 publishes it: `2000` is 20,000,000
/// KRW; a figure that names its unit, `3000만원`, is taken as written), `irt` (rate, free text:
/// `~11.5`, `1.5~2.5`, `4.5`, `연 4.5% ~ 6.0%`), `prdoprprid` (the period the product runs,
/// `상시` or a range), `rsdAreaPamtEqltIstm` and `rsdarea` (the regions of residence, as names: `서울, 경기`, `전국`), `ofrinstnm` (the provider, sometimes a
/// region's office: `강원도 원주시`), `rltsite` (also `rltSite`), `cnpl`, `useAt`. No update stamp.
public enum KINFAMapping {
    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .kinfa, nativeID: try NativeCleaning.required(item["seq"], field: "seq"),
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(item["finprdnm"], field: "finprdnm")))
        record.summary = NativeCleaning.lines(NativeCleaning.decodingEntities(item["suprtgtdtlcond"] ?? ""))
        record.institution = NativeCleaning.present(item["ofrinstnm"])
        record.category = .finance
        var regions = NativeCleaning.regions(namesOrCodesLeniently: NativeCleaning.multiValues(item["rsdAreaPamtEqltIstm"]) + NativeCleaning.multiValues(item["rsdarea"]))
        if let provider = record.institution { regions += RegionCode.named(provider) }
        record.eligibility = Eligibility(regions: regions, ownerAge: try NativeCleaning.ageRange(item["age"], field: "age"),
                                         targets: NativeCleaning.multiValues(item["trgt"]).map(TargetType.init(label:)))
        record.period = ApplicationPeriod(parsing: NativeCleaning.present(item["prdoprprid"]))
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(item["lnlmt"], field: "lnlmt", unit: 10_000))
        record.rateBasisPoints = try NativeCleaning.rateRange(item["irt"], field: "irt")
        record.url = NativeCleaning.present(item["rltsite"]) ?? NativeCleaning.present(item["rltSite"])
        record.contact = NativeCleaning.present(item["cnpl"])
        record.isDeleted = NativeCleaning.flag(item["useAt"]) == false
        try record.validate(as: record.key)
        return record
    }
}
