import Foundation
public import HanaroCore

/// JSON answers through Foundation's JSONSerialization: the agencies' JSON is loosely typed
/// (numbers as strings, nulls, missing keys), so items are read as dictionaries and each field
/// is taken as text.
enum JSONItems {
    /// Parses a JSON object.
    ///
    /// An answer that Foundation refuses only because some string in it holds bytes that are not
    /// UTF-8 or a lone UTF-16 surrogate escape (`\ud800`) is read again with U+FFFD in their
    /// place, and every object holding such a string — the item, and the objects around it — is
    /// marked with ``unreadableKey``: the adapter quarantines that item and reads the rest of the
    /// page, where one bad item used to fail the whole read.
    /// - Throws: `.schema` when the body is not a JSON object, saying what it is instead (empty,
    ///   HTML, unfinished, not UTF-8, invalid).
    static func object(_ body: [UInt8], agency: AgencyID) throws(AdapterError) -> [String: Any] {
        if let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] { return object }
        if let repaired = repaired(body),
           let object = (try? JSONSerialization.jsonObject(with: Data(repaired))) as? [String: Any] {
            return marked(object).value as? [String: Any] ?? object
        }
        throw AdapterError(.schema, agency: agency, failure(body))
    }

    /// The key that marks an object holding text that was not readable as sent; its value says why.
    static let unreadableKey = "_hanaro_unreadable"
    static let unreadableReason = "the item holds bytes that are not UTF-8 or a lone UTF-16 surrogate escape (read as U+FFFD); the rest of the page was read"

    /// Why a body is not a JSON object, as it is: the message used to say "it may have been cut
    /// short" of every body, whole ones included.
    static func failure(_ body: [UInt8]) -> String {
        let snippet = AgencyHTTP.snippet(body)
        guard let first = body.first(where: { $0 > 0x20 }) else { return "the answer is empty; expected a JSON object" }
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return "the answer is not JSON (\(snippet)); expected a JSON object — is adapter.base_url the agency's API?" }
        var depth = 0, inString = false, escaped = false
        for byte in body {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
            }
        }
        if depth > 0 || inString {
            return "the answer's JSON ends unfinished (\(snippet)): it was cut short by the agency or a proxy"
        }
        if let offset = invalidUTF8Offset(body) {
            return "the answer is not valid UTF-8 (the first bad byte at offset \(offset) of \(body.count)), and it cannot be read around it; the agency's JSON must be UTF-8"
        }
        if first == UInt8(ascii: "[") { return "the answer is a JSON array (\(snippet)); expected a JSON object" }
        return "the answer is whole but not valid JSON (\(snippet)); the agency sent malformed JSON"
    }

    /// The byte offset of the first byte that is not part of valid UTF-8, or nil.
    static func invalidUTF8Offset(_ body: [UInt8]) -> Int? {
        var iterator = body.makeIterator(), decoder = UTF8(), offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// The body with invalid UTF-8 and lone surrogate escapes replaced by U+FFFD, or nil when it
    /// holds neither (nothing to repair: it is broken some other way).
    static func repaired(_ body: [UInt8]) -> [UInt8]? {
        var changed = invalidUTF8Offset(body) != nil
        let bytes = changed ? Array(String(decoding: body, as: UTF8.self).utf8) : body
        func hex(_ at: Int) -> Int? {
            guard at + 4 <= bytes.count else { return nil }
            return Int(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16)
        }
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), u = UInt8(ascii: "u")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0, inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                inString.toggle()
            } else if inString, byte == backslash, index + 1 < bytes.count {
                if bytes[index + 1] == u, let unit = hex(index + 2), (0xD800...0xDFFF).contains(unit) {
                    if unit <= 0xDBFF, index + 7 < bytes.count, bytes[index + 6] == backslash, bytes[index + 7] == u,
                       let low = hex(index + 8), (0xDC00...0xDFFF).contains(low) {
                        out += bytes[index..<(index + 12)]
                        index += 12
                    } else {
                        out += Array("\\ufffd".utf8)
                        index += 6
                        changed = true
                    }
                    continue
                }
                out += bytes[index..<(index + 2)]
                index += 2
                continue
            }
            out.append(byte)
            index += 1
        }
        return changed ? out : nil
    }

    /// A parsed value with every object that holds U+FFFD text, directly or below, marked.
    private static func marked(_ value: Any) -> (value: Any, unreadable: Bool) {
        switch value {
        case let string as String:
            return (string, string.contains("\u{FFFD}"))
        case let array as [Any]:
            var any = false
            let elements = array.map { element in
                let (value, unreadable) = marked(element)
                any = any || unreadable
                return value
            }
            return (elements, any)
        case let object as [String: Any]:
            var any = false
            var out: [String: Any] = [:]
            for (key, element) in object {
                let (value, unreadable) = marked(element)
                any = any || unreadable || key.contains("\u{FFFD}")
                out[key] = value
            }
            if any { out[unreadableKey] = unreadableReason }
            return (out, any)
        default:
            return (value, false)
        }
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
