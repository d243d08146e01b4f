public import HanaroCore
import Foundation

/// A program as an agency's own back-end holds it: the structured truth from which the simulator
/// renders that agency's native format (with its dirt) and states the canonical record an adapter
/// must map it to. The two are written independently of the adapters, so the conformance suite
/// compares an adapter's mapping with what the simulator meant.
public struct SimulatedProgram: Sendable, Hashable {
    public var id: String
    public var title: String
    /// Plain text, lines separated by `\n`; may contain `&`, `<`, `>` (escaped by the formats).
    public var summary: String
    public var institution: String
    public var category: SupportCategory
    /// As published: 2- or 5-digit codes, some with the legacy 42/45 prefixes.
    public var regions: [String]
    public var industries: [String]
    public var periodStart: LocalDate?
    public var periodEnd: LocalDate?
    /// Free text (`예산 소진시까지`, `상시신청`) when there are no dates.
    public var periodText: String?
    public var businessAgeYears: (min: Int?, max: Int?)
    public var employees: (min: Int?, max: Int?)
    public var revenueKRW: (min: Int64?, max: Int64?)
    public var ownerAge: (min: Int?, max: Int?)
    public var amountMaxKRW: Int64?
    public var rateBasisPoints: (min: Int64?, max: Int64?)
    public var targets: [String]
    public var url: String
    public var contact: String
    public var isOpen: Bool
    public var isDeleted: Bool
    /// Rendered with a field that cannot be mapped (fault injection).
    public var isMalformed: Bool
    public var createdAt: AgencyTimestamp
    public var updatedAt: AgencyTimestamp

    /// Its position in the agency's change stream.
    public var position: AdapterCursor { AdapterCursor(updatedAt: updatedAt, id: id) }

    public static func == (a: SimulatedProgram, b: SimulatedProgram) -> Bool {
        a.id == b.id && a.updatedAt == b.updatedAt && a.title == b.title && a.isDeleted == b.isDeleted && a.isMalformed == b.isMalformed
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(updatedAt)
    }

    /// The canonical record the agency's adapter must produce: only what that agency's native
    /// format carries, cleaned (entities decoded, legacy regions mapped, multi-values split).
    /// Nil for a malformed record (it must be quarantined instead).
    public func expected(for agency: AgencyID) -> ProgramRecord? {
        guard !isMalformed else { return nil }
        var record = ProgramRecord(owner: agency, nativeID: id, title: title, isDeleted: isDeleted)
        let regionCodes = regions.compactMap { try? RegionCode($0) }
        let industryCodes = industries.compactMap { try? KSICCode($0) }
        let dated = ApplicationPeriod(start: periodStart, end: periodEnd, text: periodStart == nil && periodEnd == nil ? periodText : nil)
        func range(_ r: (min: Int?, max: Int?), scale: Int64 = 1) -> BoundedRange {
            BoundedRange(min: r.min.map { Int64($0) * scale }, max: r.max.map { Int64($0) * scale })
        }
        switch agency {
        case .semas:
            record.institution = institution
            record.category = category
            record.eligibility = Eligibility(regions: regionCodes, industries: industryCodes,
                                             businessAgeMonths: range(businessAgeYears, scale: 12),
                                             revenueKRW: BoundedRange(min: revenueKRW.min, max: revenueKRW.max),
                                             employees: range(employees))
            record.period = ApplicationPeriod(start: periodStart, end: periodEnd)
            record.status = isOpen ? .open : .closed
            record.url = url
        case .koreg:
            record.summary = summary
            record.institution = institution
            record.category = category
            record.eligibility = Eligibility(regions: regionCodes, targets: targets.map(TargetType.init(label:)))
            record.period = dated
            record.url = url
            record.contact = contact
        case .kodit:
            record.summary = summary
            record.institution = institution
            record.category = category
            record.eligibility = Eligibility(regions: regionCodes, industries: industryCodes, targets: targets.map(TargetType.init(label:)))
            record.period = dated
            record.supportAmountKRW = BoundedRange(max: amountMaxKRW)
            record.url = url
            record.contact = contact
        case .kamco:
            record.summary = summary
            record.institution = institution
            record.eligibility = Eligibility(regions: regionCodes, industries: industryCodes, targets: targets.map(TargetType.init(label:)))
            record.period = dated
            record.supportAmountKRW = BoundedRange(max: amountMaxKRW)
            record.rateBasisPoints = BoundedRange(min: rateBasisPoints.min, max: rateBasisPoints.max)
            record.contact = contact
        case .kinfa:
            record.summary = summary.replacingOccurrences(of: "\n", with: " ")
            record.institution = institution
            record.category = .finance
            record.eligibility = Eligibility(ownerAge: range(ownerAge), targets: targets.map(TargetType.init(label:)))
            record.supportAmountKRW = BoundedRange(max: amountMaxKRW)
            record.rateBasisPoints = BoundedRange(min: rateBasisPoints.min, max: rateBasisPoints.max)
            record.url = url
            record.contact = contact
        case .ewpc:
            record.institution = institution
            record.category = .workforce
            record.eligibility = Eligibility(regions: regionCodes)
            record.period = ApplicationPeriod(start: periodStart, end: periodEnd)
            record.supportAmountKRW = BoundedRange(max: amountMaxKRW)
            record.url = url
            record.contact = contact
        }
        return record
    }
}
