import Foundation
import HanaroCore
import HanaroStore

/// A value that is always present in the JSON: `null` when absent (the OpenAPI document lists
/// these fields as required and nullable; Swift's synthesized `Encodable` would drop the key).
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var value: Value?
    init(_ value: Value?) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

/// JSON with the API's conventions: snake_case keys, ISO 8601 times, sorted keys.
enum APIWire {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}

struct RangeView: Encodable, Sendable {
    var min: Nullable<Int64>
    var max: Nullable<Int64>
    init(_ range: BoundedRange) {
        min = Nullable(range.min)
        max = Nullable(range.max)
    }
}

struct PeriodView: Encodable, Sendable {
    var start: Nullable<String>
    var end: Nullable<String>
    var text: Nullable<String>
    init(_ period: ApplicationPeriod) {
        start = Nullable(period.start?.description)
        end = Nullable(period.end?.description)
        text = Nullable(period.text)
    }
}

extension ProgramStatus {
    var apiName: String {
        switch self {
        case .unknown: "unknown"
        case .upcoming: "upcoming"
        case .open: "open"
        case .closed: "closed"
        }
    }
}

struct ProgramSummaryView: Encodable, Sendable {
    var agency: String
    var id: String
    var title: String
    var summary: String
    var category: Nullable<String>
    var categoryName: Nullable<String>
    var institution: Nullable<String>
    var regions: [String]
    var industries: [String]
    var period: PeriodView
    var status: String
    var url: Nullable<String>
    var supportAmountKrw: RangeView
    /// In search results (null without text); absent from a single program.
    var score: Nullable<Double>?

    init(_ program: ProgramRecord, score: Nullable<Double>?) {
        agency = program.owner.rawValue
        id = program.nativeID
        title = program.title
        summary = program.summary
        category = Nullable(program.category?.rawValue)
        categoryName = Nullable(program.category?.koreanName)
        institution = Nullable(program.institution)
        regions = program.eligibility.regions.map(\.code)
        industries = program.eligibility.industries.map(\.code)
        period = PeriodView(program.period)
        status = program.status(on: LocalDate.inKorea(secondsSince1970: Int64(Date().timeIntervalSince1970))).apiName
        url = Nullable(program.url)
        supportAmountKrw = RangeView(program.supportAmountKRW)
        self.score = score
    }
}

struct ProgramPageView: Encodable, Sendable {
    var items: [ProgramSummaryView]
    var nextCursor: Nullable<String>
}

struct EligibilityView: Encodable, Sendable {
    var regions: [String]
    var industries: [String]
    var businessAgeMonths: RangeView
    var revenueKrw: RangeView
    var employees: RangeView
    var ownerAge: RangeView
    var targets: [String]
}

/// One program: the search result's fields and the rest of the record.
struct ProgramView: Encodable, Sendable {
    var summary: ProgramSummaryView
    var eligibility: EligibilityView
    var rateBasisPoints: RangeView
    var contact: Nullable<String>
    var deleted: Bool
    var version: String

    private enum CodingKeys: String, CodingKey { case eligibility, rateBasisPoints, contact, deleted, version }

    init(_ program: ProgramRecord, version: RecordVersion) {
        summary = ProgramSummaryView(program, score: nil)
        let criteria = program.eligibility
        eligibility = EligibilityView(regions: criteria.regions.map(\.code), industries: criteria.industries.map(\.code),
                                      businessAgeMonths: RangeView(criteria.businessAgeMonths), revenueKrw: RangeView(criteria.revenueKRW),
                                      employees: RangeView(criteria.employees), ownerAge: RangeView(criteria.ownerAge),
                                      targets: criteria.targets.map(\.label))
        rateBasisPoints = RangeView(program.rateBasisPoints)
        contact = Nullable(program.contact)
        deleted = program.isDeleted
        self.version = "\(version.vector)"
    }

    /// The summary's fields and these, in one object.
    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eligibility, forKey: .eligibility)
        try container.encode(rateBasisPoints, forKey: .rateBasisPoints)
        try container.encode(contact, forKey: .contact)
        try container.encode(deleted, forKey: .deleted)
        try container.encode(version, forKey: .version)
    }
}

struct FailedCriterionView: Encodable, Sendable {
    var criterion: String
    var requirement: String
    var actual: String
}

struct EligibilityItemView: Encodable, Sendable {
    var agency: String
    var id: String
    var title: String
    var outcome: String
    var failed: [FailedCriterionView]
    var missing: [String]
}

struct EligibilityCountsView: Encodable, Sendable {
    var eligible: Int
    var ineligible: Int
    var unknown: Int
}

struct EligibilityAnswerView: Encodable, Sendable {
    var rulesVersion: String
    var counts: EligibilityCountsView
    var items: [EligibilityItemView]
    var nextCursor: Nullable<String>
}

struct ConsentView: Codable, Sendable {
    var scope: [String]
    var recipient: String
    var purpose: String
    var retainUntil: String
}

struct ContactView: Codable, Sendable {
    var ownerName: String
    var phone: String
}

struct BusinessView: Encodable, Sendable {
    var tradeName: String
    var businessNumber: String
    var address: Nullable<String>
    var region: Nullable<String>
    var ksic: Nullable<String>
}

struct NeedsView: Codable, Sendable {
    var categories: [String]
    var summary: String
}

struct HistoryView: Encodable, Sendable {
    var from: Nullable<String>
    var to: String
    var by: String
    var at: Date
}

struct NoteView: Encodable, Sendable {
    var by: String
    var text: String
    var at: Date
}

struct ReferralView: Encodable, Sendable {
    var id: String
    var origin: String
    var localId: String
    var target: String
    var direction: String
    var centre: String
    var status: String
    var needsReview: Bool
    var business: BusinessView
    var needs: NeedsView
    var program: Nullable<String>
    var consent: Nullable<ConsentView>
    /// Present (possibly null) only for a `refer` token of an agency that holds the fields.
    var contact: Nullable<ContactView>?
    var history: [HistoryView]
    var notes: [NoteView]
    var version: String
    var updatedSeq: Int64

    init(_ referral: ReferralRecord, version: RecordVersion, seq: Int64, viewer: AgencyID, showContact: Bool) {
        id = "\(referral.origin.rawValue):\(referral.referralID)"
        origin = referral.origin.rawValue
        localId = referral.referralID
        target = referral.target.rawValue
        direction = referral.origin == viewer ? "outgoing" : "incoming"
        centre = referral.originCentre
        status = referral.status.name
        needsReview = referral.outcomeNeedsReview
        let info = referral.business.value
        business = BusinessView(tradeName: info.tradeName, businessNumber: info.businessNumber.description,
                                address: Nullable(info.address.isEmpty ? nil : info.address), region: Nullable(info.region?.code), ksic: Nullable(info.industry?.code))
        let needs = referral.needs.value
        self.needs = NeedsView(categories: needs.categories.map(\.rawValue), summary: needs.summary)
        program = Nullable(referral.program.value.map { "\($0.owner.rawValue)/\($0.localID)" })
        consent = Nullable(referral.consent.value.map {
            ConsentView(scope: $0.scope, recipient: $0.recipient.rawValue, purpose: $0.purpose, retainUntil: $0.retainUntil.description)
        })
        contact = showContact ? Nullable(referral.personal.value.fields.map { ContactView(ownerName: $0.ownerName, phone: $0.phone) }) : nil
        history = referral.history.elements.sorted { $0.dot < $1.dot }.map {
            HistoryView(from: Nullable($0.from?.name), to: $0.to.name, by: $0.dot.agency.rawValue, at: Self.time($0.dot))
        }
        notes = referral.notes.elements.sorted { $0.dot < $1.dot }.map { NoteView(by: $0.dot.agency.rawValue, text: $0.text, at: Self.time($0.dot)) }
        self.version = "\(version.vector)"
        updatedSeq = seq
    }

    /// A dot's counter is a hybrid logical clock reading: its wall-clock part is when the write was made.
    static func time(_ dot: Dot) -> Date {
        Date(timeIntervalSince1970: Double(HLCTimestamp(rawValue: dot.counter).millisecondsSince1970) / 1000)
    }
}

struct ReferralPageView: Encodable, Sendable {
    var items: [ReferralView]
    var nextCursor: Nullable<String>
}

struct DeliveryView: Encodable, Sendable {
    var pending: Int
    var delivered: Int
    var failedAttempts: Int
    var lastStatus: Nullable<Int>
    var lastAttemptAt: Nullable<Date>
}

struct SubscriptionView: Encodable, Sendable {
    var id: String
    var url: String
    var events: [String]
    var keywords: [String]
    var hasProfile: Bool
    var agency: Nullable<String>
    var category: Nullable<String>
    var state: String
    var disabledReason: Nullable<String>
    var createdAt: Date
    var delivery: DeliveryView
    /// Only in the answer that created it.
    var secret: String?

    init(_ subscription: Subscription, secret: String? = nil) {
        id = subscription.id
        url = subscription.url
        events = subscription.filter.events.map(\.rawValue).sorted()
        keywords = subscription.filter.keywords
        hasProfile = subscription.filter.profile != nil
        agency = Nullable(subscription.filter.agency?.rawValue)
        category = Nullable(subscription.filter.category?.rawValue)
        state = subscription.state
        disabledReason = Nullable(subscription.disabledReason)
        createdAt = subscription.createdAt
        delivery = DeliveryView(pending: subscription.pending, delivered: subscription.delivered, failedAttempts: subscription.failedAttempts,
                                lastStatus: Nullable(subscription.lastStatus), lastAttemptAt: Nullable(subscription.lastAttemptAt))
        self.secret = secret
    }
}

struct SubscriptionListView: Encodable, Sendable {
    var items: [SubscriptionView]
}

// MARK: Requests

struct ProfileRequest: Decodable, Sendable {
    var region: String?
    var ksic: String?
    var businessAgeMonths: Int64?
    var employees: Int64?
    var revenueKrw: Int64?
    var ownerAge: Int64?
}

struct EligibilityRequest: Decodable, Sendable {
    var profile: ProfileRequest
    var agency: String?
    var category: String?
    var openOn: String?
    var include: String?
    var limit: Int?
    var cursor: String?
}

struct BusinessRequest: Decodable, Sendable {
    var tradeName: String
    var businessNumber: String
    var address: String?
    var region: String?
    var ksic: String?
}

struct ReferralCreateRequest: Decodable, Sendable {
    var id: String?
    var target: String
    var centre: String
    var business: BusinessRequest
    var needs: NeedsView?
    var program: String?
    var consent: ConsentView?
    var contact: ContactView?
}

struct ReferralUpdateRequest: Decodable, Sendable {
    var status: String?
    var note: String?
}

struct SubscriptionCreateRequest: Decodable, Sendable {
    var url: String
    var secret: String?
    var events: [String]
    var profile: ProfileRequest?
    var keywords: [String]?
    var agency: String?
    var category: String?
}
