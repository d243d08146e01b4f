/// An agency's updated-at stamp, to the second, in Korean local time as the agencies publish it.
///
/// Kept as the 14 digits `yyyyMMddHHmmss`, so that comparing stamps is comparing strings and
/// no time-zone arithmetic is ever needed (every agency publishes KST).
public struct AgencyTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `yyyyMMddHHmmss`.
    public let digits: String

    /// The earliest stamp: before anything an agency published.
    public static let distantPast = AgencyTimestamp(unchecked: "00000000000000")

    init(unchecked digits: String) { self.digits = digits }

    /// Parses the shapes the agencies publish: `20251204133104`, `2026-09-23 14:16:15`,
    /// `2026-01-01 00:00`, `2026.09.23 14:16`, `20260923` (midnight). Nil for anything else.
    public init?(parsing text: String) {
        var digits: [UInt8] = []
        digits.reserveCapacity(14)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "-"), UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "T"):
                continue
            default: return nil
            }
        }
        switch digits.count {
        case 8: digits += Array("000000".utf8)
        case 12: digits += Array("00".utf8)
        case 14: break
        default: return nil
        }
        let value = digits.map { Int($0) - 48 }
        func number(_ from: Int, _ count: Int) -> Int { value[from..<from + count].reduce(0) { $0 * 10 + $1 } }
        guard (try? LocalDate(year: number(0, 4), month: number(4, 2), day: number(6, 2))) != nil,
              number(8, 2) < 24, number(10, 2) < 60, number(12, 2) < 60 else { return nil }
        self.digits = String(decoding: digits, as: UTF8.self)
    }

    /// Midnight (KST) of a calendar day: where a read of that day's file starts.
    public init(day: LocalDate) {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        digits = pad(day.year, 4) + pad(day.month, 2) + pad(day.day, 2) + "000000"
    }

    /// The stamp of a moment given as seconds since 1970 (UTC), in KST (UTC+9, no daylight saving).
    public init(secondsSince1970 seconds: Int64) {
        let kst = seconds + 9 * 3600
        let days = Int(kst.floorDiv(86_400))
        let secondOfDay = Int(kst - Int64(days) * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        digits = pad(year, 4) + pad(month, 2) + pad(day, 2)
            + pad(secondOfDay / 3600, 2) + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2)
    }

    /// Seconds since 1970 (UTC) of this KST stamp.
    public var secondsSince1970: Int64 {
        let value = digits.utf8.map { Int($0) - 48 }
        func number(_ from: Int, _ count: Int) -> Int { value[from..<from + count].reduce(0) { $0 * 10 + $1 } }
        let days = Self.days(fromCivil: number(0, 4), number(4, 2), number(6, 2))
        return Int64(days) * 86_400 + Int64(number(8, 2) * 3600 + number(10, 2) * 60 + number(12, 2)) - 9 * 3600
    }

    /// The calendar day of the stamp.
    public var date: LocalDate {
        let value = digits.utf8.map { Int($0) - 48 }
        func number(_ from: Int, _ count: Int) -> Int { value[from..<from + count].reduce(0) { $0 * 10 + $1 } }
        return (try? LocalDate(year: number(0, 4), month: number(4, 2), day: number(6, 2))) ?? (try! LocalDate(year: 1900, month: 1, day: 1))
    }

    /// `yyyy-MM-dd HH:mm:ss`, the data.go.kr shape.
    public var dashed: String {
        let d = Array(digits)
        return "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8])) \(String(d[8..<10])):\(String(d[10..<12])):\(String(d[12..<14]))"
    }

    public var description: String { digits }

    public static func < (lhs: AgencyTimestamp, rhs: AgencyTimestamp) -> Bool { lhs.digits < rhs.digits }

    // Howard Hinnant's civil-calendar algorithms (public domain): days since 1970-01-01.
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

private extension Int64 {
    func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
