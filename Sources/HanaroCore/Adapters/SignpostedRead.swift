/// The paging logic of a signposted, tie-safe incremental read over an offset-paged API, as a pure
/// state machine: it says which page to fetch next and which items of an answer to take; the
/// adapter does the IO.
///
/// Every agency API pages by position (`startRow`, `pageNo`, `page`) over a window filtered by
/// updated-at and sorted by (updated-at, id). Positions shift when a record leaves the window
/// while we page (it changed, so its updated-at moved past the signpost), which would skip the
/// item that slides into the page we already read. The window's upper bound is the signpost, so
/// nothing ever *enters* it mid-read; a record that leaves shows as a smaller total count. When the
/// total changes, or a page is not strictly after the previous one (a duplicated or reordered page),
/// the read starts again from the last item taken — never from an earlier position — so nothing
/// is skipped and nothing is taken twice.
public struct SignpostedRead: Sendable {
    /// The page to fetch: items with `since <= updated-at < until`, sorted by (updated-at, id),
    /// `limit` of them from `offset`.
    public struct Request: Sendable, Hashable {
        public var since: AgencyTimestamp
        public var until: AgencyTimestamp
        public var offset: Int
        public var limit: Int
        /// 1-based page number, for APIs that page by number (`offset` is always a multiple of `limit`).
        public var pageNumber: Int { offset / limit + 1 }
    }

    /// The signpost: only items updated strictly before it are taken.
    public let signpost: AgencyTimestamp
    /// Items per page; lowered to what the agency actually serves when it caps the page size.
    public private(set) var pageSize: Int
    /// The last item taken (or the starting cursor).
    public private(set) var cursor: AdapterCursor
    public private(set) var pages = 0
    public private(set) var restarts = 0
    public private(set) var isFinished = false
    private var since: AgencyTimestamp
    private var offset = 0
    private var total: Int?
    private var lastSeen: AdapterCursor?

    public init(cursor: AdapterCursor, signpost: AgencyTimestamp, pageSize: Int) {
        self.cursor = cursor
        self.signpost = signpost
        self.pageSize = pageSize
        self.since = cursor.updatedAt
    }

    /// The next page to fetch, or nil when the read is complete.
    public var nextRequest: Request? {
        isFinished ? nil : Request(since: since, until: signpost, offset: offset, limit: pageSize)
    }

    /// Takes an answer to ``nextRequest``: the positions of its items, in the order served, and the
    /// total count of the window the agency reported.
    /// - Returns: the indices of the items to take (those after the cursor and before the
    ///   signpost), or nil when the page was set aside and the read starts again from ``cursor``.
    public mutating func receive(positions: [AdapterCursor], total newTotal: Int) -> [Int]? {
        pages += 1
        var previous = lastSeen
        var shifted = total.map { $0 != newTotal } ?? false
        for position in positions where !shifted {
            if let previous, !(previous < position) { shifted = true }
            previous = position
        }
        if shifted {
            restarts += 1
            since = cursor.updatedAt
            offset = 0
            total = nil
            lastSeen = nil
            return nil
        }
        total = newTotal
        lastSeen = positions.last ?? lastSeen
        var taken: [Int] = []
        var reachedSignpost = false
        for (index, position) in positions.enumerated() {
            if position.updatedAt >= signpost { reachedSignpost = true; break }
            if cursor < position {
                taken.append(index)
                cursor = position
            }
        }
        offset += positions.count
        if reachedSignpost || positions.isEmpty || offset >= newTotal {
            isFinished = true
        } else if positions.count < pageSize {
            // The agency serves fewer items per page than asked (a capped `numOfRows`): page
            // numbers would no longer line up, so continue from the last item taken with its size.
            pageSize = positions.count
            since = cursor.updatedAt
            offset = 0
            total = nil
            lastSeen = nil
        }
        return taken
    }
}
