/// Finds 주민등록번호 (resident registration numbers) in free text, so that they are refused
/// before they are ever stored: the law forbids carrying them, and a counsellor may paste one into
/// a note by mistake.
///
/// A match is 6 digits that read as a date (YYMMDD), then up to three separator characters (a
/// hyphen or any dash, a space, `/`, `_`, `.`), then a 7-digit block whose first digit is 1-8, not
/// surrounded by further digits. Fullwidth digits (`９００１０１`) and the Unicode dashes and
/// minus signs (`–`, `—`, `−`, `－`, …) count as their ASCII forms, so a number typed on a Korean
/// keyboard or pasted from a word processor is caught too. Phone numbers (010-1234-5678) and
/// business numbers (XXX-XX-XXXXX) do not have this shape. It runs on every text field of every
/// version applied, so it scans the UTF-8 bytes in place without allocating, and folds a copy only
/// for a text holding a byte that can begin a fullwidth form or a dash (never in Hangul).
public enum ResidentNumberDetector {
    /// Whether `text` contains something shaped like a 주민등록번호.
    public static func containsResidentNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            if scan(bytes) { return true }
            guard bytes.contains(where: { $0 == 0xE2 || $0 == 0xE3 || $0 == 0xEF }) else { return false }
            return fold(bytes).withUnsafeBufferPointer { scan($0) }
        }
    }

    /// `bytes` with fullwidth digits as ASCII digits, the Unicode dashes and minus signs as `-`,
    /// and the ideographic space as a space; every other byte as it is.
    static func fold(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count {
                let (a, b, c) = (bytes[i], bytes[i + 1], bytes[i + 2])
                var folded: UInt8? = nil
                switch (a, b) {
                case (0xEF, 0xBC) where (0x90...0x99).contains(c): folded = c - 0x90 + UInt8(ascii: "0")  // ０-９
                case (0xEF, 0xBC) where c == 0x8D: folded = UInt8(ascii: "-")                            // －
                case (0xEF, 0xB9) where c == 0xA3: folded = UInt8(ascii: "-")                            // ﹣
                case (0xE2, 0x80) where (0x90...0x95).contains(c): folded = UInt8(ascii: "-")            // ‐ ‑ ‒ – — ―
                case (0xE2, 0x88) where c == 0x92: folded = UInt8(ascii: "-")                            // −
                case (0xE2, 0x81) where c == 0x83: folded = UInt8(ascii: "-")                            // ⁃
                case (0xE3, 0x80) where c == 0x80: folded = UInt8(ascii: " ")                            // ideographic space
                default: break
                }
                if let folded {
                    out.append(folded)
                    i += 3
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    @inline(__always)
    static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\t")
    }

    /// Refuses a text holding a 주민등록번호, naming the field (never echoing the number).
    /// - Throws: ``ValidationError`` `.residentNumber`.
    public static func refuse(_ text: String, field: String) throws(ValidationError) {
        if containsResidentNumber(text) {
            throw ValidationError(.residentNumber, field: field, "text contains a 주민등록번호; it must never be stored — remove it at the source")
        }
    }

    /// What may be kept or shown of `text` (a record key, a reason naming one): the text, or a
    /// placeholder when it holds a 주민등록번호 — the number is never written anywhere.
    public static func withheld(_ text: String) -> String {
        containsResidentNumber(text) ? "(withheld: it holds a 주민등록번호)" : text
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
                // One to three separators (`900101-1234567`, `900101 - 1234567`).
                var separators = 0
                while separators < 3, j < count, isSeparator(bytes[j]) {
                    j += 1
                    separators += 1
                }
                guard separators > 0, j + 7 <= count, (0..<7).allSatisfy({ isDigit(j + $0) }), !isDigit(j + 7) else { continue }
            }
            if (1...8).contains(digit(j)) { return true }
        }
        return false
    }
}
