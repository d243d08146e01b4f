/// A calendar date in Korea (no time zone arithmetic needed: every agency publishes KST dates).
public struct LocalDate: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalEncodable {
    public let year: Int
    public let month: Int
    public let day: Int

    /// The day it is in Korea (KST, UTC+9, no daylight saving) at `seconds` since 1970 (UTC).
    public static func inKorea(secondsSince1970 seconds: Int64) -> LocalDate {
        let kst = seconds + 9 * 3600
        let days = kst >= 0 ? kst / 86_400 : (kst - 86_399) / 86_400
        let (year, month, day) = AgencyTimestamp.civil(fromDays: Int(days))
        // The civil conversion only yields calendar dates; the range check is the type's own.
        return (try? LocalDate(year: year, month: month, day: day)) ?? (try! LocalDate(year: 2999, month: 12, day: 31))
    }

    /// - Throws: `.malformed` for an impossible date.
    public init(year: Int, month: Int, day: Int) throws(ValidationError) {
        guard (1900...2999).contains(year), (1...12).contains(month),
              (1...LocalDate.daysIn(month: month, year: year)).contains(day)
        else {
            throw ValidationError(.malformed, field: "date", "\(year)-\(month)-\(day) is not a calendar date")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses the date shapes the agencies publish: `YYYYMMDD`, `YYYY-MM-DD`, `YYYY.MM.DD`,
    /// `YYYY/MM/DD`, each optionally followed by a time (`2026-01-01 00:00`, `20251204133104`),
    /// which is dropped. Returns nil for anything else (free text such as `상시신청`).
    public init?(parsing text: String) {
        let trimmed = text.trimmingASCIIWhitespace
        let digitsOnly = trimmed.allSatisfy { $0.isASCII && $0.isNumber }
        var parts: [Int] = []
        if digitsOnly, trimmed.count == 8 || trimmed.count == 14 {
            let a = Array(trimmed.utf8).map { Int($0) - 48 }
            parts = [a[0] * 1000 + a[1] * 100 + a[2] * 10 + a[3], a[4] * 10 + a[5], a[6] * 10 + a[7]]
        } else {
            let datePart = trimmed.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            let fields = datePart.split(whereSeparator: { $0 == "-" || $0 == "." || $0 == "/" })
            guard fields.count == 3, fields[0].count == 4, fields.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
                return nil
            }
            parts = fields.compactMap { Int($0) }
        }
        guard parts.count == 3, let date = try? LocalDate(year: parts[0], month: parts[1], day: parts[2]) else { return nil }
        self = date
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return "\(year)-\(m)-\(d)"
    }

    /// `YYYYMMDD` as an integer, which orders like the date.
    public var ordinal: Int { year * 10_000 + month * 100 + day }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.ordinal < rhs.ordinal }

    public func encode(to writer: inout CanonicalWriter) { writer.write(ordinal) }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        let n = try reader.readInt()
        try self.init(year: n / 10_000, month: (n / 100) % 100, day: n % 100)
    }
}

/// When applications are accepted: dates when the agency gives dates, the agency's own words
/// when it does not (`예산 소진시까지`, `상시신청`), or both.
public struct ApplicationPeriod: Hashable, Sendable, CanonicalEncodable {
    /// First day applications are accepted, if stated.
    public var start: LocalDate?
    /// Last day applications are accepted, if stated; nil means open-ended.
    public var end: LocalDate?
    /// The agency's original wording when it is not a plain date range (kept verbatim).
    public var text: String?

    public init(start: LocalDate? = nil, end: LocalDate? = nil, text: String? = nil) {
        self.start = start
        self.end = end
        self.text = text
    }

    /// Parses the shapes seen in the wild: `2026-09-09 ~ 2026-09-30`, `20260909~20260930`,
    /// `2026-09-09 00:00 ~ 2026-09-30 18:00`, a single date (an end date), or free text (kept).
    public init(parsing raw: String?) {
        guard let raw = raw?.trimmingASCIIWhitespace, !raw.isEmpty else {
            self.init()
            return
        }
        let halves = raw.split(separator: "~", maxSplits: 1).map { String($0).trimmingASCIIWhitespace }
        if halves.count == 2 {
            let start = LocalDate(parsing: halves[0])
            let end = LocalDate(parsing: halves[1])
            if start != nil || end != nil {
                let clean = (start != nil || halves[0].isEmpty) && (end != nil || halves[1].isEmpty)
                self.init(start: start, end: end, text: clean ? nil : raw)
                return
            }
        } else if let end = LocalDate(parsing: raw) {
            self.init(end: end)
            return
        }
        self.init(text: raw)
    }

    /// Whether an application on `date` is inside the period (free text alone counts as open).
    public func isOpen(on date: LocalDate) -> Bool {
        (start.map { date >= $0 } ?? true) && (end.map { date <= $0 } ?? true)
    }

    /// - Throws: `.invalidRange` when the end precedes the start.
    public func validate() throws(ValidationError) {
        if let start, let end, end < start {
            throw ValidationError(.invalidRange, field: "period", "application period ends (\(end)) before it starts (\(start))")
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeOptional(start) { $1.encode(to: &$0) }
        writer.writeOptional(end) { $1.encode(to: &$0) }
        writer.write(text)
    }

    public init(from reader: inout CanonicalReader) throws(ValidationError) {
        start = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try LocalDate(from: &r) }
        end = try reader.readOptional { (r: inout CanonicalReader) throws(ValidationError) in try LocalDate(from: &r) }
        text = try reader.readOptionalString()
    }
}
