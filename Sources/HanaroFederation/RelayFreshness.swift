public import HanaroCore
public import Foundation

/// A node's own view of how fresh each agency is, as it tells the nodes that pull from it (header
/// `Hanaro-Freshness: semas=fresh@1764550000,kamco=stale@1764540000`): a node that hears of an
/// agency only through a relay reports that agency as fresh as the relay's view of it.
public struct RelayFreshness: Sendable, Hashable {
    /// One agency as the relay sees it: its state name and the point up to which it is known.
    public struct View: Sendable, Hashable {
        public var state: String
        public var asOf: Date?

        public init(state: String, asOf: Date?) {
            self.state = state
            self.asOf = asOf
        }
    }

    public var agencies: [AgencyID: View]

    public init(_ agencies: [AgencyID: View] = [:]) { self.agencies = agencies }

    /// The header's value.
    public var headerValue: String {
        agencies.sorted { $0.key < $1.key }.map { agency, view in
            "\(agency.rawValue)=\(view.state)@\(view.asOf.map { String(Int64($0.timeIntervalSince1970)) } ?? "-")"
        }.joined(separator: ",")
    }

    /// Parses a header value; unknown agencies and malformed parts are left out (it is advice).
    public init(header: String) {
        var agencies: [AgencyID: View] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let agency = AgencyID(rawValue: pair[0].trimmingCharacters(in: .whitespaces)) else { continue }
            let value = pair[1].split(separator: "@", maxSplits: 1)
            guard let state = value.first, state.allSatisfy({ $0.isLetter }), state.count <= 16 else { continue }
            let asOf = value.count == 2 ? Double(value[1]).map { Date(timeIntervalSince1970: $0) } : nil
            agencies[agency] = View(state: String(state), asOf: asOf)
        }
        self.agencies = agencies
    }
}
