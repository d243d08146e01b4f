import Foundation

/// Korean-aware search text for SQLite FTS5.
///
/// FTS5's `unicode61` tokenizer splits on spaces and punctuation, so `창업` would never match
/// inside `예비창업자` (one token), and `소상공인 정책자금` would not match `소상공인정책자금`. The
/// store therefore indexes a second form of the text: every run of Hangul syllables becomes its
/// overlapping two-syllable grams (`예비 비창 창업 업자`) followed by its last syllable alone, with
/// runs joined across spaces (spacing in Korean is inconsistent); other words (Latin, digits) are
/// kept whole. A query term becomes the phrase of its grams, so `창업` matches any text holding the
/// two syllables in a row, and a one-syllable term is a prefix query on the grams. Text is NFC at
/// index and query time (a decomposed 창업 from a Mac clipboard is the same word), and fullwidth
/// letters and digits are their ASCII forms (`Ｒ＆Ｄ` is `R&D`).
///
/// Written here because no library does Hangul n-grams for FTS5 (SQLite's `trigram` tokenizer
/// needs three characters and SQLite 3.40 cannot load ICU or mecab-ko tokenizers from GRDB).
enum SearchText {
    /// The longest query accepted, in characters, and the most terms in it.
    static let maxQueryLength = 200
    static let maxTerms = 10

    static func isHangulSyllable(_ scalar: Unicode.Scalar) -> Bool {
        (0xAC00...0xD7A3).contains(scalar.value)
    }

    /// The gram form of a text, for the index. Runs in every apply transaction that stores a
    /// program, so it works on scalars into one UTF-8 buffer (no per-token Strings) and skips
    /// Foundation's NFC for text that is NFC already (as nearly all Korean text is).
    static func grams(_ text: String) -> String {
        let source = needsNormalization(text) ? text.precomposedStringWithCanonicalMapping : text
        var out: [UInt8] = []
        out.reserveCapacity(source.utf8.count * 2 + 16)
        var previous: Unicode.Scalar?
        var inWord = false
        func separate() { if let last = out.last, last != 0x20 { out.append(0x20) } }
        func append(_ scalar: Unicode.Scalar) {
            var value = scalar.value
            // Fullwidth forms (`Ｒ＆Ｄ`, `ＩＴ`, `２０２６`, common in Korean documents) as ASCII, so
            // they find and are found by the same words typed narrow (NFKC's folding for them).
            if value >= 0xFF01 && value <= 0xFF5E { value -= 0xFEE0 }
            if value < 0x80 {
                if value >= 0x41 && value <= 0x5A { value += 0x20 }  // ASCII lower case (unicode61 folds the rest)
                out.append(UInt8(value))
            } else {
                out.append(contentsOf: UTF8.encode(scalar)!)
            }
        }
        func endRun() {
            guard let last = previous else { return }
            separate()
            append(last)
            previous = nil
        }
        for scalar in source.unicodeScalars {
            if isHangulSyllable(scalar) {
                inWord = false
                if let last = previous {
                    separate()
                    append(last)
                    append(scalar)
                }
                previous = scalar
            } else if isSpace(scalar) {
                // A space ends a word but not a Hangul run: `소상공인 정책자금` = `소상공인정책자금`.
                inWord = false
            } else if isWordScalar(scalar) {
                endRun()
                if !inWord {
                    separate()
                    inWord = true
                }
                append(scalar)
            } else {
                endRun()
                inWord = false
            }
        }
        endRun()
        return String(decoding: out, as: UTF8.self)
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D || value == 0x0B || value == 0x0C }
        return scalar.properties.isWhitespace
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return (value >= 0x30 && value <= 0x39) || (value | 0x20 >= 0x61 && value | 0x20 <= 0x7A) }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// Whether NFC could change the text: it holds a scalar beyond ASCII and Latin-1 that is not
    /// a precomposed Hangul syllable, a CJK ideograph or common punctuation (conjoining jamo,
    /// combining marks and the like).
    static func needsNormalization(_ text: String) -> Bool {
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x300 || (0xAC00...0xD7A3).contains(value) || (0x4E00...0x9FFF).contains(value)
                || (0x2000...0x206F).contains(value) || (0x3000...0x303F).contains(value) || (0xFF01...0xFF5E).contains(value) {
                continue
            }
            return true
        }
        return false
    }

    /// The FTS5 MATCH expression for a user's query: each whitespace-separated term must match
    /// (AND); nil when the query holds nothing searchable.
    static func matchExpression(_ query: String) -> String? {
        matchPhrases(query).map { $0.joined(separator: " AND ") }
    }

    /// The query's terms as FTS5 phrases, in order (phrase `i` of the MATCH expression is
    /// element `i`); nil when the query holds nothing searchable.
    static func matchPhrases(_ query: String) -> [String]? {
        var terms: [String] = []
        for term in query.precomposedStringWithCanonicalMapping.split(whereSeparator: { $0.isWhitespace }).prefix(maxTerms) {
            let tokens = grams(String(term)).split(separator: " ").map(String.init)
            guard !tokens.isEmpty else { continue }
            // Tokens hold only letters and digits (see `grams`), so quoting needs no escapes.
            if tokens.count == 1 {
                // One syllable or one word: a prefix, so `창` finds 창업 and `sm` finds SME.
                terms.append("\"\(tokens[0])\"*")
            } else {
                // A term's grams in a row, without its final single syllable (which the text
                // would hold only where the term ends a run). Words mixed in (`IT창업`) go as a
                // phrase too.
                var phrase = tokens
                if let last = phrase.last, last.unicodeScalars.count == 1, let scalar = last.unicodeScalars.first, isHangulSyllable(scalar) {
                    phrase.removeLast()
                }
                terms.append("\"\(phrase.joined(separator: " "))\"")
            }
        }
        return terms.isEmpty ? nil : terms
    }
}
