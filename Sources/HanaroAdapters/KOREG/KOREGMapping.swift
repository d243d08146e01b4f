public import HanaroCore

/// 기업마당-style announcements of 신용보증재단중앙회 (data.go.kr XML) → canonical programs.
/// Fields: `pblancId`, `pblancNm` (entity-escaped inside XML), `jrsdInsttNm`, `bsnsSumryCn`
/// (HTML), `reqstBeginEndDe` (`2026-09-09 ~ 2026-09-30` or free text, kept), `trgetNm` (comma
/// list), `areaCd` (comma list of region codes, legacy mapped), `pldirSportRealmLclasCodeNm`
/// (지원분야 name), `pblancUrl`, `refrncNm`, `useAt` (Y/N), `updtPnttm`.
public enum KOREGMapping {
    public static func position(_ item: [String: String]) -> AdapterCursor? {
        guard let id = NativeCleaning.present(item["pblancId"]), let stamp = item["updtPnttm"].flatMap(AgencyTimestamp.init(parsing:)) else { return nil }
        return AdapterCursor(updatedAt: stamp, id: id)
    }

    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord {
        var record = ProgramRecord(owner: .koreg, nativeID: try NativeCleaning.required(item["pblancId"], field: "pblancId"),
                                   title: NativeCleaning.decodingEntities(try NativeCleaning.required(item["pblancNm"], field: "pblancNm")))
        record.summary = NativeCleaning.plainText(fromHTML: item["bsnsSumryCn"] ?? "")
        record.institution = NativeCleaning.present(item["jrsdInsttNm"])
        record.category = NativeCleaning.present(item["pldirSportRealmLclasCodeNm"]).flatMap(SupportCategory.init(codeOrName:))
        record.eligibility = Eligibility(
            regions: try NativeCleaning.regions(NativeCleaning.multiValues(item["areaCd"]), field: "areaCd"),
            targets: NativeCleaning.multiValues(item["trgetNm"]).map(TargetType.init(label:)))
        record.period = ApplicationPeriod(parsing: NativeCleaning.present(item["reqstBeginEndDe"]))
        record.url = NativeCleaning.present(item["pblancUrl"])
        record.contact = NativeCleaning.present(item["refrncNm"])
        record.isDeleted = NativeCleaning.flag(item["useAt"]) == false
        try record.validate(as: record.key)
        return record
    }
}
