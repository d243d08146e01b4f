import Foundation
import Hummingbird

/// A request's query string read as HTML forms and the clients of government APIs write it
/// (`application/x-www-form-urlencoded`, WHATWG URL standard): `+` is a space, then `%XX` escapes
/// are decoded, in names and values alike.
///
/// Hummingbird's `uri.queryParameters` percent-decodes values only and keeps `+`, so
/// `q=청년+창업` — what Python's `urlencode`, `requests`, `httpx` and HTML forms send — searched
/// for the text `청년+창업` and found nothing. Malformed escapes are refused (400) instead of
/// being read as they stand.
struct FormQuery {
    private var pairs: [(name: String, value: String)] = []

    init(_ request: Request) throws(Problem) {
        guard let query = request.uri.query, !query.isEmpty else { return }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: "=")
            let rawName = equals.map { part[..<$0] } ?? part[...]
            let rawValue = equals.map { part[part.index(after: $0)...] } ?? ""
            guard let name = Self.decode(rawName) else {
                throw Problem.badRequest("a query parameter's name is not valid percent-encoded UTF-8")
            }
            guard let value = Self.decode(rawValue) else {
                throw Problem.badRequest("\(name) is not valid percent-encoded UTF-8 (encode the text as UTF-8, each byte as %XX or as it stands; a space as + or %20)", field: name)
            }
            pairs.append((name, value))
        }
    }

    /// The first value given for `name` (as Hummingbird's `get`), nil when absent or empty: a
    /// form or a data.go.kr-style client sends every field, the unset ones empty
    /// (`?q=&region=&ksic=`), and an empty filter means no filter.
    func get(_ name: String) -> String? {
        guard let value = pairs.first(where: { $0.name == name })?.value, !value.isEmpty else { return nil }
        return value
    }

    static func decode(_ text: Substring) -> String? {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        guard spaced.contains("%") else { return spaced }
        return spaced.removingPercentEncoding
    }
}
