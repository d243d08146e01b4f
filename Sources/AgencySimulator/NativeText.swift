import Foundation
import HanaroCore

/// Text helpers for rendering native formats the way the agencies do.
enum NativeText {
    /// HTML-entity escaping, as the portals store text (`R&D` → `R&amp;D`).
    static func htmlEscaped(_ text: String) -> String { escaped(text, quotes: true) }

    /// XML character escaping for element content.
    static func xmlEscaped(_ text: String) -> String { escaped(text, quotes: false) }

    private static func escaped(_ text: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
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

    /// A JSON document from plain values (`String`, integers, `Bool`, `NSNull`, arrays and
    /// `[String: Any]`). Written by hand: Foundation's JSONSerialization bridges every value
    /// through NSDictionary/NSArray and cost most of a page's serving time in the ingest benchmark;
    /// this writer only serves the simulator's own, well-typed documents.
    static func json(_ value: Any) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(value, into: &out)
        return out
    }

    private static func write(_ value: Any, into out: inout [UInt8]) {
        switch value {
        case let string as String: writeString(string, into: &out)
        case let bool as Bool: out += Array((bool ? "true" : "false").utf8)
        case let int as Int: out += Array(String(int).utf8)
        case let int as Int64: out += Array(String(int).utf8)
        case let dictionary as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            // Keys in order, as a real server's serializer writes them (the same page, the same bytes).
            for (key, item) in dictionary.sorted(by: { $0.key < $1.key }) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, item) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default: out += Array("null".utf8)
        }
    }

    private static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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
