import HanaroCore
import HanaroTesting
import Testing

/// The paging logic of adapter reads, driven against an agency modelled in memory: stamps are
/// values the test chooses, so no test waits for a clock.
@Suite("List reads")
struct ListReadTests {
    /// An item of the modelled agency: id (nil: unreadable) and stamp.
    struct Item: Hashable {
        var id: String?
        var stamp: ListRead.Stamp
        var cursor: AdapterCursor? {
            guard let id, case .at(let at) = stamp else { return nil }
            return AdapterCursor(updatedAt: at, id: id)
        }
    }

    /// An offset-paged list. By default it honours the filter and sorts by (stamp, id); it can
    /// ignore both, cap its page size, and answer past the end with NODATA (no total).
    struct Agency {
        var items: [Item]
        var cap = Int.max
        var honoursFilter = true
        var nodataPastEnd = true

        func page(_ request: ListRead.Request) -> (items: [ListRead.Served], total: Int?) {
            var window = items
            if honoursFilter {
                window = window.filter { item in
                    guard case .at(let at) = item.stamp else { return true }
                    return (request.since.map { at >= $0 } ?? true) && (request.until.map { at < $0 } ?? true)
                }
                window.sort { ($0.cursor ?? AdapterCursor.beginning) < ($1.cursor ?? AdapterCursor.beginning) }
            }
            let size = min(request.limit, cap)
            let start = min(request.offset, window.count)
            let served = Array(window[start..<min(window.count, start + size)]).map { ListRead.Served(id: $0.id, stamp: $0.stamp) }
            if served.isEmpty && nodataPastEnd { return ([], nil) }
            return (served, window.count)
        }
    }

    static func stamp(_ second: Int) -> AgencyTimestamp { AgencyTimestamp(secondsSince1970: 1_790_000_000 + Int64(second)) }

    /// Many items sharing a few seconds (ties), numeric ids.
    static func items(_ count: Int) -> [Item] {
        (0..<count).map { Item(id: String(1000 - $0), stamp: .at(stamp($0 / 7))) }
    }

    /// Runs a read to its end; `change` may alter the agency after each page.
    static func read(_ agency: inout Agency, _ kind: ListRead.Kind, pageSize: Int,
                     change: (Int, inout Agency) -> Void = { _, _ in }) -> (taken: [String], quarantined: Int, read: ListRead) {
        var read = ListRead(kind, pageSize: pageSize)
        var taken: [String] = []
        var quarantined = 0
        while let request = read.nextRequest, read.pages < 1000 {
            let (served, total) = agency.page(request)
            for (item, decision) in zip(served, read.receive(served, total: total)) {
                switch decision {
                case .take: taken.append(item.id!)
                case .quarantine: quarantined += 1
                case .skip: break
                }
            }
            change(read.pages, &agency)
        }
        return (taken, quarantined, read)
    }

    @Test("an incremental read takes every item before the signpost exactly once, ties included; its cursor becomes the signpost", arguments: [1, 3, 7, 10, 50])
    func everyItemOnce(pageSize: Int) {
        var agency = Agency(items: Self.items(40))
        let (taken, _, read) = Self.read(&agency, .incremental(after: .beginning, signpost: Self.stamp(100)), pageSize: pageSize)
        #expect(taken.sorted() == agency.items.compactMap(\.id).sorted())
        #expect(read.isComplete && read.restarts == 0)
        #expect(read.finalCursor == AdapterCursor(updatedAt: Self.stamp(100), id: ""))
    }

    @Test("items at or after the signpost wait for the next read, which starts at the signpost")
    func signpostBound() {
        var agency = Agency(items: Self.items(40)) // seconds 0...5
        let (first, _, read) = Self.read(&agency, .incremental(after: .beginning, signpost: Self.stamp(3)), pageSize: 5)
        #expect(Set(first) == Set(agency.items.filter { $0.cursor!.updatedAt < Self.stamp(3) }.compactMap(\.id)))
        let (rest, _, _) = Self.read(&agency, .incremental(after: read.finalCursor!, signpost: Self.stamp(100)), pageSize: 5)
        #expect((first + rest).sorted() == agency.items.compactMap(\.id).sorted())
        #expect(Set(first).isDisjoint(with: rest))
    }

    @Test("one item without an id and one with an unreadable stamp are quarantined; the paging does not shift and NODATA ends the read")
    func badItemsDoNotShiftPaging() {
        var items = Self.items(9)
        items.insert(Item(id: nil, stamp: .at(Self.stamp(0))), at: 2)
        items.insert(Item(id: "PBLN_BAD", stamp: .unreadable), at: 5)
        var agency = Agency(items: items, honoursFilter: false) // served in this order, 11 items
        let (taken, quarantined, read) = Self.read(&agency, .incremental(after: .beginning, signpost: Self.stamp(100)), pageSize: 10)
        #expect(taken.count == 9 && quarantined == 2)
        #expect(read.isComplete && read.restarts == 0 && read.pageSize == 10)
        #expect(read.pages == 2, "the second page (one item) ends at the total")
    }

    @Test("a server that ignores the filter and the order (sends everything again) is read once, without re-reads")
    func ignoredFilter() {
        var rng = SplitMixGenerator(seed: 7)
        var agency = Agency(items: Self.items(30).shuffled(using: &rng), honoursFilter: false)
        let cursor = AdapterCursor(updatedAt: Self.stamp(2), id: "")
        let (taken, _, read) = Self.read(&agency, .incremental(after: cursor, signpost: Self.stamp(4)), pageSize: 7)
        let expected = agency.items.filter { $0.cursor!.updatedAt >= Self.stamp(2) && $0.cursor!.updatedAt < Self.stamp(4) }.compactMap(\.id)
        #expect(taken.sorted() == expected.sorted())
        #expect(read.restarts == 0 && read.isComplete)
        // The items before the cursor, sent again, are counted once as read before (held), not lost
        // from the read's count.
        let before = agency.items.filter { $0.cursor!.updatedAt < Self.stamp(2) }
        #expect(!before.isEmpty && read.alreadyRead == before.count, "\(read.alreadyRead) of \(before.count)")
    }

    @Test("an empty page, or a total of 0, ends the read complete")
    func emptyEnds() {
        var empty = Agency(items: [])
        let (taken, _, read) = Self.read(&empty, .snapshot, pageSize: 10)
        #expect(taken.isEmpty && read.isComplete && read.pages == 1)
        var zero = ListRead(.snapshot, pageSize: 10)
        _ = zero.receive([ListRead.Served(id: "x", stamp: .none)], total: 0)
        #expect(zero.isFinished && zero.isComplete)
    }

    @Test("a NODATA or empty page while the reported total says more ends the read incomplete, with the page and the total; once the items read reach the total it ends complete")
    func noDataBeforeTheTotal() {
        // Given page 1 with 3 of 7 items, then NODATA (no total), or an empty page still saying 7
        for secondTotal in [nil, 7] as [Int?] {
            var read = ListRead(.incremental(after: .beginning, signpost: Self.stamp(100)), pageSize: 3)
            _ = read.receive(Self.items(3).map { ListRead.Served(id: $0.id, stamp: $0.stamp) }, total: 7)
            _ = read.receive([], total: secondTotal)
            // Then it is finished, incomplete, moves no cursor, and says why
            #expect(read.isFinished && !read.isComplete && read.finalCursor == nil)
            #expect(read.incompleteReason?.contains("no data on page 2 while its totalCount was 7 (3 items read)") == true, "\(read.incompleteReason ?? "")")
        }
        // Given an agency that reports no total: an empty page after full ones is the end
        var whole = ListRead(.snapshot, pageSize: 3)
        _ = whole.receive([ListRead.Served(id: "a", stamp: .none), ListRead.Served(id: nil, stamp: .none), ListRead.Served(id: "c", stamp: .none)], total: nil)
        _ = whole.receive([], total: nil)
        #expect(whole.isFinished && whole.isComplete && whole.pages == 2)
        // And a first page of NODATA (nothing expected) or a total of 0 is a complete, empty read
        var none = ListRead(.snapshot, pageSize: 3)
        _ = none.receive([], total: nil)
        #expect(none.isComplete && none.incompleteReason == nil)
        // And an empty page whose total moved (the list shrank while it was read) goes through again
        var shrunk = ListRead(.snapshot, pageSize: 3)
        _ = shrunk.receive(Self.items(3).map { ListRead.Served(id: $0.id, stamp: .none) }, total: 7)
        _ = shrunk.receive([], total: 3)
        #expect(!shrunk.isFinished && shrunk.restarts == 1 && shrunk.nextRequest?.offset == 0)
    }

    @Test("where the store decides by content: an item without a readable stamp is taken and the cursor stays at the beginning; one stamped after the signpost is taken; both once per read")
    func storeDecides() {
        let signpost = Self.stamp(10)
        var items = Self.items(6).map { ListRead.Served(id: $0.id, stamp: $0.stamp) }
        items.append(ListRead.Served(id: "NOSTAMP", stamp: .unreadable))
        items.append(ListRead.Served(id: "FUTURE", stamp: .at(Self.stamp(1_000_000))))
        var read = ListRead(.incremental(after: .beginning, signpost: signpost), pageSize: 10, storeDecides: true)
        let decisions = read.receive(items + items.suffix(2), total: 10)
        // Then every item is taken once (the two served again are skipped), none quarantined
        #expect(decisions.filter { $0 == .take }.count == 8 && decisions.suffix(2) == [.skip, .skip])
        #expect(read.quarantined == 0 && read.unstamped == ["NOSTAMP"] && read.afterSignpost == ["FUTURE"])
        // And the complete read stores the beginning: the next read goes through the whole list
        #expect(read.isComplete && read.finalCursor == .beginning)
        // Given the same list with every stamp readable, Then the cursor is the signpost again,
        // never the future item's stamp
        var stamped = ListRead(.incremental(after: .beginning, signpost: signpost), pageSize: 10, storeDecides: true)
        _ = stamped.receive(items.filter { $0.id != "NOSTAMP" }, total: 7)
        #expect(stamped.finalCursor == AdapterCursor(updatedAt: signpost, id: ""))
        // And a read that does not let the store decide (referral events) keeps the old rules
        var events = ListRead(.incremental(after: .beginning, signpost: signpost), pageSize: 10)
        let eventDecisions = events.receive(items, total: 8)
        #expect(events.quarantined == 1 && eventDecisions.last == .skip)
        // And the beginning round-trips its stored text
        #expect(try! AdapterCursor(text: AdapterCursor.beginning.text) == .beginning)
    }

    @Test("a record that leaves the window while paging: the read goes through again and loses nothing")
    func recordLeavesWindow() {
        var agency = Agency(items: Self.items(30))
        let original = agency.items
        let (taken, _, read) = Self.read(&agency, .incremental(after: .beginning, signpost: Self.stamp(50)), pageSize: 4) { page, agency in
            guard page == 2 else { return }
            // An item already read and one not yet read change (stamped after the signpost).
            for victim in [original[1], original[20]] {
                agency.items[agency.items.firstIndex(of: victim)!].stamp = .at(Self.stamp(60))
            }
        }
        #expect(read.restarts >= 1 && read.isComplete)
        #expect(Set(taken).count == taken.count)
        let unchanged = Set(original.compactMap(\.id)).subtracting([original[20].id!])
        #expect(Set(taken).isSuperset(of: unchanged.subtracting([original[1].id!])))
    }

    @Test("a page served twice: the read goes through again from the top and takes every item once")
    func repeatedPage() {
        let agency = Agency(items: Self.items(20))
        var read = ListRead(.snapshot, pageSize: 5)
        var taken: [String] = []
        var repeats = 1
        while let request = read.nextRequest {
            // The second page asked for is the first one again.
            let (served, total) = request.offset == 5 && repeats > 0 ? agency.page(ListRead(.snapshot, pageSize: 5).nextRequest!) : agency.page(request)
            if request.offset == 5 { repeats -= 1 }
            for (item, decision) in zip(served, read.receive(served, total: total)) where decision == .take { taken.append(item.id!) }
        }
        #expect(read.restarts == 1 && read.isComplete)
        #expect(taken.sorted() == agency.items.compactMap(\.id).sorted())
    }

    @Test("an agency that caps the page size is followed with the size it serves")
    func cappedPageSize() {
        var agency = Agency(items: Self.items(33), cap: 4)
        let (taken, _, read) = Self.read(&agency, .snapshot, pageSize: 10)
        #expect(taken.sorted() == agency.items.compactMap(\.id).sorted())
        #expect(read.pageSize == 4 && read.isComplete)
    }

    @Test("a total that overstates the list: the short last page ends the read — no re-reads at smaller sizes — and its bad items are quarantined once")
    func overstatedTotal() {
        // Given 5 items, the fifth with an unreadable stamp, behind a total of 8, and page size 3
        var items = Self.items(4)
        items.append(Item(id: "PBLN_BAD", stamp: .unreadable))
        var read = ListRead(.incremental(after: .beginning, signpost: Self.stamp(100)), pageSize: 3)
        var quarantined = 0
        while let request = read.nextRequest, read.pages < 100 {
            let page = Array(items.dropFirst(request.offset).prefix(request.limit)).map { ListRead.Served(id: $0.id, stamp: $0.stamp) }
            quarantined += read.receive(page, total: page.isEmpty ? nil : 8).filter { if case .quarantine = $0 { true } else { false } }.count
        }
        // Then the full first page proved there is no cap: two pages, done, the bad item once
        #expect(read.pages == 2 && read.pageSize == 3 && read.isComplete, "pages \(read.pages), size \(read.pageSize)")
        #expect(quarantined == 1 && read.quarantined == 1)
    }

    @Test("a list that moves while it is read: an item without an id, or with an unreadable stamp, is quarantined once however many passes serve it")
    func badItemsOncePerRead() {
        let items = Self.items(6) + [Item(id: nil, stamp: .at(Self.stamp(0))), Item(id: "PBLN_BAD", stamp: .unreadable)]
        var read = ListRead(.incremental(after: .beginning, signpost: Self.stamp(100)), pageSize: 4)
        var quarantined = 0
        var total = items.count + 2, moves = 0
        while let request = read.nextRequest, read.pages < 100 {
            let page = Array(items.dropFirst(request.offset).prefix(request.limit))
                .map { ListRead.Served(id: $0.id, stamp: $0.stamp, content: $0.id == nil ? Array("{\"title\":\"no id\"}".utf8) : nil) }
            // The reported total moves at the second page of the first two passes (down to the
            // list's own size): the read goes through the list three times, each time serving the
            // bad items (on that page).
            if request.offset > 0 && moves < 2 {
                total -= 1
                moves += 1
            }
            quarantined += read.receive(page, total: page.isEmpty ? nil : total).filter { if case .quarantine = $0 { true } else { false } }.count
        }
        #expect(read.restarts == 2 && read.isComplete, "restarts \(read.restarts)")
        #expect(quarantined == 2 && read.quarantined == 2, "\(quarantined)")
    }

    @Test("a snapshot lists every id it could read; an agency that serves its first page for every page gives up incomplete")
    func snapshotMembership() {
        var agency = Agency(items: Self.items(12) + [Item(id: nil, stamp: .none)])
        let (_, quarantined, read) = Self.read(&agency, .snapshot, pageSize: 5)
        #expect(read.listed == Set(agency.items.compactMap(\.id)) && quarantined == 1)
        var stuck = ListRead(.snapshot, pageSize: 5)
        let first = Array(Self.items(5)).map { ListRead.Served(id: $0.id, stamp: .none) }
        while stuck.nextRequest != nil && stuck.pages < 100 { _ = stuck.receive(first, total: 20) }
        #expect(stuck.isFinished && !stuck.isComplete && stuck.restarts > ListRead.maxRestarts)
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

/// A seeded generator (the core's tests need no Foundation).
struct SplitMixGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
