import Foundation
import HanaroCore
import HanaroStore
import Hummingbird

extension AgencyAPI {
    /// `GET /v1/programs`.
    func searchPrograms(_ request: Request) async throws -> Response {
        let parameters = try FormQuery(request)
        var query = ProgramQuery()
        query.text = parameters.get("q")
        if let region = parameters.get("region") { query.region = try Self.region(region, field: "region") }
        if let ksic = parameters.get("ksic") { query.industry = try Self.industry(ksic, field: "ksic").code }
        if let category = parameters.get("category") { query.category = try Self.category(category, field: "category") }
        if let agency = parameters.get("agency") { query.agency = try Self.agency(agency, field: "agency") }
        if let day = parameters.get("open_on") { query.openOn = try Self.date(day, field: "open_on") }
        query.limit = try Self.limit(parameters.get("limit"), default: 20, max: 100)
        query.cursor = parameters.get("cursor")
        let page = try await replica.searchPrograms(query)
        let view = ProgramPageView(items: page.items.map { ProgramSummaryView($0.program, score: Nullable($0.score)) }, nextCursor: Nullable(page.nextCursor))
        return Self.json(200, bytes: view.jsonBytes)
    }

    /// `GET /v1/programs/{agency}/{id}`.
    func program(agency text: String, id: String) async throws -> Response {
        let agency = try Self.agency(text, field: "agency")
        let key = RecordKey(kind: .program, owner: agency, localID: id)
        guard !id.isEmpty, let version = try await replica.record(key), let program = version.program else {
            throw Problem.notFound("no program \(id) of \(agency.rawValue) in this replica")
        }
        return Self.json(200, ProgramView(program, version: version))
    }

    /// `POST /v1/eligibility`: every indexed program checked against the profile; the answer lists
    /// eligible ones first, then unknown, then ineligible (as `include` asks), each group by key.
    func eligibility(_ body: EligibilityRequest) async throws -> Response {
        let profile = try Self.profile(body.profile)
        let agency = try body.agency.map { try Self.agency($0, field: "agency") }
        let category = try body.category.map { try Self.category($0, field: "category") }
        let openOn = try body.openOn.map { try Self.date($0, field: "open_on") }
        let include = body.include ?? "possible"
        guard ["all", "eligible", "possible"].contains(include) else {
            throw Problem.badRequest("include must be all, eligible or possible (eligible and unknown)", field: "include")
        }
        let limit = body.limit ?? 100
        guard (1...500).contains(limit) else {
            throw Problem.badRequest("limit must be between 1 and 500", field: "limit")
        }
        var offset = 0
        if let cursor = body.cursor {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("e:"), let value = Int(text.dropFirst(2)), value >= 0 else {
                throw Problem.badRequest("cursor is not one this API issued; start again without it", field: "cursor")
            }
            offset = value
        }
        // Every program's class first (one pass over packed rows), the details only for the page.
        let scan = try await replica.classifyPrograms(for: profile, agency: agency, category: category, openOn: openOn)
        let (eligible, unknown, ineligible) = (scan.eligible, scan.unknown, scan.ineligible)
        let listed: [Int] = switch include {
        case "eligible": eligible
        case "all": eligible + unknown + ineligible
        default: eligible + unknown
        }
        let page = listed.dropFirst(offset).prefix(limit).map { index in
            let program = scan.programs[index]
            var item = EligibilityItemView(agency: program.key.owner.rawValue, id: program.key.localID, title: program.title, outcome: "", failed: [], missing: [])
            let outcome = program.eligibility.check(profile)
            item.outcome = outcome.name
            switch outcome {
            case .eligible: break
            case .unknown(let missing): item.missing = missing.map(\.rawValue)
            case .ineligible(let failed):
                item.failed = failed.map { FailedCriterionView(criterion: $0.criterion.rawValue, requirement: $0.requirement, actual: $0.actual) }
            }
            return item
        }
        let next = offset + page.count < listed.count ? Data("e:\(offset + page.count)".utf8).base64EncodedString() : nil
        return Self.json(200, EligibilityAnswerView(
            rulesVersion: Eligibility.rulesVersion,
            counts: EligibilityCountsView(eligible: eligible.count, ineligible: ineligible.count, unknown: unknown.count),
            items: page, nextCursor: Nullable(next)))
    }

    // MARK: Parameters: each bad one is a problem naming it.

    static func profile(_ request: ProfileRequest) throws -> BusinessProfile {
        var profile = BusinessProfile()
        var errors: [Problem.FieldError] = []
        if let region = request.region {
            do { profile.region = try RegionCode(region) } catch { errors.append(.init(field: "profile.region", reason: error.message)) }
        }
        if let ksic = request.ksic {
            do { profile.industry = try KSICCode(ksic) } catch { errors.append(.init(field: "profile.ksic", reason: error.message)) }
        }
        for (field, value) in [("business_age_months", request.businessAgeMonths), ("employees", request.employees),
                               ("revenue_krw", request.revenueKrw), ("owner_age", request.ownerAge)] {
            if let value, value < 0 { errors.append(.init(field: "profile.\(field)", reason: "must be zero or more, not \(value)")) }
        }
        guard errors.isEmpty else {
            throw Problem(422, "invalid-profile", "The business profile has invalid values", errors.map { "\($0.field): \($0.reason)" }.joined(separator: "; "), errors: errors)
        }
        profile.businessAgeMonths = request.businessAgeMonths
        profile.employees = request.employees
        profile.revenueKRW = request.revenueKrw
        profile.ownerAge = request.ownerAge
        return profile
    }

    static func region(_ text: String, field: String) throws -> RegionCode {
        do { return try RegionCode(text) } catch { throw Problem.badRequest(error.message, field: field) }
    }

    static func industry(_ text: String, field: String) throws -> KSICCode {
        do { return try KSICCode(text) } catch { throw Problem.badRequest(error.message, field: field) }
    }

    static func category(_ text: String, field: String) throws -> SupportCategory {
        guard let category = SupportCategory(codeOrName: text) else {
            throw Problem.badRequest("category \"\(text.prefix(40))\" is no 지원분야; use a code (\(SupportCategory.allCases.map(\.rawValue).joined(separator: ", "))) or its name (\(SupportCategory.allCases.map(\.koreanName).joined(separator: ", ")))", field: field)
        }
        return category
    }

    static func agency(_ text: String, field: String) throws -> AgencyID {
        guard let agency = AgencyID(rawValue: text) else {
            throw Problem.badRequest("\(field) \"\(text.prefix(40))\" is no agency; one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))", field: field)
        }
        return agency
    }

    static func date(_ text: String, field: String) throws -> LocalDate {
        guard let day = LocalDate(parsing: text) else { throw Problem.badRequest("\(field) must be a date YYYY-MM-DD", field: field) }
        return day
    }

    static func limit(_ text: String?, default fallback: Int, max: Int) throws -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...max).contains(value) else { throw Problem.badRequest("limit must be a whole number from 1 to \(max)", field: "limit") }
        return value
    }
}
