import Synchronization

/// What the pages of an agency's last complete snapshot looked like, so that reading the same,
/// unchanged list again costs a fetch and a hash per page — not a parse, a mapping and a compare
/// per item. A snapshot agency (no per-item stamp) is read whole on every poll; nearly always
/// nothing changed.
///
/// A page is remembered by its request and the SHA-256 of its body, with the ids it served, only
/// when every item on it was good (an id, and mapped and stored without a refusal): a page with
/// a bad item is read in full every time, so its quarantine row counts each attempt. The memo
/// is valid only while this agency's programs in the replica are as the read that made it left
/// them: the caller names that state with a token (``begin(token:full:)``), and any other token
/// — a peer's version, an admin's edit, a restored file — forgets every page. Pages noted during
/// a read take effect only when the read completes (``commit(token:)``); a failed or partial read
/// forgets them all (``abandon()``).
public final class SnapshotPageMemo: Sendable {
    /// One remembered page.
    public struct Page: Sendable, Hashable {
        public var digest: [UInt8]
        public var served: [ListRead.Served]
        public var total: Int?

        public init(digest: [UInt8], served: [ListRead.Served], total: Int?) {
            self.digest = digest
            self.served = served
            self.total = total
        }
    }

    private struct State {
        var token: String?
        var pages: [String: Page] = [:]
        var reading: [String: Page] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Starts a read: with `full` (a resync) or a token other than the last commit's, every
    /// page is forgotten.
    public func begin(token: String, full: Bool) {
        state.withLock { state in
            if full || state.token != token {
                state.pages = [:]
                state.token = nil
            }
            state.reading = [:]
        }
    }

    /// The page remembered for `request` if its body hashes to `digest`.
    public func page(for request: String, digest: [UInt8]) -> Page? {
        state.withLock { state in state.pages[request].flatMap { $0.digest == digest ? $0 : nil } }
    }

    /// Notes a page read (or reused) whole and good in the current read.
    public func note(_ page: Page, for request: String) {
        state.withLock { $0.reading[request] = page }
    }

    /// Forgets a page noted in the current read (the store refused one of its items).
    public func forget(_ request: String) {
        state.withLock { _ = $0.reading.removeValue(forKey: request) }
    }

    /// The read completed, and this agency's programs are now in the state `token` names: the
    /// pages noted in it are what a next read may skip.
    public func commit(token: String) {
        state.withLock { state in
            state.pages = state.reading
            state.reading = [:]
            state.token = token
        }
    }

    /// The read failed or stopped short: nothing is remembered.
    public func abandon() {
        state.withLock { state in
            state = State()
        }
    }
}
