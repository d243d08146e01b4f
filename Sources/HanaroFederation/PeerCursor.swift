/// Where the pull of one peer's change feed stands: the peer replica's epoch, the last feed
/// sequence read, and whether a full reconciliation (echoes included) is under way.
///
/// Stored as the checkpoint of the peer's stream (`peer:<agency>`), in the same transaction as
/// the versions its page delivered. Its text form, `<epoch> <seq>[ full]` (`-` for an unknown
/// epoch), is built and parsed here only. It is also what a server sends back to a puller in
/// `Hanaro-Your-Cursor` (how far the server has read the puller's own feed).
public struct PeerCursor: Hashable, Sendable, CustomStringConvertible {
    /// The peer replica's epoch, when known (nil before the first page).
    public var epoch: String?
    /// The last sequence read; the next pull asks for what follows.
    public var seq: Int64
    /// A full reconciliation: the peer sends everything, our own echoes included, until the read
    /// reaches its head.
    public var full: Bool

    /// First contact: a full read from the beginning (a new replica wants everything, echoes of
    /// what it once sent included).
    public static let firstContact = PeerCursor(epoch: nil, seq: 0, full: true)

    public init(epoch: String?, seq: Int64, full: Bool = false) {
        self.epoch = epoch
        self.seq = seq
        self.full = full
    }

    /// Parses a stored checkpoint.
    /// - Returns: nil for text that is not a cursor.
    public init?(text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2 || (parts.count == 3 && parts[2] == "full"), let seq = Int64(parts[1]), seq >= 0 else { return nil }
        self.init(epoch: parts[0] == "-" ? nil : String(parts[0]), seq: seq, full: parts.count == 3)
    }

    /// The stored form.
    public var text: String { "\(epoch ?? "-") \(seq)" + (full ? " full" : "") }

    /// The same peer read again from its beginning, in full (a reset, a restore, an admin's
    /// full resync).
    public func restartedInFull(epoch newEpoch: String? = nil) -> PeerCursor {
        PeerCursor(epoch: newEpoch ?? epoch, seq: 0, full: true)
    }

    public var description: String { text }
}
