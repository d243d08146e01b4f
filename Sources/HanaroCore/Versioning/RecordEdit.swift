/// What a new referral starts with, as the origin records it.
public struct ReferralDraft: Hashable, Sendable {
    public var referralID: String
    public var target: AgencyID
    public var originCentre: String
    public var business: BusinessInfo
    public var needs: ReferralNeeds
    public var program: RecordKey?
    public var consent: Consent?
    public var personal: PersonalFields?

    public init(referralID: String, target: AgencyID, originCentre: String, business: BusinessInfo,
                needs: ReferralNeeds = ReferralNeeds(), program: RecordKey? = nil,
                consent: Consent? = nil, personal: PersonalFields? = nil) {
        self.referralID = referralID
        self.target = target
        self.originCentre = originCentre
        self.business = business
        self.needs = needs
        self.program = program
        self.consent = consent
        self.personal = personal
    }
}

extension ReferralDraft {
    /// Whether `referral` is what this draft creates, as first written (the summary redacted as
    /// the create stores it, the consent's recording time aside): a create sent again with the
    /// same id and the same content, which must not make a second referral or change the first.
    public func isCreated(as referral: ReferralRecord) -> Bool {
        func same(_ a: Consent?, _ b: Consent?) -> Bool {
            a?.scope == b?.scope && a?.recipient == b?.recipient && a?.purpose == b?.purpose && a?.retainUntil == b?.retainUntil
        }
        var needs = self.needs
        needs.summary = ContactDetector.redacted(needs.summary)
        let personal: PersonalSlot = self.personal.map(PersonalSlot.fields) ?? .purged
        return referral.referralID == referralID && referral.target == target && referral.originCentre == originCentre
            && referral.business.value == business && referral.needs.value == needs && referral.program.value == program
            && same(referral.consent.value, consent) && referral.personal.value == personal
    }
}

/// A change an agency makes to a record it may write: the only way new writes (new dots) enter
/// the system. Merges never create writes; edits always do.
public enum RecordEdit: Hashable, Sendable {
    /// The owner publishes (creates or replaces) a program.
    case publishProgram(ProgramRecord)
    /// The owner withdraws a program (a tombstone that keeps the last content).
    case deleteProgram
    /// The origin creates a referral (status `sent`).
    case createReferral(ReferralDraft)
    /// Origin or target moves the referral's status.
    case setStatus(ReferralStatus)
    /// Origin or target adds a note.
    case addNote(String)
    /// The origin corrects the business data.
    case updateBusiness(BusinessInfo)
    /// The origin updates the needs.
    case updateNeeds(ReferralNeeds)
    /// The origin records (or withdraws, with nil) the owner's consent.
    case recordConsent(Consent?)
    /// The origin sets the personal fields, or purges them with nil (end of retention).
    case setPersonal(PersonalFields?)
    /// An admin keeps the value written by `dot` on a collided part (`content`, `business`, ...,
    /// `status`): a new write that supersedes every colliding one.
    case resolve(field: String, keep: Dot)
}

extension RecordVersion {
    /// Applies an edit by `agency` to the current state of a record (nil if the node has none),
    /// returning the new version: its vector advances `agency`'s entry to a new counter that is
    /// greater than anything `agency` wrote into this record and not before `clock`. Phone numbers
    /// and e-mail addresses typed into a referral's `needs.summary` or a note are redacted here
    /// (``ContactDetector``): the referral is kept, the contact is not.
    ///
    /// - Throws: ``ValidationError`` — `.unauthorizedAuthor` when `agency` may not make this edit,
    ///   `.invalidTransition` for an impossible status change, `.malformed` for an edit that does
    ///   not fit the record, or any rule of ``validate()`` that the result breaks.
    public static func authoring(
        _ edit: RecordEdit, on current: RecordVersion?, key: RecordKey, by agency: AgencyID, clock: HLCTimestamp
    ) throws(ValidationError) -> RecordVersion {
        let baseVector = current?.vector ?? .zero
        let counter = baseVector.nextCounter(for: agency, clock: clock)
        let dot = Dot(agency, counter)
        var vector = baseVector
        vector[agency] = counter
        do throws(ValidationError) {
            let body = try newBody(edit, current: current, key: key, agency: agency, dot: dot)
            let version = RecordVersion(key: key, vector: vector, body: body)
            try version.validate()
            return version
        } catch {
            throw error.on(record: key.description)
        }
    }

    private static func newBody(_ edit: RecordEdit, current: RecordVersion?, key: RecordKey, agency: AgencyID, dot: Dot) throws(ValidationError) -> RecordBody {
        switch (edit, current?.body) {
        case (.publishProgram(let content), let body):
            guard key.kind == .program, agency == key.owner else { throw unauthorized(agency, "publish", key) }
            if case .program(var register)? = body {
                register.assign(content, dot: dot)
                return .program(register)
            }
            return .program(MVRegister(content, dot: dot))

        case (.deleteProgram, .program(var register)?):
            guard agency == key.owner else { throw unauthorized(agency, "delete", key) }
            var tombstone = current!.program!
            tombstone.isDeleted = true
            register.assign(tombstone, dot: dot)
            return .program(register)

        case (.createReferral(var draft), nil):
            draft.needs.summary = ContactDetector.redacted(draft.needs.summary)
            guard key.kind == .referral, agency == key.owner, draft.referralID == key.localID else {
                throw unauthorized(agency, "create", key)
            }
            return .referral(ReferralRecord(
                origin: agency, referralID: draft.referralID, target: draft.target, originCentre: draft.originCentre,
                business: MVRegister(draft.business, dot: dot), consent: MVRegister(draft.consent, dot: dot),
                needs: MVRegister(draft.needs, dot: dot), program: MVRegister(draft.program, dot: dot),
                personal: MVRegister(draft.personal.map(PersonalSlot.fields) ?? .purged, dot: dot),
                history: DottedSet([StatusEvent(dot: dot, from: nil, to: .sent)]),
                notes: DottedSet(), reviewedOutcome: MVRegister(nil, dot: dot)))

        case (.resolve(let field, let keep), .some(let body)):
            return try resolved(body, field: field, keep: keep, agency: agency, dot: dot, key: key)

        case (_, .referral(var referral)?):
            guard let role = referral.role(of: agency) else { throw unauthorized(agency, "edit", key) }
            switch edit {
            case .setStatus(let status):
                let from = referral.status
                guard status.allowedRoles.contains(role) else {
                    throw ValidationError(.unauthorizedAuthor, field: "status",
                                          "\(agency.rawValue) (\(role == .origin ? "origin" : "target")) may not set status \(status.name)")
                }
                guard status.canFollow(from) else {
                    throw ValidationError(.invalidTransition, field: "status", "status cannot move from \(from.name) to \(status.name)")
                }
                referral.history.insert(StatusEvent(dot: dot, from: from, to: status))
            case .addNote(let text):
                // A phone number or e-mail typed into a note is redacted here, where it is written.
                referral.notes.insert(ReferralNote(dot: dot, text: ContactDetector.redacted(text)))
            case .updateBusiness(let business):
                guard role == .origin else { throw unauthorized(agency, "change the business data of", key) }
                referral.business.assign(business, dot: dot)
            case .updateNeeds(let needs):
                guard role == .origin else { throw unauthorized(agency, "change the needs of", key) }
                var needs = needs
                needs.summary = ContactDetector.redacted(needs.summary)
                referral.needs.assign(needs, dot: dot)
            case .recordConsent(let consent):
                guard role == .origin else { throw unauthorized(agency, "record consent on", key) }
                referral.consent.assign(consent, dot: dot)
            case .setPersonal(let personal):
                guard role == .origin else { throw unauthorized(agency, "change personal fields of", key) }
                referral.personal.assign(personal.map(PersonalSlot.fields) ?? .purged, dot: dot)
            default:
                throw ValidationError(.malformed, field: "edit", "this edit does not apply to a referral")
            }
            return .referral(referral)

        default:
            let state = current == nil ? "a record that does not exist yet" : "a \(key.kind.name)"
            throw ValidationError(.malformed, field: "edit", "this edit does not apply to \(state)")
        }
    }

    private static func resolved(_ body: RecordBody, field: String, keep: Dot, agency: AgencyID, dot: Dot, key: RecordKey) throws(ValidationError) -> RecordBody {
        func pick<V>(_ register: MVRegister<V>) throws(ValidationError) -> MVRegister<V> {
            guard let entry = register.entries.first(where: { $0.dot == keep }) else {
                throw ValidationError(.malformed, field: field, "no write \(keep) collided on \(field); see `hanaro conflicts show`")
            }
            var copy = register
            copy.assign(entry.value, dot: dot)
            return copy
        }
        switch body {
        case .program(let register):
            guard field == "content", agency == key.owner else { throw unauthorized(agency, "resolve", key) }
            return .program(try pick(register))
        case .referral(var referral):
            guard let role = referral.role(of: agency) else { throw unauthorized(agency, "resolve", key) }
            if field == "status" {
                guard let event = referral.history.elements.first(where: { $0.dot == keep && $0.to.isOutcome }) else {
                    throw ValidationError(.malformed, field: field, "no outcome \(keep) in this referral's history")
                }
                referral.reviewedOutcome.assign(event.to, dot: dot)
                return .referral(referral)
            }
            guard role == .origin || field == "reviewedOutcome" else { throw unauthorized(agency, "resolve \(field) of", key) }
            switch field {
            case "business": referral.business = try pick(referral.business)
            case "consent": referral.consent = try pick(referral.consent)
            case "needs": referral.needs = try pick(referral.needs)
            case "program": referral.program = try pick(referral.program)
            case "personal": referral.personal = try pick(referral.personal)
            case "reviewedOutcome": referral.reviewedOutcome = try pick(referral.reviewedOutcome)
            default: throw ValidationError(.malformed, field: field, "a referral has no part named \(field)")
            }
            return .referral(referral)
        }
    }

    private static func unauthorized(_ agency: AgencyID, _ action: String, _ key: RecordKey) -> ValidationError {
        ValidationError(.unauthorizedAuthor, field: "author", "\(agency.rawValue) may not \(action) \(key)")
    }
}
