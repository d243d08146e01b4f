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
/// index and query time (a decomposed 창업 from a Mac clipboard is the same word).
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

    /// The gram form of a text, for the index.
    static func grams(_ text: String) -> String {
        var tokens: [String] = []
        var run: [Unicode.Scalar] = []
        var word = String.UnicodeScalarView()
        func endRun() {
            guard !run.isEmpty else { return }
            for index in 0 ..< run.count - 1 {
                var gram = String.UnicodeScalarView()
                gram.append(run[index])
                gram.append(run[index + 1])
                tokens.append(String(gram))
            }
            tokens.append(String(Character(run[run.count - 1])))
            run.removeAll(keepingCapacity: true)
        }
        func endWord() {
            guard !word.isEmpty else { return }
            tokens.append(String(word).lowercased())
            word = String.UnicodeScalarView()
        }
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if isHangulSyllable(scalar) {
                endWord()
                run.append(scalar)
            } else if scalar.properties.isWhitespace {
                // A space ends a word but not a Hangul run: `소상공인 정책자금` = `소상공인정책자금`.
                endWord()
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                endRun()
                word.append(scalar)
            } else {
                endRun()
                endWord()
            }
        }
        endRun()
        endWord()
        return tokens.joined(separator: " ")
    }

    /// The FTS5 MATCH expression for a user's query: each whitespace-separated term must match
    /// (AND); nil when the query holds nothing searchable.
    static func matchExpression(_ query: String) -> String? {
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
        return terms.isEmpty ? nil : terms.joined(separator: " AND ")
    }
}
