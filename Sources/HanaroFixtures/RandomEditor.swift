public import HanaroCore

/// Draws random, *allowed* edits for property tests: the owner republishes or deletes its
/// programs; origin and target move a referral's status along legal transitions, add notes, and
/// the origin changes needs and personal fields. Some draws are refused by the domain rules
/// (that is part of what the tests exercise); callers skip those.
public struct RandomEditor: Sendable {
    public var data: SyntheticData
    /// The agencies taking part (at least two): owners, origins and targets are drawn from them.
    public let agencies: [AgencyID]
    /// A small pool of keys so that edits collide often: programs and referrals owned by each
    /// agency in turn; the referral from `agencies[i]` goes to `agencies[i+1]`.
    public let keys: [RecordKey]

    public init(seed: UInt64, agencies: [AgencyID] = AgencyID.allCases, programs: Int = 4, referrals: Int = 6) {
        precondition(agencies.count >= 2, "referrals need two agencies")
        data = SyntheticData(seed: seed)
        self.agencies = agencies
        keys = (0..<programs).map { RecordKey(kind: .program, owner: agencies[$0 % agencies.count], localID: "p\($0)") }
            + (0..<referrals).map { RecordKey(kind: .referral, owner: agencies[$0 % agencies.count], localID: "r\($0)") }
    }

    /// The target of a referral of the pool: the next agency after its origin.
    public func target(of key: RecordKey) -> AgencyID {
        let index = agencies.firstIndex(of: key.owner) ?? 0
        return agencies[(index + 1) % agencies.count]
    }

    /// An edit of `key` that `agency` might make on `current` (nil: the record does not exist
    /// there yet), or nil when `agency` has nothing it may do.
    public mutating func edit(_ key: RecordKey, current: RecordVersion?, by agency: AgencyID) -> RecordEdit? {
        switch key.kind {
        case .program:
            guard agency == key.owner else { return nil }
            if current != nil, data.int(0...9) == 0 { return .deleteProgram }
            return .publishProgram(data.program(owner: key.owner, nativeID: key.localID, revision: data.int(1...1000)))
        case .referral:
            guard let referral = current?.referral else {
                guard agency == key.owner else { return nil }
                var draft = data.referralDraft(origin: key.owner, referralID: key.localID)
                draft.target = target(of: key)
                draft.consent?.recipient = draft.target
                return .createReferral(draft)
            }
            guard let role = referral.role(of: agency) else { return nil }
            switch data.int(0...5) {
            case 0, 1:
                let next = ReferralStatus.allCases.filter { $0.allowedRoles.contains(role) && $0.canFollow(referral.status) }
                guard !next.isEmpty else { return .addNote("상담 메모 \(data.int(1...9999))") }
                return .setStatus(data.pick(next))
            case 2:
                return .addNote("상담 메모 \(data.int(1...9999))")
            case 3:
                guard role == .origin else { return .addNote("상담 메모 \(data.int(1...9999))") }
                return .updateNeeds(ReferralNeeds(categories: [data.pick(SupportCategory.allCases)], summary: "요청 \(data.int(1...9999))"))
            case 4:
                guard role == .origin else { return nil }
                if data.int(0...4) == 0 { return .setPersonal(nil) }
                return .setPersonal(PersonalFields(ownerName: "\(data.pick(SyntheticData.surnames))\(data.pick(SyntheticData.givenNames))",
                                                   phone: "010-\(data.int(1000...9999))-\(data.int(1000...9999))"))
            default:
                guard role == .origin else { return nil }
                var business = referral.business.value
                business.tradeName = data.pick(SyntheticData.trades) + " \(data.int(1...99))호점"
                return .updateBusiness(business)
            }
        }
    }
}
