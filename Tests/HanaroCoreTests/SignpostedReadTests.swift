import HanaroCore
import HanaroTesting
import Testing

/// The paging logic of adapter reads, driven against an agency modelled in memory: the agency's
/// clock is a plain value the test sets, so no test waits for a second to pass.
@Suite("Signposted reads")
struct SignpostedReadTests {
    /// An offset-paged list sorted by (updated-at, id), filtered to [since, until).
    struct Agency {
        var items: [AdapterCursor]
        /// The most items it serves per page, whatever is asked.
        var cap = Int.max

        func page(_ request: SignpostedRead.Request) -> (positions: [AdapterCursor], total: Int) {
            let window = items.filter { $0.updatedAt >= request.since && $0.updatedAt < request.until }.sorted()
            let size = min(request.limit, cap)
            let start = min(request.offset, window.count)
            return (Array(window[start..<min(window.count, start + size)]), window.count)
        }
    }

    static func stamp(_ second: Int) -> AgencyTimestamp {
        AgencyTimestamp(secondsSince1970: 1_790_000_000 + Int64(second))
    }

    /// Many items sharing a few seconds (ties), numeric ids.
    static func items(_ count: Int) -> [AdapterCursor] {
        (0..<count).map { AdapterCursor(updatedAt: stamp($0 / 7), id: String(1000 - $0)) }
    }

    /// Runs a read to its end; `change` may alter the agency after each page.
    static func read(_ agency: inout Agency, from cursor: AdapterCursor = .beginning, signpost: AgencyTimestamp, pageSize: Int,
                     change: (Int, inout Agency) -> Void = { _, _ in }) -> (taken: [AdapterCursor], read: SignpostedRead) {
        var read = SignpostedRead(cursor: cursor, signpost: signpost, pageSize: pageSize)
        var taken: [AdapterCursor] = []
        var pages = 0
        while let request = read.nextRequest, pages < 1000 {
            let (positions, total) = agency.page(request)
            if let indices = read.receive(positions: positions, total: total) { taken += indices.map { positions[$0] } }
            pages += 1
            change(pages, &agency)
        }
        return (taken, read)
    }

    @Test("a read takes every item before the signpost exactly once, ties included, across pages", arguments: [1, 3, 7, 10, 50])
    func everyItemOnce(pageSize: Int) {
        var agency = Agency(items: Self.items(40))
        let (taken, read) = Self.read(&agency, signpost: Self.stamp(100), pageSize: pageSize)
        #expect(taken == agency.items.sorted())
        #expect(read.isFinished && read.restarts == 0)
        #expect(read.cursor == agency.items.max())
    }

    @Test("items at or after the signpost wait for the next read")
    func signpostBound() {
        var agency = Agency(items: Self.items(40)) // seconds 0...5
        let (taken, read) = Self.read(&agency, signpost: Self.stamp(3), pageSize: 5)
        #expect(taken == agency.items.filter { $0.updatedAt < Self.stamp(3) }.sorted())
        // The next read, from the cursor, takes the rest.
        let (rest, _) = Self.read(&agency, from: read.cursor, signpost: Self.stamp(100), pageSize: 5)
        #expect(taken + rest == agency.items.sorted())
    }

    @Test("a record that changes while paging leaves the window: the read restarts from its last item, skipping nothing")
    func recordLeavesWindow() {
        var agency = Agency(items: Self.items(30))
        let signpost = Self.stamp(50)
        let original = agency.items.sorted()
        // After the second page, an item already read and one not yet read change (stamped after the signpost).
        let (taken, read) = Self.read(&agency, signpost: signpost, pageSize: 4) { page, agency in
            guard page == 2 else { return }
            for victim in [original[1], original[20]] {
                let index = agency.items.firstIndex(of: victim)!
                agency.items[index].updatedAt = Self.stamp(60)
            }
        }
        #expect(read.restarts >= 1)
        // Everything still in the window was taken once; the changed ones come with the next read.
        #expect(Set(taken).count == taken.count)
        #expect(Set(taken).isSuperset(of: Set(original.filter { $0 != original[1] && $0 != original[20] })))
        let (next, _) = Self.read(&agency, from: read.cursor, signpost: Self.stamp(100), pageSize: 4)
        #expect(next.count == 2)
    }

    @Test("a repeated page is set aside and read again from the last item taken")
    func repeatedPage() {
        let agency = Agency(items: Self.items(20))
        var read = SignpostedRead(cursor: .beginning, signpost: Self.stamp(100), pageSize: 5)
        let first = agency.page(read.nextRequest!)
        #expect(read.receive(positions: first.positions, total: first.total) == [0, 1, 2, 3, 4])
        // The agency serves the same page again instead of the second one.
        #expect(read.receive(positions: first.positions, total: first.total) == nil)
        #expect(read.restarts == 1 && read.nextRequest?.offset == 0 && read.nextRequest?.since == first.positions.last!.updatedAt)
        var taken = Array(first.positions)
        while let request = read.nextRequest {
            let (positions, total) = agency.page(request)
            taken += read.receive(positions: positions, total: total)!.map { positions[$0] }
        }
        #expect(taken == agency.items.sorted())
    }

    @Test("an agency that caps the page size is followed with the size it serves")
    func cappedPageSize() {
        var agency = Agency(items: Self.items(33), cap: 4)
        let (taken, read) = Self.read(&agency, signpost: Self.stamp(100), pageSize: 10)
        #expect(taken == agency.items.sorted())
        #expect(read.pageSize == 4)
    }

    @Test("numeric ids order by value within a second; cursors round-trip their stored text")
    func cursorOrder() throws {
        let at = Self.stamp(1)
        #expect(AdapterCursor(updatedAt: at, id: "9") < AdapterCursor(updatedAt: at, id: "10"))
        #expect(AdapterCursor(updatedAt: at, id: "PBLN_2") < AdapterCursor(updatedAt: at, id: "PBLN_3"))
        let cursor = AdapterCursor(updatedAt: at, id: "PBLN 0001")
        #expect(try AdapterCursor(text: cursor.text) == cursor)
        #expect(throws: ValidationError.self) { try AdapterCursor(text: "garbage") }
    }
}
