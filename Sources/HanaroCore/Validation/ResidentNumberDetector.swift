/// Finds 주민등록번호 (resident registration numbers) in free text, so that they are refused
/// before they are ever stored: the law forbids carrying them, and a counsellor may paste one into
/// a note by mistake.
///
/// A match is 6 digits that read as a date (YYMMDD), an optional hyphen or space, then a 7-digit
/// block whose first digit is 1-8, not surrounded by further digits. Phone numbers (010-1234-5678)
/// and business numbers (XXX-XX-XXXXX) do not have this shape. It runs on every text field of
/// every version applied, so it scans the UTF-8 bytes in place without allocating.
public enum ResidentNumberDetector {
    /// Whether `text` contains something shaped like a 주민등록번호.
    public static func containsResidentNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { scan($0) }
    }

    /// Refuses a text holding a 주민등록번호, naming the field (never echoing the number).
    /// - Throws: ``ValidationError`` `.residentNumber`.
    public static func refuse(_ text: String, field: String) throws(ValidationError) {
        if containsResidentNumber(text) {
            throw ValidationError(.residentNumber, field: field, "text contains a 주민등록번호; it must never be stored — remove it at the source")
        }
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard count >= 13 else { return false }
        @inline(__always) func isDigit(_ i: Int) -> Bool { i >= 0 && i < count && bytes[i] &- 48 < 10 }
        @inline(__always) func digit(_ i: Int) -> Int { Int(bytes[i] &- 48) }
        var i = 0
        while i + 13 <= count {
            // Skip to the start of a run of digits (most bytes of Korean text are ≥ 0x80).
            guard bytes[i] &- 48 < 10, !isDigit(i - 1) else {
                i += 1
                continue
            }
            var run = i
            while isDigit(run) { run += 1 }
            defer { i = run }
            guard run - i == 6 || run - i == 13 else { continue }
            let month = digit(i + 2) * 10 + digit(i + 3)
            let day = digit(i + 4) * 10 + digit(i + 5)
            guard (1...12).contains(month), (1...31).contains(day) else { continue }
            var j = i + 6
            if run - i == 6 {
                guard j < count, bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: " ") else { continue }
                j += 1
                guard j + 7 <= count, (0..<7).allSatisfy({ isDigit(j + $0) }), !isDigit(j + 7) else { continue }
            }
            if (1...8).contains(digit(j)) { return true }
        }
        return false
    }
}
