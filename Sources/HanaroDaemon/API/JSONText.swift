/// JSON written straight into bytes, for the Agency API's most frequent answer: a page of
/// programs (`GET /v1/programs`, search and list).
///
/// Written by hand because Foundation's `JSONEncoder` (with the API's snake_case keys and sorted
/// keys) took more of a search's CPU than the search itself: in `perf record` of a node answering
/// 200 searches a second over 100,000 programs (`ops/bench/search-load.sh`), `JSONEncoder.encode`
/// of the 20 summaries was 14.5 % of the process against 10.6 % for the FTS5 query, ranking and
/// reading of the records. It converts every key to snake case and sorts every object's keys, per
/// object, through boxed generic containers. No library in this project's reach writes JSON
/// without `Codable` (Hummingbird and NIO use Foundation's encoder too). The output is the same
/// text as `APIWire.encoder` gives for the same view — keys in sorted order, snake case, slashes
/// unescaped, the same escapes — and `APIViewTests.programPageJSON` checks it byte for byte
/// against `APIWire.encoder` over random programs, odd strings included.
struct JSONText {
    private(set) var bytes: [UInt8] = []
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    init(capacity: Int = 4_096) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `"key":` — the caller writes keys in sorted order, as `APIWire.encoder` does.
    mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A string with Foundation's escapes: `"` and `\`, the named control characters
    /// (`\b \f \n \r \t`) and the other C0 controls as `\u00XX`; `/` and non-ASCII as they are.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start ..< index]))
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    raw("u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    mutating func int(_ value: Int64?) {
        guard let value else { return null() }
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A finite double as Foundation writes it: Swift's shortest round-trip digits, without a
    /// trailing `.0`. (Scores are finite; a non-finite one is written as null, which
    /// `JSONEncoder` would refuse to encode at all.)
    mutating func double(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }

    mutating func null() { raw("null") }

    mutating func strings(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func comma() { bytes.append(UInt8(ascii: ",")) }
}

extension ProgramSummaryView {
    /// This view's fields, in the order `APIWire.encoder` sorts their snake-case keys.
    func write(to json: inout JSONText) {
        json.raw("{")
        json.key("agency"); json.string(agency); json.comma()
        json.key("category"); json.string(category.value); json.comma()
        json.key("category_name"); json.string(categoryName.value); json.comma()
        json.key("id"); json.string(id); json.comma()
        json.key("industries"); json.strings(industries); json.comma()
        json.key("institution"); json.string(institution.value); json.comma()
        json.key("period"); json.raw("{")
        json.key("end"); json.string(period.end.value); json.comma()
        json.key("start"); json.string(period.start.value); json.comma()
        json.key("text"); json.string(period.text.value); json.raw("},")
        json.key("regions"); json.strings(regions); json.comma()
        if let score {
            json.key("score"); json.double(score.value); json.comma()
        }
        json.key("status"); json.string(status); json.comma()
        json.key("summary"); json.string(summary); json.comma()
        json.key("support_amount_krw"); json.raw("{")
        json.key("max"); json.int(supportAmountKrw.max.value); json.comma()
        json.key("min"); json.int(supportAmountKrw.min.value); json.raw("},")
        json.key("title"); json.string(title); json.comma()
        json.key("url"); json.string(url.value)
        json.raw("}")
    }
}

extension ProgramPageView {
    /// `{"items":[…],"next_cursor":…}`, as `APIWire.encoder` writes it.
    var jsonBytes: [UInt8] {
        var json = JSONText(capacity: 1_024 + 800 * items.count)
        json.raw("{")
        json.key("items"); json.raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { json.comma() }
            item.write(to: &json)
        }
        json.raw("],")
        json.key("next_cursor"); json.string(nextCursor.value)
        json.raw("}")
        return json.bytes
    }
}
