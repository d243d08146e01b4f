public import HanaroCore

/// 기업마당-style announcements of 신용보증재단중앙회 (data.go.kr XML) → canonical programs.
/// Fields: `pblancId`, `pblancNm` (entity-escaped inside XML, sometimes twice), `jrsdInsttNm` and
/// `excInsttNm` (the institutions), `bsnsSumryCn` (HTML), `reqstBeginEndDe`
/// (`2026-09-09 ~ 2026-09-30`, `20261201 ~ 20261231`, or free text such as `예산 소진시까지`, kept),
/// `trgetNm` (comma list), `pldirSportRealmLclasCodeNm` (지원분야 name, `@`-joined when several: the
/// first), `pblancUrl`, `refrncNm`, `updtPnttm` (the incremental stamp). The real API names regions
/// only in words — a title's leading `[강원]`, a 시도 as the institution in charge — and an
/// `areaCd` list of codes where an agency adds one; all are read, legacy codes mapped.
public enum KOREGMapping {
    /// - Throws: ``ValidationError`` naming the native field that cannot be mapped.
    public static func program(_ item: [String: String]) throws(ValidationError) -> ProgramRecord {
        let title = NativeCleaning.decodingEntities(try NativeCleaning.required(item["pblancNm"], field: "pblancNm"))
        var record = ProgramRecord(owner: .koreg, nativeID: try NativeCleaning.required(item["pblancId"], field: "pblancId"), title: title)
        record.summary = NativeCleaning.plainText(fromHTML: item["bsnsSumryCn"] ?? "")
        record.institution = NativeCleaning.present(item["jrsdInsttNm"])
        record.category = NativeCleaning.multiValues(item["pldirSportRealmLclasCodeNm"]).first.flatMap(SupportCategory.init(codeOrName:))
        var regions = try NativeCleaning.regions(NativeCleaning.multiValues(item["areaCd"]), field: "areaCd")
        regions += NativeCleaning.regions(inTitle: title)
        if let institution = record.institution { regions += RegionCode.named(institution) }
        record.eligibility = Eligibility(regions: regions, targets: NativeCleaning.multiValues(item["trgetNm"]).map(TargetType.init(label:)))
        record.period = ApplicationPeriod(parsing: NativeCleaning.present(item["reqstBeginEndDe"]))
        record.url = NativeCleaning.present(item["pblancUrl"])
        record.contact = NativeCleaning.present(item["refrncNm"])
        record.isDeleted = NativeCleaning.flag(item["useAt"]) == false
        try record.validate(as: record.key)
        return record
    }
}
