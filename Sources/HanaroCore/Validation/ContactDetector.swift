/// Finds a person's contact details — phone numbers and e-mail addresses — in the free text of a
/// referral (`needs.summary`, notes), where a counsellor may type them by habit. A phone number
/// belongs in the personal fields, which are encrypted, consent-bound and purged at the end of
/// retention; in free text it would travel in clear to every node.
///
/// The rule (docs/PRIVACY.md): the node where the text is **written** redacts it
/// (``redacted(_:)`` replaces each match by ``placeholder``), so the referral itself is never
/// lost; a **received** version that still holds one is refused like a 주민등록번호
/// (`personal_contact`), because its author skipped the rule.
///
/// Phone numbers are the Korean shapes a person has: mobile `01x-xxxx-xxxx` (also `+82 10 …`),
/// landline and internet `0NN-xxx-xxxx` / `02-xxxx-xxxx` / `070-…`, with hyphens, dots, spaces or
/// nothing between the groups, not inside a longer run of digits. Nationwide representative
/// numbers (`1588-1234`) are institutions', never a person's, and stay. E-mail addresses are
/// `local@domain.tld`.
///
/// Hand-written: Swift Regex is too slow for a check on every version applied (it runs on the
/// sync path), and no library does Korean phone shapes.
public enum ContactDetector {
    /// What a redacted phone number or e-mail address becomes.
    public static let placeholder = "[연락처 삭제]"

    /// Whether `text` holds a phone number or an e-mail address.
    public static func containsContact(_ text: String) -> Bool {
        !matches(in: Array(text.utf8)).isEmpty
    }

    /// `text` with every phone number and e-mail address replaced by ``placeholder``.
    public static func redacted(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let found = matches(in: bytes)
        guard !found.isEmpty else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var at = 0
        for range in found {
            out += bytes[at..<range.lowerBound]
            out += Array(placeholder.utf8)
            at = range.upperBound
        }
        out += bytes[at...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Refuses a received text holding a contact, naming the field (never echoing it).
    /// - Throws: ``ValidationError`` `.personalContact`.
    public static func refuse(_ text: String, field: String) throws(ValidationError) {
        if containsContact(text) {
            throw ValidationError(.personalContact, field: field,
                                  "free text holds a phone number or e-mail address; it belongs in the encrypted personal fields (the authoring node redacts it)")
        }
    }

    // MARK: - Scanning

    /// Byte ranges of every match, in order, not overlapping.
    static func matches(in bytes: [UInt8]) -> [Range<Int>] {
        guard bytes.count >= 6 else { return [] }
        var found: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            if let end = phone(bytes, at: i) {
                found.append(i..<end)
                i = end
            } else if bytes[i] == UInt8(ascii: "@"), let range = email(bytes, at: i) {
                // The local part was skipped over as ordinary text: drop any earlier match inside it.
                while let last = found.last, last.upperBound > range.lowerBound { found.removeLast() }
                found.append(range)
                i = range.upperBound
            } else {
                i += 1
            }
        }
        return found
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 }

    /// The end of a phone number starting at `start`, or nil.
    static func phone(_ bytes: [UInt8], at start: Int) -> Int? {
        let count = bytes.count
        if start > 0, isDigit(bytes[start - 1]) || bytes[start - 1] == UInt8(ascii: "+") { return nil }
        var i = start
        // +82 (or 82) with the trunk 0 dropped: +82 10-1234-5678, +82-2-123-4567.
        if bytes[i] == UInt8(ascii: "+") {
            guard i + 3 < count, bytes[i + 1] == UInt8(ascii: "8"), bytes[i + 2] == UInt8(ascii: "2") else { return nil }
            i += 3
            if i < count, isSeparator(bytes[i]) { i += 1 }
            if i < count, bytes[i] == UInt8(ascii: "(") { i += 1 }
            if i < count, bytes[i] == UInt8(ascii: "0") { i += 1 }
            if i < count, bytes[i] == UInt8(ascii: ")") { i += 1 }
        } else {
            guard bytes[i] == UInt8(ascii: "0") else { return nil }
            i += 1
        }
        // The area or mobile prefix (after the trunk 0): 10/11/16-19, 2, 31-64, 70.
        guard i < count, isDigit(bytes[i]) else { return nil }
        let first = bytes[i] &- 48
        var prefixDigits = 1
        switch first {
        case 1:
            guard i + 1 < count, isDigit(bytes[i + 1]), [0, 1, 6, 7, 8, 9].contains(bytes[i + 1] &- 48) else { return nil }
            prefixDigits = 2
        case 2:
            prefixDigits = 1
        case 3, 4, 5, 6:
            guard i + 1 < count, isDigit(bytes[i + 1]), (1...5).contains(bytes[i + 1] &- 48) else { return nil }
            prefixDigits = 2
        case 7:
            guard i + 1 < count, bytes[i + 1] == UInt8(ascii: "0") else { return nil }
            prefixDigits = 2
        default:
            return nil
        }
        i += prefixDigits
        // Then 3-4 digits and 4 digits, each after at most one separator; with no separator
        // between them, one run of 7-8 digits. Never inside a longer run of digits.
        if i < count, bytes[i] == UInt8(ascii: ")") { i += 1 }
        var j = i
        if j < count, isSeparator(bytes[j]) { j += 1 }
        let middleStart = j
        while j < count, isDigit(bytes[j]) { j += 1 }
        let middle = j - middleStart
        if middle == 7 || middle == 8 { return j }
        guard middle == 3 || middle == 4 else { return nil }
        if j < count, isSeparator(bytes[j]) { j += 1 }
        let lastStart = j
        while j < count, isDigit(bytes[j]) { j += 1 }
        guard j - lastStart == 4 else { return nil }
        return j
    }

    @inline(__always) static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: " ")
    }

    /// An e-mail address around the `@` at `at`: a local part of [A-Za-z0-9._%+-], a domain of
    /// labels with a final label of 2+ letters.
    static func email(_ bytes: [UInt8], at: Int) -> Range<Int>? {
        func isLocal(_ b: UInt8) -> Bool {
            isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "%") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
        }
        func isDomain(_ b: UInt8) -> Bool {
            isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
        }
        var start = at
        while start > 0, isLocal(bytes[start - 1]) { start -= 1 }
        guard start < at else { return nil }
        var end = at + 1
        while end < bytes.count, isDomain(bytes[end]) { end += 1 }
        // Trailing dots end a sentence, not the domain.
        while end > at + 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        let domain = bytes[(at + 1)..<end]
        guard let lastDot = domain.lastIndex(of: UInt8(ascii: ".")), lastDot > at + 1 else { return nil }
        let tld = bytes[(lastDot + 1)..<end]
        guard tld.count >= 2, tld.allSatisfy({ !isDigit($0) && $0 != UInt8(ascii: "-") }) else { return nil }
        return start..<end
    }
}
