public import HanaroCore

/// 서민금융진흥원 loan products (`getLoanProductSearchingInfo`-style, data.go.kr XML) → canonical
/// programs. Fields: `seq`, `finprdnm`, `trgt` (comma list), `age` (`만 19세 이상 ~ 만 39세 이하`),
/// `suprtgtdtlcond` (conditions, entity-escaped), `lnlmt` (loan limit, KRW), `irt` (`연 4.5% ~
/// 6.0%`), `ofrinstnm`, `rltSite`, `cnpl`, `useAt`, `updtPnttm`. Every product is 금융.
public enum KINFAMapping {
    public static func position(_ item: [String: String]) -> AdapterCursor? {
        guard let id = NativeCleaning.present(item["seq"]), let stamp = item["updtPnttm"].flatMap(AgencyTimestamp.init(parsing:)) else { return nil }
        return AdapterCursor(updatedAt: stamp, id: id)
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .kinfa, nativeID: try NativeCleaning.required(item["seq"], field: "seq"),
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(item["finprdnm"], field: "finprdnm")))
        record.summary = NativeCleaning.lines(NativeCleaning.decodingEntities(item["suprtgtdtlcond"] ?? ""))
        record.institution = NativeCleaning.present(item["ofrinstnm"])
        record.category = .finance
        record.eligibility = Eligibility(ownerAge: try NativeCleaning.ageRange(item["age"], field: "age"),
                                         targets: NativeCleaning.multiValues(item["trgt"]).map(TargetType.init(label:)))
        record.supportAmountKRW = BoundedRange(max: try NativeCleaning.amount(item["lnlmt"], field: "lnlmt"))
        record.rateBasisPoints = try NativeCleaning.rateRange(item["irt"], field: "irt")
        record.url = NativeCleaning.present(item["rltSite"])
        record.contact = NativeCleaning.present(item["cnpl"])
        record.isDeleted = NativeCleaning.flag(item["useAt"]) == false
        try record.validate(as: record.key)
        return record
    }
}
