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

    /// The item as JSON bytes (its raw payload for quarantine). Keys unsorted: `.sortedKeys` compares
    /// with the locale and cost more than the whole mapping.
    static func raw(_ item: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: item)) ?? Data())
    }

    /// An integer field, or nil.
    static func int(_ item: [String: Any], _ key: String) -> Int64? {
        text(item, key).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }
}
