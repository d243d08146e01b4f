/// What an agency's systems know about a business when they ask which programs fit it. Every fact
/// may be missing: an answer then says which facts it needed.
public struct BusinessProfile: Hashable, Sendable {
    public var region: RegionCode?
    public var industry: KSICCode?
    /// Months since the business opened.
    public var businessAgeMonths: Int64?
    public var employees: Int64?
    public var revenueKRW: Int64?
    /// The owner's age in years.
    public var ownerAge: Int64?

    public init(region: RegionCode? = nil, industry: KSICCode? = nil, businessAgeMonths: Int64? = nil,
                employees: Int64? = nil, revenueKRW: Int64? = nil, ownerAge: Int64? = nil) {
        self.region = region
        self.industry = industry
        self.businessAgeMonths = businessAgeMonths
        self.employees = employees
        self.revenueKRW = revenueKRW
        self.ownerAge = ownerAge
    }
}

/// The facts an eligibility rule reads, named as the Agency API names them.
public enum EligibilityFact: String, Sendable, Hashable, CaseIterable, Codable {
    case region
    case ksic
    case businessAgeMonths = "business_age_months"
    case employees
    case revenueKRW = "revenue_krw"
    case ownerAge = "owner_age"
}

/// One criterion a business failed: what the program requires and what the profile says.
public struct FailedCriterion: Hashable, Sendable {
    public var criterion: EligibilityFact
    public var requirement: String
    public var actual: String
}

/// The answer for one program.
public enum EligibilityOutcome: Hashable, Sendable {
    /// Every criterion the program states is met.
    case eligible
    /// At least one stated criterion fails (all failing ones are listed).
    case ineligible([FailedCriterion])
    /// No criterion fails, but some need facts the profile lacks.
    case unknown(missing: [EligibilityFact])

    public var name: String {
        switch self {
        case .eligible: "eligible"
        case .ineligible: "ineligible"
        case .unknown: "unknown"
        }
    }
}

extension Eligibility {
    /// The rules ``check(_:)`` applies. Bumped whenever a rule changes, so that an answer can be
    /// traced to the rules that produced it.
    public static let rulesVersion = "2026-12-01.1"

    /// Checks a profile against these criteria. A criterion with no restriction (an empty list, an
    /// unbounded range) needs no fact. Region: a program for a 시도 admits every 시군구 in it, and a
    /// program for a 시군구 needs a 시군구 profile (a 시도 alone is a missing fact only if the 시도 matches).
    /// Industry: a program's KSIC code admits every code below it. Target types (소상공인, 여성기업, ...)
    /// are not in the profile and are not judged here.
    public func check(_ profile: BusinessProfile) -> EligibilityOutcome {
        var failed: [FailedCriterion] = []
        var missing: [EligibilityFact] = []

        if !regions.isEmpty {
            if let region = profile.region {
                let admitted = regions.contains { allowed in
                    region.code.hasPrefix(allowed.code) || (allowed.code.count > region.code.count && allowed.code.hasPrefix(region.code))
                }
                let precise = regions.contains { region.code.hasPrefix($0.code) }
                if !admitted {
                    failed.append(FailedCriterion(criterion: .region, requirement: "located in \(regions.map(\.code).joined(separator: " or "))", actual: region.code))
                } else if !precise {
                    // The profile names the 시도; the program wants a 시군구 in it.
                    missing.append(.region)
                }
            } else {
                missing.append(.region)
            }
        }
        if !industries.isEmpty {
            if let industry = profile.industry {
                if !industries.contains(where: { industry.code.hasPrefix($0.code) }) {
                    if industries.contains(where: { $0.code.hasPrefix(industry.code) }) {
                        missing.append(.ksic)
                    } else {
                        failed.append(FailedCriterion(criterion: .ksic, requirement: "KSIC \(industries.map(\.code).joined(separator: " or "))", actual: industry.code))
                    }
                }
            } else {
                missing.append(.ksic)
            }
        }
        let ranges: [(EligibilityFact, BoundedRange, Int64?)] = [
            (.businessAgeMonths, businessAgeMonths, profile.businessAgeMonths),
            (.employees, employees, profile.employees),
            (.revenueKRW, revenueKRW, profile.revenueKRW),
            (.ownerAge, ownerAge, profile.ownerAge),
        ]
        for (fact, range, value) in ranges where !range.isUnbounded {
            guard let value else {
                missing.append(fact)
                continue
            }
            if !range.contains(value) {
                failed.append(FailedCriterion(criterion: fact, requirement: range.requirementText, actual: String(value)))
            }
        }
        if !failed.isEmpty { return .ineligible(failed) }
        if !missing.isEmpty { return .unknown(missing: missing) }
        return .eligible
    }
}

extension Eligibility {
    /// The class of ``check(_:)``'s answer without its details: the packed rules of
    /// ``EligibilityTable`` for this one program (a property test holds them to ``check(_:)``).
    public func quickCheck(_ profile: BusinessProfile) -> EligibilityClass {
        EligibilityTable([self]).classify(0, PackedProfile(profile))
    }
}

/// The three answers, without details.
public enum EligibilityClass: Sendable, Hashable {
    case eligible, unknown, ineligible
}

extension BoundedRange {
    /// `between 3 and 7`, `at least 3`, `at most 7`.
    public var requirementText: String {
        switch (min, max) {
        case let (min?, max?): "between \(min) and \(max)"
        case let (min?, nil): "at least \(min)"
        case let (nil, max?): "at most \(max)"
        case (nil, nil): "any"
        }
    }
}
