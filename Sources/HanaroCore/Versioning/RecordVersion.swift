/// The replicated state of one record, as a node holds it and as nodes exchange it.
public enum RecordBody: Hashable, Sendable {
    /// A program: one register of contents, all written by the owner (a tombstone is a content
    /// with ``ProgramRecord/isDeleted``).
    case program(MVRegister<ProgramRecord>)
    case referral(ReferralRecord)

    public var kind: RecordKind {
        switch self {
        case .program: .program
        case .referral: .referral
        }
    }
}

/// One version of one record: its key, its version vector and its state.
///
/// Versions form a join-semilattice under ``merged(with:)``: merging is commutative, associative
/// and idempotent, so replicas that have received the same versions — in any order, grouping or
/// number of times — hold the same state. The version vector *detects* how two versions relate;
/// the per-field registers and sets *resolve* concurrent ones.
public struct RecordVersion: Hashable, Sendable {
    public var key: RecordKey
    public var vector: VersionVector
    public var body: RecordBody

    public init(key: RecordKey, vector: VersionVector, body: RecordBody) {
        self.key = key
        self.vector = vector
        self.body = body
    }

    /// How this version relates to another of the same record.
    public func relation(to other: RecordVersion) -> CausalRelation { vector.relation(to: other.vector) }

    /// The visible program content (a delete wins over a concurrent edit until reviewed), or nil
    /// for a referral.
    public var program: ProgramRecord? {
        guard case .program(let register) = body else { return nil }
        if register.isConflicted, let tombstone = register.entries.last(where: { $0.value.isDeleted }) {
            return tombstone.value
        }
        return register.value
    }

    /// The referral state, or nil for a program.
    public var referral: ReferralRecord? {
        guard case .referral(let referral) = body else { return nil }
        return referral
    }

    /// Whether the visible state is a tombstone.
    public var isDeleted: Bool { program?.isDeleted ?? false }

    /// The state that includes both versions.
    /// - Throws: `.inconsistentVersion` when the two are not versions of one record.
    public func merged(with other: RecordVersion) throws(ValidationError) -> RecordVersion {
        guard key == other.key else {
            throw ValidationError(.inconsistentVersion, record: key.description, "cannot merge versions of two records (\(other.key))")
        }
        if vector == other.vector && body == other.body { return self }
        var result = self
        result.vector = vector.merged(with: other.vector)
        switch (body, other.body) {
        case (.program(let mine), .program(let theirs)):
            result.body = .program(mine.merged(context: vector, with: theirs, otherContext: other.vector))
        case (.referral(let mine), .referral(let theirs)):
            result.body = .referral(try mine.merged(context: vector, with: theirs, otherContext: other.vector))
        default:
            throw ValidationError(.inconsistentVersion, record: key.description, "a program and a referral share one key")
        }
        return result
    }

    /// The collisions this state holds, in a stable order. Each names the writes that collided,
    /// the fields whose values differ, and the write whose value is visible. Every replica that
    /// holds this state reports the same list.
    public var conflicts: [ConflictReport] {
        switch body {
        case .program(let register):
            guard register.isConflicted else { return [] }
            let visible = program!
            let visibleDot = register.entries.last(where: { $0.value == visible })!.dot
            return [ConflictReport(key: key, field: "content", dots: register.entries.map(\.dot),
                                   differingFields: Self.differing(register.entries.map(\.value)),
                                   kept: visibleDot)]
        case .referral(let referral):
            var reports: [ConflictReport] = []
            func check<V>(_ name: String, _ register: MVRegister<V>, _ fields: ([V]) -> [String]) {
                guard register.isConflicted else { return }
                reports.append(ConflictReport(key: key, field: name, dots: register.entries.map(\.dot),
                                              differingFields: fields(register.entries.map(\.value)), kept: register.dot))
            }
            check("business", referral.business) { _ in ["business"] }
            check("consent", referral.consent) { _ in ["consent"] }
            check("needs", referral.needs) { _ in ["needs"] }
            check("program", referral.program) { _ in ["program"] }
            check("personal", referral.personal.mapValues(\.withholdingFields)) { values in
                // Reported from the shareable form, so every replica reports the same, and no
                // report can reveal what differs in a person's data.
                var fields: [String] = []
                if values.contains(.purged) { fields.append("purged") }
                if values.contains(.withheld) { fields.append("personal") }
                return fields
            }
            check("reviewedOutcome", referral.reviewedOutcome) { _ in ["reviewedOutcome"] }
            if referral.outcomeNeedsReview {
                let colliding = referral.collidingOutcomes
                let events = referral.history.elements.filter { colliding.contains($0.to) }
                // The kept outcome is the lattice's greatest among the colliding events: a function
                // of the collision alone, so every replica reports the same whatever else it holds.
                let kept = events.max { ($0.to, $0.dot) < ($1.to, $1.dot) }!
                reports.append(ConflictReport(
                    key: key, field: "status", dots: events.map(\.dot),
                    differingFields: colliding.map(\.name), kept: kept.dot))
            }
            return reports
        }
    }

    private static func differing(_ values: [ProgramRecord]) -> [String] {
        var fields = Set<String>()
        for value in values.dropFirst() { fields.formUnion(values[0].differingFields(from: value)) }
        return fields.sorted()
    }
}

/// A collision held in a record's state: which writes collided on which part of the record, which
/// fields differ, and whose value is visible. The ``id`` is the same on every replica.
public struct ConflictReport: Hashable, Sendable, CustomStringConvertible {
    public var key: RecordKey
    /// The replicated part that collided: `content`, `business`, `personal`, `status`, ...
    public var field: String
    /// The colliding writes, ascending.
    public var dots: [Dot]
    /// The fields whose values differ between the colliding writes (names only, never values).
    public var differingFields: [String]
    /// The write whose value is visible: the deterministic resolution.
    public var kept: Dot

    public init(key: RecordKey, field: String, dots: [Dot], differingFields: [String], kept: Dot) {
        self.key = key
        self.field = field
        self.dots = dots
        self.differingFields = differingFields
        self.kept = kept
    }

    /// A stable identity: the record, the part and the colliding writes.
    public var id: String { "\(key)#\(field)@\(dots.map(\.description).joined(separator: ","))" }

    public var description: String { "\(id) differs in [\(differingFields.joined(separator: ","))], kept \(kept)" }
}

extension RecordVersion {
    /// Writes the version's key, vector and body — everything but the referral's personal
    /// register — in canonical form.
    public func encodeEnvelope(to writer: inout CanonicalWriter) {
        writer.write(key)
        writer.write(vector)
        encodeBody(to: &writer)
    }

    /// The body alone (no key, no vector, no personal register).
    public func encodeBody(to writer: inout CanonicalWriter) {
        switch body {
        case .program(let register): writer.write(register)
        case .referral(let referral): referral.encodeBody(to: &writer)
        }
    }

    /// The personal register's bytes, or empty for a program.
    public func encodePersonal(to writer: inout CanonicalWriter) {
        if case .referral(let referral) = body { referral.encodePersonal(to: &writer) }
    }

    /// The personal register's bytes as a node without the fields holds them (each write
    /// withheld): what the replica digest covers, so that all nodes compare.
    public func encodeShareablePersonal(to writer: inout CanonicalWriter) {
        if case .referral(let referral) = body { referral.withholdingPersonalFields.encodePersonal(to: &writer) }
    }

    /// This version as `agency` may receive it: a referral's personal fields are withheld unless
    /// `agency` is the origin or the consented target.
    public func shared(with agency: AgencyID) -> RecordVersion {
        guard case .referral(let referral) = body, !referral.mayHoldPersonalFields(agency) else { return self }
        var copy = self
        copy.body = .referral(referral.withholdingPersonalFields)
        return copy
    }

    /// Rebuilds a version from its key, vector, body bytes and personal bytes.
    /// - Throws: `.malformed`.
    public init(key: RecordKey, vector: VersionVector, body: [UInt8], personal: [UInt8]) throws(ValidationError) {
        var bodyReader = CanonicalReader(body)
        switch key.kind {
        case .program:
            self.init(key: key, vector: vector, body: .program(try bodyReader.read()))
            try bodyReader.expectEnd()
            guard personal.isEmpty else { throw ValidationError(.malformed, record: key.description, "a program has no personal fields") }
        case .referral:
            var personalReader = CanonicalReader(personal)
            var referral = try ReferralRecord(bodyFrom: &bodyReader)
            try referral.readPersonal(from: &personalReader)
            try bodyReader.expectEnd()
            try personalReader.expectEnd()
            self.init(key: key, vector: vector, body: .referral(referral))
        }
    }
}

extension RecordVersion: CanonicalEncodable {
    /// The whole version, personal register included (the wire form): envelope, then personal.
    public func encode(to writer: inout CanonicalWriter) {
        encodeEnvelope(to: &writer)
        encodePersonal(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let key: RecordKey = try reader.read()
        let vector = try reader.readVector()
        switch key.kind {
        case .program:
            self.init(key: key, vector: vector, body: .program(try reader.read()))
        case .referral:
            var referral = try ReferralRecord(bodyFrom: &reader)
            try referral.readPersonal(from: &reader)
            self.init(key: key, vector: vector, body: .referral(referral))
        }
    }
}
