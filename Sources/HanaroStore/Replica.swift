public import Foundation
public import HanaroCore
public import GRDB
import Synchronization

/// The node's SQLite replica: the only type that speaks SQL, and the one facade that owns every
/// transaction.
///
/// Every write method is one transaction that keeps the invariants together: the records, the
/// change feed, the running digest and counts, the conflict log, the quarantine, and the
/// checkpoint of the stream that delivered the data. A crash (even `kill -9`) leaves either all of
/// a batch or none of it.
///
/// Durability: WAL with `synchronous=NORMAL`. A process crash loses nothing committed; a power
/// loss may roll back the last transactions, each atomically with its checkpoint, so their
/// sources deliver them again. See docs/STORE.md.
public final class Replica: Sendable {
    /// Tuning and limits. Defaults suit a node; tests narrow them.
    public struct Options: Sendable {
        /// SQLite page cache of the writer connection, in KiB (default 48 MiB: 1M random-key inserts ran ~60% faster than with SQLite's 2 MiB default on the 2-core machines we measure on);
        /// each of the (at most three) reader connections gets at most ``readerCacheKiB``.
        /// Together at most 60 MiB when every cache is full — as it is after a node signs its first
        /// checkpoint over a large log, or serves a long initial sync — so that a node stays under
        /// its 150 MB peak RSS with its ~50 MB of mapped code (docs/BENCHMARKS.md, "peak RSS").
        public var cacheKiB: Int = 49_152
        /// Caps the database file at this many pages, so that "disk full" can be tested for
        /// real (SQLITE_FULL) without filling a disk. nil: no cap.
        public var maxPageCount: Int? = nil
        /// Where wall-clock time comes from.
        public var clock: any WallClock = SystemWallClock()
        /// How far ahead of this node's clock a received version may be stamped (default 1 h).
        public var maxClockSkewMilliseconds: UInt64 = 3_600_000
        /// Signs what this node's agency authors and verifies every received version (nil: no
        /// signatures, as in the store's own tests; a node always sets it).
        public var authentication: VersionAuthentication? = nil
        /// This node's agency (default: the signer's): a referral whose target it is arrives as
        /// incoming, for the Agency API's webhooks.
        public var agency: AgencyID? = nil
        /// Whether the store keeps the Agency API's derived tables (the search index, the referral
        /// index, webhook matching) in every write transaction. A node turns it on only when it
        /// serves the API (`api.listen`): the search index costs about 90 µs of every program
        /// applied (docs/BENCHMARKS.md). Turned on after a time off, the tables are rebuilt at open.
        public var agencyAPI = true
        /// Whether the index's pure work on a page's programs (grams, facets, subscriptions
        /// matched) is spread over the cores before the single writer stores them
        /// (``IndexPrework``). Off, the writer does it alone, as before session 13:
        /// `hanaro-bench api` compares both in one run.
        public var preworkOnCores = true

        public init() {}
    }

    /// The database file (`:memory:` for an in-memory replica).
    public let path: String
    /// The greatest feed sequence when this process opened the file. A peer that has read our
    /// feed further than this proves the file was restored from an older copy.
    public let headAtOpen: Int64
    /// The smallest feed sequence this process can issue (wall time at open, in sequence units).
    /// A sequence a peer has seen that lies between ``headAtOpen`` and this was issued by an
    /// earlier life of this replica that the file no longer holds: the file was restored.
    public let firstSeqOfThisProcess: Int64
    /// This replica's incarnation: created with the database, so a peer whose cursor carries
    /// another epoch knows the replica was recreated and reconciles in full.
    public let epoch: String
    /// When the file's logical clock was found further ahead of the wall clock than the allowed
    /// skew (the node ran with a clock set ahead) and brought back at open: from what, in
    /// milliseconds since 1970. Peers refuse versions stamped that far ahead, so carrying the
    /// clock on would make every write of this node refused until the wall clock caught up.
    public let clampedClockFrom: UInt64?
    let writer: any DatabaseWriter
    let key: ReplicaKey
    let clock: any WallClock
    let maxClockSkewMilliseconds: UInt64
    /// Signing and verification (see ``Options/authentication``).
    public let authentication: VersionAuthentication?
    /// Each agency's current keys, which a referral's personal part is sealed to.
    let sealingKeys: [AgencyID: [SealingRecipient]]
    /// Wakes long-polling feed readers after each commit.
    let headWatch = HeadWatch()
    /// The active webhook subscriptions, matched in every write transaction (``SubscriptionMatcher/Live``).
    let matcher = Mutex(SubscriptionMatcher.Live())
    /// Program criteria for eligibility answers (see ``CriteriaCache``).
    let criteriaCache = CriteriaCache()
    /// Program search's bm25 document counts, kept between searches (``SearchRank``).
    let phraseFrequencies = PhraseFrequencies()
    /// Row lengths and open periods by search index id, shared with the connections' functions.
    let searchMemo: SearchMemo
    /// This node's agency, when known (see ``Options/agency``).
    public let localAgency: AgencyID?
    /// Whether the Agency API's tables are kept (see ``Options/agencyAPI``).
    let keepsAgencyAPI: Bool
    /// See ``Options/preworkOnCores``.
    let preworksOnCores: Bool
    private let restoreNoticed = Mutex(false)

    /// Records that this process found its file restored from an older copy; true the first time.
    public func noteRestored() -> Bool {
        restoreNoticed.withLock { noticed in
            defer { noticed = true }
            return !noticed
        }
    }

    /// The page cache of each reader connection, at most (KiB).
    static let readerCacheKiB = 4_096

    /// The connection settings every replica uses: WAL-friendly durability, a bounded page cache,
    /// foreign keys, and the optional size cap.
    static func configuration(_ options: Options, memo: SearchMemo) -> GRDB.Configuration {
        var configuration = GRDB.Configuration()
        let cacheKiB = options.cacheKiB
        let maxPageCount = options.maxPageCount
        configuration.busyMode = .timeout(10)
        // Few readers, each with a smaller cache: a node's memory must stay bounded (≤ 150 MB)
        // whatever the number of peers long-polling its feed. A reader's pages are mostly read
        // once (a page of the feed, a status count): the OS page cache serves the rest.
        configuration.maximumReaderCount = 3
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode: durable across process crashes; see the type's documentation.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA cache_size = -\(db.configuration.readonly ? min(cacheKiB, Self.readerCacheKiB) : cacheKiB)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            SearchRank.register(db, memo: memo)
            if let maxPageCount { try db.execute(sql: "PRAGMA max_page_count = \(maxPageCount)") }
        }
        return configuration
    }

    /// Opens (creating and migrating if needed) the replica at `path`, in WAL mode.
    /// - Throws: ``StoreError`` `.database` naming the file and the fix.
    public convenience init(path: String, key: ReplicaKey, options: Options = Options()) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            throw StoreError(.database, "the data directory \(directory) does not exist; create it (owned by the service user, mode 0700) or fix data_dir")
        }
        let pool: DatabasePool
        let memo = SearchMemo()
        do {
            pool = try DatabasePool(path: path, configuration: Self.configuration(options, memo: memo))
        } catch {
            throw Self.databaseError(error, path: path, doing: "open the replica")
        }
        try self.init(writer: pool, key: key, options: options, path: path, memo: memo)
    }

    /// A replica kept in memory, for tests where durability is not the subject.
    /// - Throws: ``StoreError`` when the schema cannot be created.
    public static func inMemory(key: ReplicaKey = .random(), options: Options = Options()) throws(StoreError) -> Replica {
        let queue: DatabaseQueue
        let memo = SearchMemo()
        do {
            queue = try DatabaseQueue(configuration: configuration(options, memo: memo))
        } catch {
            throw databaseError(error, path: ":memory:", doing: "open an in-memory replica")
        }
        return try Replica(writer: queue, key: key, options: options, path: ":memory:", memo: memo)
    }

    /// Opens a replica on a database made with ``configuration(_:memo:)`` (GRDB's `DatabasePool`
    /// for a node, `DatabaseQueue` in memory for tests) and the same `memo`, migrating it if needed.
    /// - Throws: ``StoreError`` `.database`.
    init(writer: any DatabaseWriter, key: ReplicaKey, options: Options = Options(), path: String, memo: SearchMemo) throws(StoreError) {
        self.path = path
        self.searchMemo = memo
        self.key = key
        self.clock = options.clock
        self.maxClockSkewMilliseconds = options.maxClockSkewMilliseconds
        self.authentication = options.authentication
        self.sealingKeys = options.authentication.map { auth in
            Dictionary(uniqueKeysWithValues: AgencyID.allCases.map { ($0, auth.sealingRecipients(of: $0)) })
        } ?? [:]
        self.localAgency = options.agency ?? options.authentication?.signer?.agency
        self.keepsAgencyAPI = options.agencyAPI
        self.preworksOnCores = options.preworkOnCores
        self.writer = writer
        do {
            try ReplicaSchema.migrator().migrate(writer)
            let now = options.clock.nowMilliseconds()
            firstSeqOfThisProcess = Int64(options.clock.nowMilliseconds() << 16)
            headAtOpen = try writer.read { db in
                (try? Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'last_seq'")) ?? 0
            } ?? 0
            let skewBound = (now + options.maxClockSkewMilliseconds) << 16
            clampedClockFrom = try writer.write { db -> UInt64? in
                guard let stored = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'clock'"), UInt64(stored) > skewBound else { return nil }
                try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'clock'", arguments: [Int64(now << 16)])
                return HLCTimestamp(rawValue: UInt64(stored)).millisecondsSince1970
            }
            epoch = try writer.write { db in
                if let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'epoch'") {
                    return existing
                }
                let fresh = UUID().uuidString.lowercased()
                try db.execute(sql: """
                    INSERT INTO meta(name, value) VALUES ('epoch', ?), ('created_at', ?), ('last_seq', 0), ('clock', 0),
                      ('digest', ?), ('count.program', 0), ('count.referral', 0)
                    """, arguments: [fresh, Int64(now), Data(ReplicaDigest.empty.bytes)])
                return fresh
            }
            if let authentication = options.authentication {
                try writer.write { [epoch] db in
                    if let signer = authentication.signer {
                        try db.execute(sql: "INSERT OR IGNORE INTO meta(name, value) VALUES ('log.origin', ?)",
                                       arguments: [TransparencyLog.origin(agency: signer.agency, epoch: epoch)])
                    }
                    // The keys as this node knows them, for offline checks of a copy of this file.
                    for key in authentication.allKeys {
                        try db.execute(sql: """
                            INSERT INTO log_key(agency, key, retired_at) VALUES (?, ?, ?)
                            ON CONFLICT(agency, key) DO UPDATE SET retired_at = excluded.retired_at
                            """, arguments: [key.agency.rawValue, key.text, key.retiredAtMilliseconds.map { Int64($0) }])
                    }
                }
            }
            if options.agencyAPI {
                try SearchIndex.rebuildIfNeeded(writer, key: key)
            } else {
                // The tables fall behind from now on: mark them so that turning the API on rebuilds them.
                try writer.write { db in try db.execute(sql: "DELETE FROM meta WHERE name = 'search.index'") }
            }
            try writer.read { db in try self.reloadSubscriptions(db) }
        } catch {
            throw Self.databaseError(error, path: path, doing: "open the replica")
        }
    }

    /// Maps a GRDB/SQLite error to a ``StoreError`` that says what to do.
    static func databaseError(_ error: any Error, path: String, doing action: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? ValidationError {
            return StoreError(.corrupt, "cannot \(action): a stored record does not decode (\(error)); \(path) is damaged or from an incompatible version", cause: error)
        }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_FULL:
                return StoreError(.diskFull, "cannot \(action): the disk holding \(path) is full (or its size cap was reached); nothing of this operation was written — free space and retry", cause: error)
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return StoreError(.corrupt, "cannot \(action): \(path) is damaged or not a Hanaro replica; restore it from backup or move it away to resync from peers", cause: error)
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
                return StoreError(.database, "cannot \(action): \(path) cannot be opened for writing; check that the file and its directory belong to the service user", cause: error)
            default:
                break
            }
        }
        return StoreError(.database, "cannot \(action) on \(path)", cause: error)
    }

    /// Runs a read transaction, mapping errors.
    func read<T: Sendable>(_ action: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.read(body)
        } catch {
            throw Self.databaseError(error, path: path, doing: action)
        }
    }

    /// Runs a write transaction, mapping errors.
    func write<T: Sendable>(_ action: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.write(body)
        } catch {
            throw Self.databaseError(error, path: path, doing: action)
        }
    }
}

/// The system's wall clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
