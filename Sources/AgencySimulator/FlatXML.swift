import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the child elements of one flat XML element (`<rfrl><rfrlId>..</rfrlId>...</rfrl>`) into
/// a dictionary, with Foundation's XMLParser.
enum FlatXML {
    static func fields(of bytes: [UInt8], element: String) -> [String: String]? {
        let parser = XMLParser(data: Data(bytes))
        let collector = Collector(element: element)
        parser.delegate = collector
        guard parser.parse(), collector.found else { return nil }
        return collector.fields
    }

    private final class Collector: NSObject, XMLParserDelegate {
        let element: String
        var fields: [String: String] = [:]
        var found = false
        var inside = false
        var current: String?
        var text = ""

        init(element: String) { self.element = element }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if name == element { inside = true; found = true; return }
            if inside { current = name; text = "" }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { if current != nil { text += string } }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == element { inside = false; return }
            if let current, current == name { fields[current] = text; self.current = nil }
        }
    }
}
