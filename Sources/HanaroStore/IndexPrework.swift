import Foundation
import HanaroCore

/// What indexing one program state takes that depends on the state alone (and on the snapshot of
/// subscriptions it is matched against): its facets, the grams of its title and summary, and the
/// subscriptions it matches.
///
/// A replica has one writer, and with the Agency API's tables kept this pure work was about a
/// fifth of its time per program (`perf`, session 13: the grams, the facets and the matching of
/// 10,000 owners' subscriptions), while the other core waited. So a page's programs are worked on
/// across the cores before the writer stores them — ahead of it for a pulled page (in
/// `Replica.prepare`, beside the signatures' checks), at the start of the transaction for
/// `Replica.apply` of versions — and the writer only looks the results up. Not for authored
/// pages: there an adapter's reader already keeps the other core busy with its next page. The
/// index and the outbox rows are still written in the transaction that stores the version; a
/// state the writer ends up storing differently (a merge of concurrent versions) or a snapshot of
/// subscriptions changed since is worked on again there, so the result is the same as without
/// the prework.
struct ProgramPrework: Sendable {
    /// The state worked on: the writer uses the rest only for this very state.
    let program: ProgramRecord
    let facets: String
    let titleGrams: String
    let summaryGrams: String
    /// The subscriptions the state matches in `matcher` (nil: not matched, no matcher).
    let matches: [String]?
    let matcher: SubscriptionMatcher?

    init(_ program: ProgramRecord, matcher: SubscriptionMatcher?) {
        self.program = program
        facets = SearchIndex.facets(of: program)
        titleGrams = SearchText.grams(program.title)
        summaryGrams = SearchText.grams(program.summary)
        let matching = matcher.flatMap { $0.hasProgramSubscriptions ? $0 : nil }
        self.matcher = matching
        matches = matching?.matches(program)
    }

    /// The subscriptions `program` matches in `matcher`, when this prework is of that state and
    /// that snapshot (nil: work it out).
    func matches(in matcher: SubscriptionMatcher) -> [String]? {
        self.matcher === matcher ? matches : nil
    }
}

/// The prework of a page's programs, by record key.
struct IndexPrework: Sendable {
    private var byKey: [RecordKey: ProgramPrework] = [:]

    /// Fewer programs than this are worked on by the writer as it stores them (spreading a
    /// handful over the cores costs more than it saves).
    static let minimumPrograms = 16

    init() {}

    /// The prework of the live programs among `versions`, matched against `events`' subscriptions,
    /// spread over the cores. Empty when there are too few, when the replica keeps no Agency API
    /// tables, or when it does this work on its writer alone (`Replica.Options.preworkOnCores`).
    init(_ versions: some Collection<RecordVersion>, events: SessionEvents) {
        guard events.indexing && events.prework else { return }
        let matcher = events.matcher
        let programs: [(RecordKey, ProgramRecord)] = versions.compactMap { version in version.program.flatMap { $0.isDeleted ? nil : (version.key, $0) } }
        guard programs.count >= Self.minimumPrograms else { return }
        let work: [ProgramPrework] = ParallelFill.fill(programs.count, grain: Self.minimumPrograms) { range, put in
            for index in range { put(index, ProgramPrework(programs[index].1, matcher: matcher)) }
        }
        byKey.reserveCapacity(work.count)
        // A key twice in one page (two versions of a record): the later one's prework is kept; the
        // earlier one's state then finds no prework of its own and is worked on by the writer.
        for (position, item) in work.enumerated() { byKey[programs[position].0] = item }
    }

    var isEmpty: Bool { byKey.isEmpty }

    /// The prework of `program` stored under `key`, once (nil: none, or of another state).
    mutating func take(_ key: RecordKey, for program: ProgramRecord) -> ProgramPrework? {
        guard !byKey.isEmpty, let work = byKey.removeValue(forKey: key), work.program == program else { return nil }
        return work
    }
}
