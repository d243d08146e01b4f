/// Why a record, a version or a value was refused by the domain rules.
///
/// This is HanaroCore's one error type. The message says what is wrong and, where it helps, what
/// to do; it never contains a person's data (names, phones) — only keys, field names and codes.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule that was broken. Stable: metrics and quarantine rows use the raw value.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case unknownAgency = "unknown_agency"
        case malformed
        case invalidBusinessNumber = "invalid_business_number"
        case invalidRegion = "invalid_region"
        case invalidIndustry = "invalid_industry"
        case invalidRange = "invalid_range"
        case invalidTransition = "invalid_transition"
        case unauthorizedAuthor = "unauthorized_author"
        case consentMissing = "consent_missing"
        case residentNumber = "resident_registration_number"
        /// A phone number or e-mail address in a referral's free text (it belongs in the encrypted
        /// personal fields; ``ContactDetector``).
        case personalContact = "personal_contact"
        case inconsistentVersion = "inconsistent_version"
        /// Stamped further ahead of this node's clock than the allowed skew: not wrong, not yet
        /// acceptable (held, and retried once the clock allows).
        case clockSkew = "clock_skew"
        /// A version from a peer without its author's signature.
        case signatureMissing = "signature_missing"
        /// A signature that does not verify: the version was altered, or forged under another
        /// agency's dot, or signed by a key not valid when the version was made.
        case signatureInvalid = "signature_invalid"
        /// Signed with a key the federation's agency files do not list for that agency.
        case signingKeyUnknown = "signing_key_unknown"
        /// A referral the agency's own intake refused (HTTP 400, 409, 413, 415 or 422): held for
        /// that agency while the referrals after it are delivered; delivered again by a retry or
        /// by the referral's next change.
        case intakeRefused = "intake_refused"
    }

    /// The rule that was broken.
    public var code: Code
    /// The record concerned (its key), when known.
    public var record: String?
    /// The field concerned, when known (`eligibility.regions`, `history[2]`, ...).
    public var field: String?
    /// What went wrong and how to fix it. Never contains personal data.
    public var message: String

    public init(_ code: Code, record: String? = nil, field: String? = nil, _ message: String) {
        self.code = code
        self.record = record
        self.field = field
        self.message = message
    }

    /// The same error, attributed to a record (kept if already set).
    public func on(record key: String) -> ValidationError {
        var copy = self
        if copy.record == nil { copy.record = key }
        return copy
    }

    /// The same error, with its field path prefixed by a parent field (`eligibility` + `regions`).
    public func within(_ parent: String) -> ValidationError {
        var copy = self
        copy.field = copy.field.map { "\(parent).\($0)" } ?? parent
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if let record { parts.append("record \(record)") }
        if let field { parts.append("field \(field)") }
        let location = parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
        return "\(code.rawValue)\(location): \(message)"
    }
}
