/// Where an incremental read of one agency stream stopped: the updated-at stamp and the native id
/// of the last item taken. Tie-safe: items are ordered by (updated-at, id), so many items that
/// share one second are neither skipped nor read twice.
///
/// Stored in the replica (as ``text``) in the same transaction as the records its page produced.
public struct AdapterCursor: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var updatedAt: AgencyTimestamp
    public var id: String

    /// Before every item: a first read takes everything.
    public static let beginning = AdapterCursor(updatedAt: .distantPast, id: "")

    public init(updatedAt: AgencyTimestamp, id: String) {
        self.updatedAt = updatedAt
        self.id = id
    }

    /// The stored form: `<yyyyMMddHHmmss> <id>`.
    public var text: String { "\(updatedAt.digits) \(id)" }

    /// Parses the stored form.
    /// - Throws: `.malformed` naming the cursor when the text is not a cursor (a corrupt checkpoint).
    public init(text: String) throws(ValidationError) {
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        // The beginning, stored by a read that took items without a readable stamp (the next
        // read goes through the whole list again).
        if parts.count == 2, parts[0] == Substring(AgencyTimestamp.distantPast.digits), parts[1].isEmpty {
            self = .beginning
            return
        }
        guard parts.count == 2, parts[0].count == 14, let stamp = AgencyTimestamp(parsing: String(parts[0])) else {
            throw ValidationError(.malformed, field: "cursor", "stored adapter cursor \"\(text.prefix(40))\" is not `<yyyyMMddHHmmss> <id>`")
        }
        self.init(updatedAt: stamp, id: String(parts[1]))
    }

    public var description: String { updatedAt == .distantPast && id.isEmpty ? "beginning" : "\(updatedAt.dashed)/\(id)" }

    public static func < (lhs: AdapterCursor, rhs: AdapterCursor) -> Bool {
        lhs.updatedAt != rhs.updatedAt ? lhs.updatedAt < rhs.updatedAt : idPrecedes(lhs.id, rhs.id)
    }

    /// The order of native ids within one second: numeric ids (`pbancSn`) by value, others by bytes.
    public static func idPrecedes(_ a: String, _ b: String) -> Bool {
        let numeric = !a.isEmpty && !b.isEmpty && a.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } && b.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        if numeric, a.utf8.count != b.utf8.count { return a.utf8.count < b.utf8.count }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
