extension RecordVersion {
    /// Checks every rule a version must satisfy, wherever it came from (a local adapter or a
    /// peer): well-formed key and body, dots covered by the vector, authorship (program fields by
    /// the owner; referral fields by the role that may write them), legal status transitions,
    /// consent before personal data, and no 주민등록번호 anywhere.
    ///
    /// - Throws: ``ValidationError`` naming the record, the field and the rule.
    public func validate() throws(ValidationError) {
        do throws(ValidationError) {
            try key.validate()
            guard body.kind == key.kind else {
                throw ValidationError(.malformed, field: "kind", "a \(key.kind.name) key carries a \(body.kind.name) body")
            }
            switch body {
            case .program(let register):
                for entry in register.entries {
                    try validateDot(entry.dot)
                    guard entry.dot.agency == key.owner else {
                        throw ValidationError(.unauthorizedAuthor, field: "content",
                                              "only \(key.owner.rawValue) authors its programs; this version carries a write by \(entry.dot.agency.rawValue)")
                    }
                    try entry.value.validate(as: key)
                }
            case .referral(let referral):
                for dot in referral.allDots { try validateDot(dot) }
                try referral.validate(as: key)
            }
        } catch {
            throw error.on(record: key.description)
        }
    }

    private func validateDot(_ dot: Dot) throws(ValidationError) {
        guard vector.covers(dot) else {
            throw ValidationError(.inconsistentVersion, field: "vector",
                                  "write \(dot) is not covered by the version vector \(vector)")
        }
    }
}

extension ProgramRecord {
    /// Checks a program content against its key and the domain rules.
    /// - Throws: ``ValidationError``.
    public func validate(as key: RecordKey) throws(ValidationError) {
        guard owner == key.owner, nativeID == key.localID else {
            throw ValidationError(.inconsistentVersion, field: "nativeID", "content of \(owner.rawValue)/\(nativeID) filed under \(key)")
        }
        if isDeleted { return }
        guard title.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            throw ValidationError(.malformed, field: "title", "a program needs a title (공고명)")
        }
        try eligibility.validate()
        try period.validate()
        try supportAmountKRW.validate(field: "supportAmountKRW")
        try rateBasisPoints.validate(field: "rateBasisPoints")
        if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            throw ValidationError(.malformed, field: "url", "the program URL must be http(s)")
        }
        try ResidentNumberDetector.refuse(title, field: "title")
        try ResidentNumberDetector.refuse(summary, field: "summary")
        if let contact { try ResidentNumberDetector.refuse(contact, field: "contact") }
    }
}

extension ReferralRecord {
    /// Checks a referral state against its key and the domain rules.
    /// - Throws: ``ValidationError``.
    public func validate(as key: RecordKey) throws(ValidationError) {
        guard origin == key.owner, referralID == key.localID else {
            throw ValidationError(.inconsistentVersion, field: "referralID", "referral \(origin.rawValue)/\(referralID) filed under \(key)")
        }
        guard target != origin else {
            throw ValidationError(.malformed, field: "target", "a referral goes to another agency; origin and target are both \(origin.rawValue)")
        }
        // Fields of the origin's record of the referral: written by the origin only.
        let foreignWrite = business.entries.first { $0.dot.agency != origin }?.dot
            ?? consent.entries.first { $0.dot.agency != origin }?.dot
            ?? needs.entries.first { $0.dot.agency != origin }?.dot
            ?? program.entries.first { $0.dot.agency != origin }?.dot
            ?? personal.entries.first { $0.dot.agency != origin }?.dot
        if let dot = foreignWrite {
            throw ValidationError(.unauthorizedAuthor, field: "business",
                                  "only the origin (\(origin.rawValue)) writes a referral's business, consent, needs and personal fields; found a write by \(dot.agency.rawValue)")
        }
        for entry in reviewedOutcome.entries where role(of: entry.dot.agency) == nil {
            throw ValidationError(.unauthorizedAuthor, field: "reviewedOutcome", "\(entry.dot.agency.rawValue) is neither origin nor target")
        }
        // History: created by the origin, every change by a role allowed to make it, from a
        // status it may follow.
        guard history.elements.contains(where: { $0.to == .sent && $0.from == nil && $0.dot.agency == origin }) else {
            throw ValidationError(.malformed, field: "history", "a referral's history starts with `sent` by its origin")
        }
        for (index, event) in history.elements.enumerated() {
            guard let role = role(of: event.dot.agency), event.to.allowedRoles.contains(role) else {
                throw ValidationError(.unauthorizedAuthor, field: "history[\(index)]",
                                      "\(event.dot.agency.rawValue) may not set status \(event.to.name) on a referral from \(origin.rawValue) to \(target.rawValue)")
            }
            guard event.to.canFollow(event.from) else {
                throw ValidationError(.invalidTransition, field: "history[\(index)]",
                                      "status cannot move from \(event.from?.name ?? "nothing") to \(event.to.name)")
            }
        }
        for note in notes.elements where role(of: note.dot.agency) == nil {
            throw ValidationError(.unauthorizedAuthor, field: "notes", "only origin and target add notes; found one by \(note.dot.agency.rawValue)")
        }
        // Consent before personal data.
        for entry in personal.entries where entry.value.fields != nil {
            guard let consent = consent.value else {
                throw ValidationError(.consentMissing, field: "personal",
                                      "personal fields need the owner's recorded consent (개인정보 제3자 제공 동의); record it or purge the fields")
            }
            guard consent.recipient == target else {
                throw ValidationError(.consentMissing, field: "consent.recipient",
                                      "consent names \(consent.recipient.rawValue) but the referral goes to \(target.rawValue)")
            }
        }
        if let consent = consent.value {
            guard !consent.purpose.trimmingASCIIWhitespace.isEmpty, !consent.scope.isEmpty else {
                throw ValidationError(.consentMissing, field: "consent", "a consent states its scope and purpose")
            }
        }
        // No 주민등록번호 in any text, personal fields included, nor in the referral's id (an
        // agency system might key a referral by its owner's number) or the program it names.
        if ResidentNumberDetector.containsResidentNumber(referralID) {
            // Named without its id: the error goes to quarantine, the audit log and the caller.
            var error = ValidationError(.residentNumber, field: "id", "the referral's id contains a 주민등록번호; it must never be stored — give the referral another id")
            error.record = "referral/\(origin.rawValue)/(an id withheld here)"
            throw error
        }
        for entry in program.entries {
            if let key = entry.value { try ResidentNumberDetector.refuse(key.localID, field: "program") }
        }
        try forEachText { text, field throws(ValidationError) in try ResidentNumberDetector.refuse(text, field: field) }
        // No control characters (but tab and line breaks) in a referral's text: agencies' intakes
        // refuse them (kamco's XML cannot carry most of them), and a referral no intake takes
        // would wait forever (outside review, session 16).
        try forEachText { text, field throws(ValidationError) in try Self.refuseControls(text, field: field) }
        // Nor a phone number or e-mail address in free text (the authoring node redacts them).
        for entry in needs.entries { try ContactDetector.refuse(entry.value.summary, field: "needs.summary") }
        for note in notes.elements { try ContactDetector.refuse(note.text, field: "notes") }
    }
}

extension ReferralRecord {
    /// Every text of the referral a person typed, with its field: the centre, the consent's
    /// purpose and scope, the business's name and address, the needs, the notes and the personal
    /// fields (each register's every value, concurrent ones included).
    func forEachText(_ body: (String, String) throws(ValidationError) -> Void) throws(ValidationError) {
        try body(originCentre, "originCentre")
        for entry in consent.entries {
            guard let consent = entry.value else { continue }
            try body(consent.purpose, "consent.purpose")
            for item in consent.scope { try body(item, "consent.scope") }
        }
        for entry in business.entries {
            try body(entry.value.tradeName, "business.tradeName")
            try body(entry.value.address, "business.address")
        }
        for entry in needs.entries { try body(entry.value.summary, "needs.summary") }
        for note in notes.elements { try body(note.text, "notes") }
        for entry in personal.entries {
            guard let fields = entry.value.fields else { continue }
            try body(fields.ownerName, "personal.ownerName")
            try body(fields.phone, "personal.phone")
        }
    }

    /// Refuses C0 control characters other than tab, line feed and carriage return, DEL and the
    /// C1 controls (U+0080-U+009F) in a referral's text.
    static func refuseControls(_ text: String?, field: String) throws(ValidationError) {
        guard let text else { return }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 && value != 0x09 && value != 0x0A && value != 0x0D || (0x7F...0x9F).contains(value) {
                throw ValidationError(.malformed, field: field, "holds the control character U+\(String(value, radix: 16, uppercase: true).leftPadded(to: 4)); remove it (tab and line breaks are allowed)")
            }
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
