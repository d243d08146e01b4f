public import HanaroCore

/// Who delivered a write, and whose checkpoint it advances: a peer's change feed, an agency's
/// native API, an admin, this node itself. The one place where stream names are spelled.
///
/// The store keeps the name as text (checkpoints, quarantine rows, `record.echo_of`); the change
/// feed suppresses echoes by comparing a record's `echo_of` with ``peer(_:)`` of the reader, so
/// the writer and the reader of that column must agree — hence this type.
public struct StreamID: Hashable, Sendable, CustomStringConvertible {
    /// One stream of an adapter, each with its own checkpoint.
    public enum AdapterStream: String, Sendable, Hashable, CaseIterable {
        /// The agency's program list (an adapter cursor).
        case programs
        /// The agency's referral-event feed, where one is configured (an adapter cursor).
        case referrals
        /// Deliveries to the agency's intake (a change-feed sequence).
        case outbound
        /// Membership of the last complete snapshot of the program list (snapshot-mode agencies).
        case snapshot
    }

    /// What the stream is.
    public enum Kind: Hashable, Sendable {
        /// A peer node's change feed: `peer:<agency>`.
        case peer(AgencyID)
        /// An agency's native API, as the source of the edits an adapter records: `adapter:<agency>`.
        case adapter(AgencyID)
        /// One checkpointed stream of an adapter: `adapter:<agency>:<stream>`.
        case adapterStream(AgencyID, AdapterStream)
        /// An edit made on this node by its own agency: `local`.
        case local
        /// An admin's action (a conflict resolution): `admin:<actor>`.
        case admin(String)
        /// The status port's write probe: `status:write-probe`.
        case writeProbe
        /// A tool's own stream (benchmarks, the crash-test child): `tool:<name>`.
        case tool(String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public static func peer(_ agency: AgencyID) -> StreamID { StreamID(.peer(agency)) }
    public static func adapter(_ agency: AgencyID) -> StreamID { StreamID(.adapter(agency)) }
    public static func adapter(_ agency: AgencyID, _ stream: AdapterStream) -> StreamID { StreamID(.adapterStream(agency, stream)) }
    public static let local = StreamID(.local)
    public static let writeProbe = StreamID(.writeProbe)
    public static func admin(_ actor: String) -> StreamID { StreamID(.admin(actor)) }
    public static func tool(_ name: String) -> StreamID { StreamID(.tool(name)) }

    /// The stored name.
    public var rawValue: String {
        switch kind {
        case .peer(let agency): "peer:\(agency.rawValue)"
        case .adapter(let agency): "adapter:\(agency.rawValue)"
        case .adapterStream(let agency, let stream): "adapter:\(agency.rawValue):\(stream.rawValue)"
        case .local: "local"
        case .admin(let actor): "admin:\(actor)"
        case .writeProbe: "status:write-probe"
        case .tool(let name): "tool:\(name)"
        }
    }

    /// Parses a stored name; nil for text no version of Hanaro wrote.
    public init?(rawValue: String) {
        let parts = rawValue.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("peer", 2):
            guard let agency = AgencyID(rawValue: parts[1]) else { return nil }
            self.init(.peer(agency))
        case ("adapter", 2):
            guard let agency = AgencyID(rawValue: parts[1]) else { return nil }
            self.init(.adapter(agency))
        case ("adapter", 3):
            guard let agency = AgencyID(rawValue: parts[1]), let stream = AdapterStream(rawValue: parts[2]) else { return nil }
            self.init(.adapterStream(agency, stream))
        case ("local", 1):
            self.init(.local)
        case ("admin", _) where parts.count >= 2:
            self.init(.admin(String(rawValue.dropFirst("admin:".count))))
        case ("status", 2) where parts[1] == "write-probe":
            self.init(.writeProbe)
        case ("tool", _) where parts.count >= 2:
            self.init(.tool(String(rawValue.dropFirst("tool:".count))))
        default:
            return nil
        }
    }

    /// The peer whose feed this is, for a `peer:` stream.
    public var peer: AgencyID? {
        if case .peer(let agency) = kind { return agency }
        return nil
    }

    /// The agency whose native API this stream reads, for the adapter's streams.
    public var adapterAgency: AgencyID? {
        switch kind {
        case .adapter(let agency), .adapterStream(let agency, _): agency
        default: nil
        }
    }

    /// Whether this is a peer's change feed (restore recovery restarts all of them).
    public var isPeer: Bool { peer != nil }

    public var description: String { rawValue }
}
