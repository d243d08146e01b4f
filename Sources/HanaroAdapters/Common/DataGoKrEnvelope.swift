import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
public import HanaroCore

/// The data.go.kr XML envelope (`<response><header><resultCode>..`), read with Foundation's
/// XMLParser into flat items (each `<item>`'s child elements as text).
///
/// Result codes (공공데이터포털 OpenAPI): `00` normal; `03` NODATA (an empty page, not an error);
/// `22` request limit exceeded (rate limited); `30`/`31`/`32` key not registered, expired or not
/// allowed (credentials); anything else is an envelope error. The portal's gateway answers key
/// errors with `<OpenAPI_ServiceResponse><cmmMsgHeader>...<returnReasonCode>30`.
public struct DataGoKrEnvelope: Sendable {
    public var resultCode: String
    public var resultMessage: String
    public var items: [[String: String]]
    /// The total the answer reports (nil for `NODATA`, which has none).
    public var totalCount: Int?

    /// Whether the body holds `<?` anywhere but a leading `<?xml ` declaration, or `<!DOCTYPE` or
    /// `<!ENTITY` anywhere.
    public static func holdsMarkupBeyondElements(_ body: [UInt8]) -> Bool {
        let start: Int
        if body.starts(with: Array("<?xml ".utf8)), let end = body.firstIndex(of: UInt8(ascii: ">")) { start = end + 1 } else { start = 0 }
        var index = start
        while index + 1 < body.count {
            if body[index] == UInt8(ascii: "<") {
                let next = body[index + 1]
                if next == UInt8(ascii: "?") { return true }
                if next == UInt8(ascii: "!") {
                    let word = String(decoding: body[(index + 2)..<min(body.count, index + 9)], as: UTF8.self).uppercased()
                    if word.hasPrefix("DOCTYPE") || word.hasPrefix("ENTITY") { return true }
                }
            }
            index += 1
        }
        return false
    }

    /// Whether the XML declaration names UTF-8, or no encoding at all (XML's default).
    public static func declaresUTF8(_ body: [UInt8]) -> Bool {
        guard body.starts(with: Array("<?xml".utf8)), let end = body.firstIndex(of: UInt8(ascii: ">")) else { return true }
        let declaration = String(decoding: body[..<end], as: UTF8.self).lowercased()
        guard let range = declaration.range(of: "encoding=") else { return true }
        let value = declaration[range.upperBound...].dropFirst().prefix { $0 != "\"" && $0 != "'" }
        return value == "utf-8" || value == "utf8"
    }

    /// Parses an answer and judges its result code.
    /// - Throws: ``AdapterError`` — `.schema` for a body that is not the envelope (cut short,
    ///   HTML), `.unauthorized` for key errors, `.rateLimited` for `22`, `.envelope` otherwise.
    public static func parse(_ body: [UInt8], agency: AgencyID, expectingItems: Bool = true) throws(AdapterError) -> DataGoKrEnvelope {
        // Foundation's XMLParser traps on an element name that is not valid UTF-8 (found by fuzzing:
        // `<\xFFheader>`, and the same behind a mangled encoding declaration, stopped the process).
        // data.go.kr answers in UTF-8: the body must be valid UTF-8 and declare nothing else, so that
        // libxml2 never transcodes bytes into names Foundation cannot read.
        guard String(validating: body, as: UTF8.self) != nil else {
            throw AdapterError(.schema, agency: agency, "the answer is not valid UTF-8 (\(AgencyHTTP.snippet(body))); data.go.kr answers in UTF-8")
        }
        guard Self.declaresUTF8(body) else {
            throw AdapterError(.schema, agency: agency, "the answer declares an encoding other than UTF-8 (\(AgencyHTTP.snippet(body))); data.go.kr answers in UTF-8")
        }
        // Nor does it send processing instructions, document types or entities: Foundation's
        // XMLParser crashes on a processing instruction without data (`<?x?>`, found by fuzzing),
        // and entities are how XML bombs work. The one `<?` allowed is the leading declaration.
        if Self.holdsMarkupBeyondElements(body) {
            throw AdapterError(.schema, agency: agency, "the answer holds a processing instruction, DOCTYPE or ENTITY (\(AgencyHTTP.snippet(body))); data.go.kr answers hold elements and text only")
        }
        let parser = XMLParser(data: Data(body))
        let collector = Collector()
        parser.delegate = collector
        let parsed = parser.parse()
        if collector.tooDeep {
            throw AdapterError(.schema, agency: agency, "the answer nests elements deeper than \(Self.maxDepth) levels (\(AgencyHTTP.snippet(body))); a data.go.kr answer is 5 deep (response, body, items, item, field)")
        }
        // libxml2 may report success for a document cut short: the root element must have closed.
        guard parsed, collector.closedRoot else {
            throw AdapterError(.schema, agency: agency, "the answer is not complete XML (\(AgencyHTTP.snippet(body))); it may have been cut short")
        }
        if let reason = collector.header["returnReasonCode"] {
            let message = AgencyHTTP.agencyMessage(collector.header["returnAuthMsg"] ?? collector.header["errMsg"] ?? "")
            switch reason {
            case "30", "31", "32", "33":
                throw AdapterError(.unauthorized, agency: agency, "data.go.kr refused the service key (\(reason) \(message)); check adapter.service_key")
            case "22":
                throw AdapterError(.rateLimited, agency: agency, "data.go.kr daily request limit exceeded (22 \(message))", retryAfterSeconds: 3600)
            default:
                throw AdapterError(.envelope, agency: agency, "data.go.kr gateway error \(reason) \(message)")
            }
        }
        guard let code = collector.header["resultCode"] else {
            throw AdapterError(.schema, agency: agency, "the answer has no <resultCode> (\(AgencyHTTP.snippet(body))); is adapter.base_url the agency's OpenAPI?")
        }
        let message = collector.header["resultMsg"] ?? ""
        let shown = AgencyHTTP.agencyMessage(message)
        switch code {
        case "00", "0", "0000": break
        case "03", "3":
            // NODATA: the end of the list (or an empty one), not an error.
            return DataGoKrEnvelope(resultCode: code, resultMessage: message, items: [], totalCount: nil)
        case "22":
            throw AdapterError(.rateLimited, agency: agency, "request limit exceeded (22 \(shown))", retryAfterSeconds: 60)
        case "30", "31", "32", "33":
            throw AdapterError(.unauthorized, agency: agency, "the service key was refused (\(code) \(shown)); check adapter.service_key")
        default:
            throw AdapterError(.envelope, agency: agency, "the answer carries error \(code) \(shown)")
        }
        if !expectingItems { return DataGoKrEnvelope(resultCode: code, resultMessage: message, items: [], totalCount: 0) }
        return DataGoKrEnvelope(resultCode: code, resultMessage: message, items: collector.items,
                                totalCount: collector.body["totalCount"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    }

    /// A quarantined `<item>` element read back.
    /// - Throws: `.malformed` when it is not one.
    static func quarantinedItem(_ raw: [UInt8], agency: AgencyID) throws(ValidationError) -> [String: String] {
        let envelope = "<response><header><resultCode>00</resultCode></header><body><items>" + String(decoding: raw, as: UTF8.self) + "</items><totalCount>1</totalCount></body></response>"
        guard let item = (try? parse(Array(envelope.utf8), agency: agency))?.items.first else {
            throw ValidationError(.malformed, "the quarantined payload is not an XML <item>")
        }
        return item
    }

    /// An item as XML again (its raw payload for quarantine), fields in name order.
    static func raw(_ item: [String: String]) -> [UInt8] {
        var text = "<item>"
        for key in item.keys.sorted() {
            let value = item[key]!.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            text += "<\(key)>\(value)</\(key)>"
        }
        return Array((text + "</item>").utf8)
    }

    /// The deepest nesting an answer may have. A data.go.kr answer is 5 deep; an answer nested
    /// far deeper is not one, and is refused before it costs more than this many levels.
    public static let maxDepth = 64

    /// Reads the envelope as the parser goes, in constant time per event: the open elements are a
    /// stack whose top two are looked at, and whether a header is open is a count, so an answer
    /// of any shape costs time in proportion to its length (an outside review's answer nested
    /// 100,000 deep took minutes when each end tag searched the whole path).
    private final class Collector: NSObject, XMLParserDelegate {
        var header: [String: String] = [:]
        var body: [String: String] = [:]
        var items: [[String: String]] = []
        var path: [String] = []
        /// How many of the open elements are a `<header>` or `<cmmMsgHeader>`.
        var openHeaders = 0
        var currentItem: [String: String]?
        var text = ""
        /// Whether the root element closed (the document is whole).
        var closedRoot = false
        /// Whether the answer nested deeper than ``DataGoKrEnvelope/maxDepth`` (parsing stopped).
        var tooDeep = false

        static func isHeader(_ name: String) -> Bool { name == "header" || name == "cmmMsgHeader" }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            guard path.count < DataGoKrEnvelope.maxDepth else {
                tooDeep = true
                parser.abortParsing()
                return
            }
            path.append(name)
            if Self.isHeader(name) { openHeaders += 1 }
            text = ""
            if name == "item", path.count >= 2, path[path.count - 2] == "items" { currentItem = [:] }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        /// `<![CDATA[…]]>` is text too: 기업마당 wraps `pblancNm` in it. The body was checked to
        /// be UTF-8 before parsing.
        func parser(_ parser: XMLParser, foundCDATA block: Data) { text += String(decoding: block, as: UTF8.self) }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard !tooDeep, !path.isEmpty else { return }
            defer {
                if Self.isHeader(path.removeLast()) { openHeaders -= 1 }
                text = ""
            }
            if path.count == 1 { closedRoot = true }
            let parent = path.count >= 2 ? path[path.count - 2] : nil
            if name == "item", currentItem != nil, parent == "items" {
                items.append(currentItem!)
                currentItem = nil
                return
            }
            if currentItem != nil, parent == "item" {
                currentItem![name] = text
            } else if openHeaders > 0 {
                header[name] = text
            } else if parent == "body" {
                body[name] = text
            }
        }
    }
}
