import Foundation
import HanaroCore

/// Text helpers for rendering native formats the way the agencies do.
enum NativeText {
    /// HTML-entity escaping, as the portals store text (`R&D` → `R&amp;D`).
    static func htmlEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// XML character escaping for element content.
    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `<name>value</name>`, or `<name/>` for nil (the data.go.kr way of writing a null).
    static func element(_ name: String, _ value: String?) -> String {
        guard let value else { return "<\(name)/>" }
        return "<\(name)>\(xmlEscaped(value))</\(name)>"
    }

    /// A JSON document from plain values (`NSNull` for null), keys sorted for stable output.
    static func json(_ value: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    static func yyyymmdd(_ date: LocalDate?) -> String? {
        date.map { String(format: "%04d%02d%02d", $0.year, $0.month, $0.day) }
    }

    static func dashed(_ date: LocalDate?) -> String? { date?.description }

    static func dotted(_ date: LocalDate?) -> String? {
        date.map { String(format: "%04d.%02d.%02d", $0.year, $0.month, $0.day) }
    }

    /// `Int` or `NSNull`, for JSON.
    static func number<T: BinaryInteger>(_ value: T?) -> Any { value.map { Int64($0) } as Any? ?? NSNull() }

    /// `12.5` from basis points.
    static func percent(_ basisPoints: Int64) -> String {
        basisPoints % 100 == 0 ? String(basisPoints / 100) + ".0" : String(format: "%.2f", Double(basisPoints) / 100).replacingOccurrences(of: #"0$"#, with: "", options: .regularExpression)
    }

    /// The query parameters of a request.
    static func query(_ uri: String) -> [String: String] {
        guard let components = URLComponents(string: uri), let items = components.queryItems else { return [:] }
        var out: [String: String] = [:]
        for item in items { out[item.name] = item.value ?? "" }
        return out
    }
}
