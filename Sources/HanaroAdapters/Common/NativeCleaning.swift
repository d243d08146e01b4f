import Foundation
public import HanaroCore

/// The cleaning every agency's text needs (the "real-world dirt" of public Korean APIs): HTML entities
/// and tags, multi-values joined by `@`, `,`, `|` or `||`, amounts with separators, percents,
/// and nulls where a field is usually present.
public enum NativeCleaning {
    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "middot": "·", "hellip": "…",
        "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "bull": "•", "ndash": "–", "mdash": "—",
    ]

    /// Decodes HTML entities (`R&amp;D` → `R&D`, `&#39;`, `&#x27;`), repeatedly for text escaped
    /// twice; unknown entities are kept as written.
    public static func decodingEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var current = text
        for _ in 0..<3 {
            let decoded = decodeOnce(current)
            if decoded == current { break }
            current = decoded
        }
        return current
    }

    private static func decodeOnce(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "&", let semicolon = text[index...].prefix(12).firstIndex(of: ";") {
                let name = String(text[text.index(after: index)..<semicolon])
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    replacement = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if name.hasPrefix("#") {
                    replacement = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else {
                    replacement = namedEntities[name]
                }
                if let replacement {
                    out += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(c)
            index = text.index(after: index)
        }
        return out
    }

    /// Plain text from an HTML fragment: paragraphs and line breaks become `\n`, other tags are
    /// dropped, entities decoded, each line trimmed, empty lines removed.
    public static func plainText(fromHTML html: String) -> String {
        var text = html
        for tag in ["</p>", "<br>", "<br/>", "<br />", "</div>", "</li>", "</P>", "<BR>"] {
            text = text.replacingOccurrences(of: tag, with: "\n")
        }
        var out = ""
        var inTag = false
        for c in text {
            if c == "<" { inTag = true; continue }
            if c == ">", inTag { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return lines(decodingEntities(out))
    }

    /// One line: every run of whitespace — line breaks (`\r\n` of a quoted CSV field) included —
    /// as one space, trimmed. For titles, which are shown and searched as one line.
    public static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Trimmed non-empty lines joined by `\n`.
    public static func lines(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Splits a multi-value field on `||`, `|`, `@` or `,` (whichever it uses), trimming and
    /// dropping empty parts. Nil or empty gives [].
    public static func multiValues(_ text: String?) -> [String] {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return [] }
        let separators = ["||", "|", "@", ","]
        let separator = separators.first { text.contains($0) } ?? "||"
        return text.components(separatedBy: separator).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Non-empty trimmed text, or nil (nulls, empty strings and `-` are all absent values).
    public static func present(_ text: String?) -> String? {
        guard let text else { return nil }
        // ASCII whitespace first (cheap); Foundation's trimming only when a non-ASCII space may remain.
        var trimmed = text.trimmingASCIIWhitespace
        if let first = trimmed.unicodeScalars.first, let last = trimmed.unicodeScalars.last,
           first.properties.isWhitespace || last.properties.isWhitespace {
            trimmed = trimmed.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !trimmed.isEmpty, !absentWords.contains(trimmed) else { return nil }
        return trimmed
    }

    /// Values that mean "nothing here": a dash, and a JSON null written as text (고용24 sends "Null").
    static let absentWords: Set<String> = ["-", "Null", "null", "NULL", "None", "N/A"]

    /// Values that mean "no restriction" in a range field (age, amount): 없음, 제한없음, 무관...
    static let unrestrictedWords: Set<String> = ["없음", "제한없음", "제한 없음", "해당없음", "무관", "누구나", "전연령"]

    /// Region names or codes in one field (`강원|서울`, `42110,11`, `전국`), as codes.
    /// - Throws: `.invalidRegion` for a code that names no region (names it does not know are left out).
    public static func regions(namesOrCodes values: [String], field: String) throws(ValidationError) -> [RegionCode] {
        var out: [RegionCode] = []
        for value in values {
            if value.first?.isASCII == true, value.first?.isNumber == true {
                do { out.append(try RegionCode(value)) } catch { throw error.within(field) }
            } else {
                out += RegionCode.named(value)
            }
        }
        return out
    }

    /// Region names or codes where a field mixes them with words it does not know: what cannot be
    /// read is left out instead of refusing the item.
    public static func regions(namesOrCodesLeniently values: [String]) -> [RegionCode] {
        values.flatMap { value -> [RegionCode] in
            if let code = try? RegionCode(value) { return [code] }
            return RegionCode.named(value)
        }
    }

    /// The regions a title names in its leading bracket (`[강원] 2026년 …`, `[전남광주] …`).
    public static func regions(inTitle title: String) -> [RegionCode] {
        guard title.hasPrefix("["), let close = title.firstIndex(of: "]") else { return [] }
        return RegionCode.named(String(title[title.index(after: title.startIndex)..<close]))
    }

    /// An amount in KRW: `50,000,000`, `50000000`, `3000만원`, `30억원`, `1억 5천만원`.
    /// - Throws: `.malformed` naming `field` for anything else.
    public static func amount(_ text: String?, field: String, unit: Int64 = 1) throws(ValidationError) -> Int64? {
        guard let raw = present(text), !unrestrictedWords.contains(raw) else { return nil }
        let value = try amountInWon(raw, field: field)
        // A bare number in a field whose unit is 만원 or 천원 (`지원한도(만원)`, `lnlmt`) is in that unit;
        // one that names its unit (`3000만원`) is already in won.
        if raw.contains(where: { "만억천원".contains($0) }) { return value }
        let (won, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow, won <= maxAmountWon else { throw tooLarge(raw, field: field) }
        return won
    }

    /// No support program is worth more than this (1,000조 원): larger figures are garbled input,
    /// refused before they overflow anything.
    static let maxAmountWon: Int64 = 1_000_000_000_000_000

    private static func tooLarge(_ raw: String, field: String) -> ValidationError {
        ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is larger than any amount in KRW a program can carry")
    }

    /// The unit a column header names for its amounts: `(만원)` 10,000, `(천원)` 1,000, else 1.
    public static func amountUnit(ofHeader header: String) -> Int64 {
        if header.contains("(만원)") || header.hasSuffix("만원") { return 10_000 }
        if header.contains("(천원)") || header.hasSuffix("천원") { return 1_000 }
        if header.contains("(억원)") { return 100_000_000 }
        return 1
    }

    private static func amountInWon(_ raw: String, field: String) throws(ValidationError) -> Int64 {
        let compact = raw.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "원", with: "")
        if let value = Int64(compact) {
            guard value <= maxAmountWon else { throw tooLarge(raw, field: field) }
            return value
        }
        var total: Int64 = 0
        var number: Int64 = 0
        var sawDigit = false
        let units: [Character: Int64] = ["억": 100_000_000, "만": 10_000, "천": 1_000]
        // Every step is bounded: a garbled export (a hundred digits, `9999억억억`) is refused, never
        // allowed to overflow (which would stop the process).
        for c in compact {
            if let digit = c.wholeNumberValue, c.isASCII {
                number = number * 10 + Int64(digit)
                sawDigit = true
                guard number <= maxAmountWon else { throw tooLarge(raw, field: field) }
            } else if let unit = units[c] {
                let (scaled, overflow) = (number == 0 && c != "천" ? 1 : number).multipliedReportingOverflow(by: unit)
                guard !overflow, scaled <= maxAmountWon else { throw tooLarge(raw, field: field) }
                if c == "천" {
                    number = scaled
                } else {
                    total += scaled
                    number = 0
                }
                guard total <= maxAmountWon else { throw tooLarge(raw, field: field) }
            } else {
                throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is not an amount in KRW")
            }
        }
        guard sawDigit else { throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is not an amount in KRW") }
        guard total + number <= maxAmountWon else { throw tooLarge(raw, field: field) }
        return total + number
    }

    /// Percent figures in a text (`연 4.5% ~ 6.0%`, `2.0~3.5`, `~3.5`) as basis points: (min, max).
    /// A single figure is a maximum (`이내`, `이하`, `최대`), a minimum (`이상`), or else the rate itself.
    /// - Throws: `.malformed` naming `field` when the text holds no figure.
    public static func rateRange(_ text: String?, field: String) throws(ValidationError) -> BoundedRange {
        guard let raw = present(text), !unrestrictedWords.contains(raw) else { return .unbounded }
        func points(_ figure: Double) throws(ValidationError) -> Int64 {
            guard let value = whole(figure * 100, limit: 1_000_000) else {
                throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is not a plausible rate")
            }
            return value
        }
        var basisPoints: [Int64] = []
        for figure in numbers(in: raw) { basisPoints.append(try points(figure)) }
        if raw.contains("~") {
            let halves = raw.split(separator: "~", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let low = try numbers(in: halves[0]).first.map(points)
            let high = halves.count > 1 ? try numbers(in: halves[1]).first.map(points) : nil
            guard low != nil || high != nil else { throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" holds no rate") }
            return BoundedRange(min: low, max: high)
        }
        guard let only = basisPoints.first else { throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" holds no rate") }
        if raw.contains("이상") { return BoundedRange(min: only) }
        if raw.contains("이내") || raw.contains("이하") || raw.contains("최대") { return BoundedRange(max: only) }
        // A plain figure (`4.5`, `연 2.0%`) is the rate itself.
        return BoundedRange(min: only, max: only)
    }

    /// Ages in a text (`만 19세 이상 ~ 만 39세 이하`, `만 19세 이상`, `만 39세 이하`).
    /// - Throws: `.malformed` naming `field` when the text holds no age.
    public static func ageRange(_ text: String?, field: String) throws(ValidationError) -> BoundedRange {
        guard let raw = present(text), !unrestrictedWords.contains(raw) else { return .unbounded }
        func age(_ figure: Double) throws(ValidationError) -> Int64 {
            guard let value = whole(figure.rounded(.towardZero), limit: 200) else {
                throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is not a plausible age")
            }
            return value
        }
        if raw.contains("~") {
            let halves = raw.split(separator: "~", maxSplits: 1).map(String.init)
            let low = try numbers(in: halves[0]).first.map(age)
            let high = halves.count > 1 ? try numbers(in: halves[1]).first.map(age) : nil
            guard low != nil || high != nil else { throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" holds no age") }
            return BoundedRange(min: low, max: high)
        }
        guard let only = try numbers(in: raw).first.map(age) else {
            throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" holds no age")
        }
        return raw.contains("이하") ? BoundedRange(max: only) : BoundedRange(min: only)
    }

    /// A figure as a whole number, or nil when it is not finite or beyond ±`limit`: garbled input is
    /// refused, never allowed to trap the conversion (found by fuzzing, ops/fuzz).
    static func whole(_ value: Double, limit: Double) -> Int64? {
        let rounded = value.rounded()
        guard rounded.isFinite, abs(rounded) <= limit else { return nil }
        return Int64(rounded)
    }

    static func numbers(in text: String) -> [Double] {
        var out: [Double] = []
        var current = ""
        for c in text + " " {
            if (c.isASCII && c.isNumber) || (c == "." && !current.isEmpty) {
                current.append(c)
            } else if !current.isEmpty {
                if let value = Double(current) { out.append(value) }
                current = ""
            }
        }
        return out
    }

    /// A date field that must be a date when present.
    /// - Throws: `.malformed` naming `field` for text that is not a date.
    public static func date(_ text: String?, field: String) throws(ValidationError) -> LocalDate? {
        guard let raw = present(text) else { return nil }
        guard let date = LocalDate(parsing: raw) else {
            throw ValidationError(.malformed, field: field, "\(field) \"\(raw.prefix(30))\" is not a date (YYYYMMDD, YYYY-MM-DD or YYYY.MM.DD)")
        }
        return date
    }

    /// Region codes (legacy 42/45 prefixes mapped).
    /// - Throws: `.invalidRegion` for a code that names no region.
    public static func regions(_ codes: [String], field: String) throws(ValidationError) -> [RegionCode] {
        var out: [RegionCode] = []
        for code in codes {
            do { out.append(try RegionCode(code)) } catch { throw error.within(field) }
        }
        return out
    }

    /// KSIC codes.
    /// - Throws: `.invalidIndustry` for a code that is not KSIC.
    public static func industries(_ codes: [String], field: String) throws(ValidationError) -> [KSICCode] {
        var out: [KSICCode] = []
        for code in codes {
            do { out.append(try KSICCode(code)) } catch { throw error.within(field) }
        }
        return out
    }

    /// A required text field.
    /// - Throws: `.malformed` when it is missing or empty.
    public static func required(_ text: String?, field: String) throws(ValidationError) -> String {
        guard let value = present(text) else { throw ValidationError(.malformed, field: field, "\(field) is missing") }
        return value
    }

    /// A deletion flag: `Y`/`N` meaning "in use" (`useYn`, `useAt`, `사용여부`) or "deleted" (`delYn`, `삭제여부`).
    public static func flag(_ text: String?) -> Bool? {
        switch present(text)?.uppercased() {
        case "Y", "1", "TRUE": true
        case "N", "0", "FALSE": false
        default: nil
        }
    }
}
