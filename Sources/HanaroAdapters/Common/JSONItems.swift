import Foundation
public import HanaroCore

/// JSON answers through Foundation's JSONSerialization: the agencies' JSON is loosely typed
/// (numbers as strings, nulls, missing keys), so items are read as dictionaries and each field
/// is taken as text.
enum JSONItems {
    /// Parses a JSON object.
    /// - Throws: `.schema` when the body is not a JSON object (cut short, HTML error page...).
    static func object(_ body: [UInt8], agency: AgencyID) throws(AdapterError) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw AdapterError(.schema, agency: agency, "the answer is not a complete JSON object (\(AgencyHTTP.snippet(body))); it may have been cut short")
        }
        return object
    }

    /// A field as text: strings as they are, numbers in decimal, null and absent as nil.
    static func text(_ item: [String: Any], _ key: String) -> String? {
        switch item[key] {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    /// The item as canonical JSON bytes (its raw payload for quarantine, and the input of its
    /// fingerprint): keys sorted by their UTF-8 bytes at every level, no spaces, numbers as the
    /// agency sent them — the same bytes whatever key order or whitespace the agency served, so a
    /// bad item served again is recognised. Written by hand: Foundation's `.sortedKeys` compares
    /// keys with the locale, which is neither byte order nor cheap.
    static func canonical(_ item: [String: Any]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(item, into: &out)
        return out
    }

    private static func write(_ value: Any, into out: inout [UInt8]) {
        switch value {
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(object[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let string as String:
            writeString(string, into: &out)
        case let number as NSNumber:
            // JSON booleans arrive as NSNumber too, of the boolean subclass (`__NSCFBoolean`).
            if String(describing: type(of: number)).contains("Boolean") {
                out += Array((number.boolValue ? "true" : "false").utf8)
            } else {
                out += Array(number.stringValue.utf8)
            }
        default:
            out += Array("null".utf8)
        }
    }

    private static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// An integer field, or nil.
    static func int(_ item: [String: Any], _ key: String) -> Int64? {
        text(item, key).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }
}
