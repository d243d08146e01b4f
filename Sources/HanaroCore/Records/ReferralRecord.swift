/// A referral: a business owner sent from one agency (the origin) to another (the target), as
/// replicated between them.
///
/// The identity — origin, local id, target, originating centre — is fixed at creation. Every
/// other part is a replicated field with its own merge rule (see docs/CONFLICTS.md):
/// - ``business``, ``consent``, ``needs``, ``program``, ``personal``: written by the origin only;
///   multi-value registers, last writer wins on collision (flagged as a conflict).
/// - ``history``: the status events, a grow-only set; ``status`` is the lattice maximum, and two
///   different outcomes in one history are a terminal-state collision (flagged for review).
/// - ``notes``: append-only, written by origin or target, merged as a set.
/// - ``reviewedOutcome``: an admin's decision on a terminal-state collision.
public struct ReferralRecord: Hashable, Sendable {
    public var origin: AgencyID
    /// The origin's id for the referral.
    public var referralID: String
    public var target: AgencyID
    /// The originating centre (e.g. one of semas's 77 소상공인지원센터).
    public var originCentre: String

    public var business: MVRegister<BusinessInfo>
    public var consent: MVRegister<Consent?>
    public var needs: MVRegister<ReferralNeeds>
    public var program: MVRegister<RecordKey?>
    /// Personal data: encrypted at rest by the store, withheld from nodes not entitled to it,
    /// purged at the end of retention.
    public var personal: MVRegister<PersonalSlot>
    public var history: DottedSet<StatusEvent>
    public var notes: DottedSet<ReferralNote>
    public var reviewedOutcome: MVRegister<ReferralStatus?>

    public init(
        origin: AgencyID, referralID: String, target: AgencyID, originCentre: String,
        business: MVRegister<BusinessInfo>, consent: MVRegister<Consent?>, needs: MVRegister<ReferralNeeds>,
        program: MVRegister<RecordKey?>, personal: MVRegister<PersonalSlot>,
        history: DottedSet<StatusEvent>, notes: DottedSet<ReferralNote>, reviewedOutcome: MVRegister<ReferralStatus?>
    ) {
        self.origin = origin
        self.referralID = referralID
        self.target = target
        self.originCentre = originCentre
        self.business = business
        self.consent = consent
        self.needs = needs
        self.program = program
        self.personal = personal
        self.history = history
        self.notes = notes
        self.reviewedOutcome = reviewedOutcome
    }

    /// The record key: owned by the origin.
    public var key: RecordKey { RecordKey(kind: .referral, owner: origin, localID: referralID) }

    /// The outcomes recorded in the history, when more than one: a terminal-state collision.
    public var collidingOutcomes: [ReferralStatus] {
        let outcomes = Set(history.elements.map(\.to).filter(\.isOutcome))
        return outcomes.count > 1 ? outcomes.sorted() : []
    }

    /// The current status: the greatest status in the history, unless an admin reviewed a
    /// terminal-state collision and kept another outcome (and nothing later closed it).
    public var status: ReferralStatus {
        let greatest = history.elements.map(\.to).max() ?? .sent
        if greatest != .closed, !outcomeNeedsReview, let kept = reviewedOutcome.value, collidingOutcomes.contains(kept) {
            return kept
        }
        return greatest
    }

    /// Whether a terminal-state collision waits for an admin's review.
    public var outcomeNeedsReview: Bool {
        let colliding = collidingOutcomes
        guard !colliding.isEmpty else { return false }
        guard let kept = reviewedOutcome.value, colliding.contains(kept) else { return true }
        // A review covers the collision only if it came after every colliding outcome.
        let lastOutcome = history.elements.filter { $0.to.isOutcome }.map(\.dot).max()!
        return reviewedOutcome.dot < lastOutcome
    }

    /// The role an agency plays in this referral, or nil if it is neither origin nor target.
    public func role(of agency: AgencyID) -> ReferralStatus.Role? {
        if agency == origin { return .origin }
        if agency == target { return .target }
        return nil
    }

    /// Merges another state of the same referral.
    /// - Throws: `.inconsistentVersion` when the fixed identity differs.
    public func merged(context: VersionVector, with other: ReferralRecord, otherContext: VersionVector) throws(ValidationError) -> ReferralRecord {
        guard origin == other.origin, referralID == other.referralID, target == other.target, originCentre == other.originCentre else {
            throw ValidationError(.inconsistentVersion, record: key.description, field: "target",
                                  "two versions of one referral disagree on its fixed identity (origin, target or centre)")
        }
        var result = self
        result.business = business.merged(context: context, with: other.business, otherContext: otherContext)
        result.consent = consent.merged(context: context, with: other.consent, otherContext: otherContext)
        result.needs = needs.merged(context: context, with: other.needs, otherContext: otherContext)
        result.program = program.merged(context: context, with: other.program, otherContext: otherContext)
        result.personal = personal.merged(context: context, with: other.personal, otherContext: otherContext)
        result.history = history.union(other.history)
        result.notes = notes.union(other.notes)
        result.reviewedOutcome = reviewedOutcome.merged(context: context, with: other.reviewedOutcome, otherContext: otherContext)
        return result
    }

    /// Whether `agency` may hold the personal fields: the origin, and the target once the owner's
    /// consent names it.
    public func mayHoldPersonalFields(_ agency: AgencyID) -> Bool {
        agency == origin || (agency == target && consent.value?.recipient == target)
    }

    /// This state as a node that may not hold the personal fields sees it.
    public var withholdingPersonalFields: ReferralRecord {
        var copy = self
        copy.personal = personal.mapValues(\.withholdingFields)
        return copy
    }

    /// Every dot this state holds, for the consistency check against its vector.
    var allDots: [Dot] {
        business.entries.map(\.dot) + consent.entries.map(\.dot) + needs.entries.map(\.dot)
            + program.entries.map(\.dot) + personal.entries.map(\.dot)
            + history.elements.map(\.dot) + notes.elements.map(\.dot) + reviewedOutcome.entries.map(\.dot)
    }
}

extension ReferralRecord {
    /// Field order: origin, referralID, target, originCentre, business, consent, needs, program,
    /// history, notes, reviewedOutcome. The personal register is written separately
    /// (``encodePersonal(to:)``) so that the store can encrypt it on its own.
    public func encodeBody(to writer: inout CanonicalWriter) {
        writer.write(origin)
        writer.write(referralID)
        writer.write(target)
        writer.write(originCentre)
        writer.write(business)
        writer.write(consent)
        writer.write(needs)
        writer.write(program)
        writer.write(history)
        writer.write(notes)
        writer.write(reviewedOutcome)
    }

    /// The personal register alone.
    public func encodePersonal(to writer: inout CanonicalWriter) {
        writer.write(personal)
    }

    /// Reads a body written by ``encodeBody(to:)``; the personal register follows separately
    /// (``readPersonal(from:)``), wherever the caller keeps it.
    /// - Throws: `.malformed`.
    public init(bodyFrom body: inout CanonicalReader) throws(ValidationError) {
        origin = try body.read()
        referralID = try body.readString()
        target = try body.read()
        originCentre = try body.readString()
        business = try body.read()
        consent = try body.read()
        needs = try body.read()
        program = try body.read()
        history = try body.read()
        notes = try body.read()
        reviewedOutcome = try body.read()
        // Placeholder until readPersonal(from:) runs: a purged register at the zero dot.
        personal = MVRegister(.purged, dot: Dot(origin, 0))
    }

    /// Reads the personal register written by ``encodePersonal(to:)``.
    public mutating func readPersonal(from reader: inout CanonicalReader) throws(ValidationError) {
        personal = try reader.read()
    }
}

extension ReferralStatus: CanonicalEncodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }
    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let byte = try reader.readByte()
        guard let status = ReferralStatus(rawValue: byte) else {
            throw ValidationError(.malformed, field: "status", "unknown referral status \(byte)")
        }
        self = status
    }
}
