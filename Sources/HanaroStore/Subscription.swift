public import Foundation
public import HanaroCore
import Crypto

/// What a webhook announces.
public enum WebhookEventType: String, Sendable, Hashable, CaseIterable, Codable {
    /// A new or changed program that matches the subscription's profile and keywords.
    case programMatched = "program.matched"
    /// A referral arriving for this node's agency.
    case referralReceived = "referral.received"

    /// The `webhook-id` of the delivery of one version of one record to one subscription: the same
    /// on every retry and on every node restart (Standard Webhooks' idempotency key).
    static func eventID(subscription: String, key: String, version: String) -> String {
        let digest = SHA256.hash(data: Data("\(subscription)\n\(key)\n\(version)".utf8))
        // Hex by table: String(format:) per byte was most of the cost of queueing a delivery.
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("msg_".utf8)
        text.reserveCapacity(36)
        for byte in digest.prefix(16) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// What a subscription asks to hear about. The profile never leaves the node: it is sealed at
/// rest and only used to match here.
public struct SubscriptionFilter: Sendable, Hashable {
    public var events: Set<WebhookEventType>
    /// Programs for which this profile is not ineligible (nil: any).
    public var profile: BusinessProfile?
    /// Programs whose title or summary holds one of these (spacing and case ignored; empty: any).
    public var keywords: [String]
    public var agency: AgencyID?
    public var category: SupportCategory?

    public init(events: Set<WebhookEventType>, profile: BusinessProfile? = nil, keywords: [String] = [], agency: AgencyID? = nil, category: SupportCategory? = nil) {
        self.events = events
        self.profile = profile
        self.keywords = keywords
        self.agency = agency
        self.category = category
    }

    /// The sealed form (JSON inside the replica key's AES-GCM).
    struct Stored: Codable {
        var events: [String]
        var region: String?
        var ksic: String?
        var businessAgeMonths: Int64?
        var employees: Int64?
        var revenueKRW: Int64?
        var ownerAge: Int64?
        var hasProfile: Bool
        var keywords: [String]
        var agency: String?
        var category: String?
    }

    var stored: Stored {
        Stored(events: events.map(\.rawValue).sorted(), region: profile?.region?.code, ksic: profile?.industry?.code,
               businessAgeMonths: profile?.businessAgeMonths, employees: profile?.employees, revenueKRW: profile?.revenueKRW,
               ownerAge: profile?.ownerAge, hasProfile: profile != nil, keywords: keywords, agency: agency?.rawValue, category: category?.rawValue)
    }

    init(stored: Stored) {
        events = Set(stored.events.compactMap(WebhookEventType.init(rawValue:)))
        profile = stored.hasProfile ? BusinessProfile(
            region: stored.region.flatMap { try? RegionCode($0) }, industry: stored.ksic.flatMap { try? KSICCode($0) },
            businessAgeMonths: stored.businessAgeMonths, employees: stored.employees, revenueKRW: stored.revenueKRW, ownerAge: stored.ownerAge) : nil
        keywords = stored.keywords
        agency = stored.agency.flatMap(AgencyID.init(rawValue:))
        category = stored.category.flatMap(SupportCategory.init(rawValue:))
    }
}

/// A subscription as the API shows it (the secret is shown once, at creation, and never again).
public struct Subscription: Sendable, Hashable {
    public var id: String
    /// The API client (token name) that made it.
    public var client: String
    public var url: String
    public var filter: SubscriptionFilter
    public var state: String
    public var disabledReason: String?
    public var createdAt: Date
    /// Deliveries owed, done, and attempts that failed; the last answer.
    public var pending = 0
    public var delivered = 0
    public var failedAttempts = 0
    public var lastStatus: Int?
    public var lastAttemptAt: Date?
}

/// The active subscriptions, prepared for matching inside a write transaction: an immutable
/// snapshot, replaced whenever a subscription is created, deleted or disabled.
final class SubscriptionMatcher: Sendable {
    struct Entry: Sendable {
        var id: String
        var agency: AgencyID?
        var category: SupportCategory?
        /// The profile packed once, when the matcher is built (each program checks it anew).
        var profile: PackedProfile?
        /// False once the subscription is deleted or disabled: it stays filed (under its keys, in
        /// `unkeyed`) until the next full load, and matches nothing.
        var active = true
    }

    /// Program subscriptions, and an index of those with keywords: each keyword is filed under
    /// its leading characters (up to eight: `창업자금`, `햇살론` under all of itself, a one-character
    /// keyword under that character), so a program is checked only against the subscriptions whose
    /// keyword begins somewhere in its text, and those without keywords; each candidate's keyword
    /// is then compared with the text at that offset (so a collision of the key's hash costs a
    /// compare, never a wrong match). 10,000 subscriptions checked one by one cost ~4 ms per program; filed under
    /// one pair of characters, ~0.2 ms when they were like owners' (pairs such as `창업` are in
    /// most programs' texts). Filed under four characters, owners' two-word phrases
    /// (`소상공인정책자금`) still shared a key per first word, ~500 to a key, each compared wherever
    /// that word occurs: the compare loop was a third of an apply's time; eight characters
    /// tell the phrases apart.
    let entries: [Entry]
    let byGram: [UInt64: [Filed]]
    /// Every keyword's bytes, back to back (``Filed`` points into it: the hot loop touches no
    /// reference-counted value).
    let keywordBytes: [UInt8]
    let unkeyed: [Int]
    let referralSubscriptions: [String]
    /// Bit k-1: some keyword is filed under k characters.
    let gramLengths: UInt8
    /// One bit per key's ``presenceBit(_:)``: most of a text's grams begin no keyword, and
    /// testing a bit costs less than the dictionary's lookup (which hashes the key again).
    let presence: [UInt64]
    static let presenceWords = 2_048
    /// One bit per keyword's first character (its scalar value's low 16 bits): most places in a
    /// text begin no keyword at all, and one bit spares them the eight steps of their keys.
    let firsts: [UInt64]
    static let firstsWords = 1_024
    static let maxGram = 8
    let activeEntries: Int
    var hasProgramSubscriptions: Bool { activeEntries > 0 }

    convenience init(_ subscriptions: [(id: String, filter: SubscriptionFilter)]) {
        var matcher = Builder()
        for (id, filter) in subscriptions { matcher.add(id: id, filter: filter) }
        self.init(matcher)
    }

    /// One keyword of one subscription, under its key.
    struct Filed: Sendable {
        var entry: Int32
        var start: Int32
        var count: Int32
    }

    private init(_ builder: Builder) {
        entries = builder.entries
        byGram = builder.byGram
        keywordBytes = builder.keywordBytes
        unkeyed = builder.unkeyed
        referralSubscriptions = builder.referralSubscriptions
        gramLengths = builder.gramLengths
        presence = builder.presence
        firsts = builder.firsts
        activeEntries = builder.activeEntries
    }

    /// The mutable form the snapshots are made from.
    struct Builder {
        var entries: [Entry] = []
        var byGram: [UInt64: [Filed]] = [:]
        var keywordBytes: [UInt8] = []
        var unkeyed: [Int] = []
        var referralSubscriptions: [String] = []
        var gramLengths: UInt8 = 0
        var presence = [UInt64](repeating: 0, count: SubscriptionMatcher.presenceWords)
        var firsts = [UInt64](repeating: 0, count: SubscriptionMatcher.firstsWords)
        /// Each active program subscription's place in `entries`.
        var positions: [String: Int] = [:]
        var activeEntries: Int { positions.count }
        /// Entries removed since the builder was made (still filed, matching nothing).
        var inactiveEntries: Int { entries.count - activeEntries }

        /// Whether there is anything to match at all.
        var isEmpty: Bool { activeEntries == 0 && referralSubscriptions.isEmpty }

        /// Stops matching a subscription (deleted, or disabled by a 410).
        mutating func remove(id: String) {
            referralSubscriptions.removeAll { $0 == id }
            guard let index = positions.removeValue(forKey: id) else { return }
            entries[index].active = false
        }

        mutating func add(id: String, filter: SubscriptionFilter) {
            if filter.events.contains(.referralReceived) { referralSubscriptions.append(id) }
            guard filter.events.contains(.programMatched) else { return }
            positions[id] = entries.count
            // NFC, lower-cased, without whitespace, as UTF-8; kept only in `keywordBytes`.
            let keywords = Set(filter.keywords.map { Array(SubscriptionMatcher.normalized($0).utf8) }.filter { !$0.isEmpty })
            let index = entries.count
            entries.append(Entry(id: id, agency: filter.agency, category: filter.category, profile: filter.profile.map(PackedProfile.init)))
            guard !keywords.isEmpty else {
                unkeyed.append(index)
                return
            }
            for keyword in keywords {
                let scalars = Array(String(decoding: keyword, as: UTF8.self).unicodeScalars.prefix(SubscriptionMatcher.maxGram))
                let key = SubscriptionMatcher.gram(scalars[...])
                let bit = SubscriptionMatcher.presenceBit(key)
                presence[bit >> 6] |= 1 << UInt64(bit & 63)
                byGram[key, default: []]
                    .append(Filed(entry: Int32(index), start: Int32(keywordBytes.count), count: Int32(keyword.count)))
                keywordBytes.append(contentsOf: keyword)
                gramLengths |= 1 << (scalars.count - 1)
                let first = Int(scalars[0].value & 0xFFFF)
                firsts[first >> 6] |= 1 << UInt64(first & 63)
            }
        }
    }

    /// The subscriptions a replica matches: a ``Builder`` that grows and shrinks in place, and the
    /// immutable snapshot write transactions match against, made again only after a change.
    ///
    /// Creating a subscription used to make a new snapshot with every entry copied, and deleting
    /// one decrypted every subscription again to rebuild it: n of either cost n² (10,000 creations
    /// took 4-5 s). Now a change mutates the builder (its buffers are shared with a snapshot still
    /// in use only until the first change after it is taken, which copies them once), and a deletion
    /// leaves a tombstone (and drops the id from the referral subscriptions' list, a scan of ids);
    /// the owner reloads everything once tombstones outnumber the live entries (``needsCompaction``),
    /// so the decryptions of a reload are paid once per as many deletions as there are entries.
    struct Live: Sendable {
        private var builder = Builder()
        private var snapshot: SubscriptionMatcher?

        init(_ subscriptions: [(id: String, filter: SubscriptionFilter)] = []) {
            for (id, filter) in subscriptions { builder.add(id: id, filter: filter) }
        }

        mutating func add(id: String, filter: SubscriptionFilter) {
            snapshot = nil  // first, so that a builder no transaction shares is changed in place
            builder.add(id: id, filter: filter)
        }

        mutating func remove(id: String) {
            snapshot = nil
            builder.remove(id: id)
        }

        /// More tombstones than live entries (and enough of them to be worth a full load).
        var needsCompaction: Bool { builder.inactiveEntries > max(256, builder.activeEntries) }

        /// The matcher for a write transaction (nil: no subscription to match).
        mutating func current() -> SubscriptionMatcher? {
            if let snapshot { return snapshot }
            guard !builder.isEmpty else { return nil }
            let made = SubscriptionMatcher(builder)
            snapshot = made
            return made
        }
    }

    /// The key of 1 to 8 characters: FNV-1a over the scalars (a collision only makes a candidate
    /// that the keyword compare then rules out). A prefix's key is a step of the whole's, so the
    /// text's keys at one place, for every length, take one pass.
    @inline(__always)
    static func gram(_ scalars: ArraySlice<Unicode.Scalar>) -> UInt64 {
        var hash = gramBasis
        for scalar in scalars { hash = gramStep(hash, scalar) }
        return hash
    }

    static let gramBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// A key's bit in ``presence`` (2,048 words: 131,072 bits).
    @inline(__always)
    static func presenceBit(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key ^ (key >> 31)) & UInt64(presenceWords * 64 - 1))
    }

    @inline(__always)
    static func gramStep(_ hash: UInt64, _ scalar: Unicode.Scalar) -> UInt64 {
        (hash ^ UInt64(scalar.value)) &* 0x0000_0100_0000_01B3
    }

    /// A keyword's matching form: NFC, lower case, no whitespace.
    static func normalized(_ text: String) -> String {
        String(text.precomposedStringWithCanonicalMapping.lowercased().unicodeScalars.filter { !$0.properties.isWhitespace })
    }

    /// A program's matching form — ``normalized(_:)`` of its title and summary — as UTF-8 and as
    /// scalars. This runs for every program version applied while subscriptions exist, so text
    /// that is NFC already (nearly all Korean text: ``SearchText/needsNormalization(_:)``) is
    /// folded scalar by scalar, as `String.lowercased()` folds it (each scalar's full lower-case
    /// mapping), without Foundation; other text takes Foundation's path. A test holds the two
    /// paths to the same result.
    static func matchingForm(title: String, summary: String) -> (bytes: [UInt8], scalars: [Unicode.Scalar], offsets: [Int]) {
        guard !SearchText.needsNormalization(title), !SearchText.needsNormalization(summary) else {
            let text = normalized(title + " " + summary)
            var offsets: [Int] = [], offset = 0
            for scalar in text.unicodeScalars {
                offsets.append(offset)
                offset += UTF8.width(scalar)
            }
            return (Array(text.utf8), Array(text.unicodeScalars), offsets)
        }
        var bytes: [UInt8] = [], scalars: [Unicode.Scalar] = [], offsets: [Int] = []
        bytes.reserveCapacity(title.utf8.count + summary.utf8.count)
        scalars.reserveCapacity(title.utf8.count + summary.utf8.count)
        offsets.reserveCapacity(title.utf8.count + summary.utf8.count)
        func append(_ scalar: Unicode.Scalar) {
            scalars.append(scalar)
            offsets.append(bytes.count)
            if scalar.value < 0x80 { bytes.append(UInt8(scalar.value)) } else { bytes.append(contentsOf: UTF8.encode(scalar)!) }
        }
        for text in [title, summary] {
            for scalar in text.unicodeScalars {
                let value = scalar.value
                if value < 0x80 {
                    if value == 0x20 || (0x09...0x0D).contains(value) { continue }
                    append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 0x20)) : scalar)
                } else if (0xAC00...0xD7A3).contains(value) {
                    append(scalar)  // a Hangul syllable: no case, no space
                } else if scalar.properties.isWhitespace {
                    continue
                } else if scalar.properties.changesWhenLowercased {
                    for lower in scalar.properties.lowercaseMapping.unicodeScalars { append(lower) }
                } else {
                    append(scalar)
                }
            }
        }
        return (bytes, scalars, offsets)
    }

    /// The subscriptions a program matches: its agency and category if they name one, one of
    /// their keywords in its title or summary, and a profile it does not rule out.
    ///
    /// Each place in the text where a filed key begins is checked there and only there (the
    /// keyword's bytes against the text's at that offset), and a subscription whose keyword was
    /// found is not checked again: a program whose words begin the keywords of thousands of
    /// subscriptions costs a short compare each, not a search of its whole text each.
    func matches(_ program: ProgramRecord) -> [String] {
        var candidates = unkeyed
        if !byGram.isEmpty {
            let form = Self.matchingForm(title: program.title, summary: program.summary)
            let scalars = form.scalars
            var found = [UInt64](repeating: 0, count: (entries.count + 63) / 64)
            form.bytes.withUnsafeBufferPointer { text in
                keywordBytes.withUnsafeBufferPointer { keywords in
                    presence.withUnsafeBufferPointer { presence in
                        for start in scalars.indices {
                            let first = Int(scalars[start].value & 0xFFFF)
                            guard firsts[first >> 6] & (1 << UInt64(first & 63)) != 0 else { continue }
                            var hash = Self.gramBasis
                            for length in 1...min(Self.maxGram, scalars.count - start) {
                                hash = Self.gramStep(hash, scalars[start + length - 1])
                                guard gramLengths & (1 << (length - 1)) != 0 else { continue }
                                let bit = Self.presenceBit(hash)
                                guard presence[bit >> 6] & (1 << UInt64(bit & 63)) != 0, let filed = byGram[hash] else { continue }
                                let offset = form.offsets[start]
                                for keyword in filed {
                                    let index = Int(keyword.entry)
                                    guard found[index >> 6] & (1 << (index & 63)) == 0,
                                          Self.occurs(UnsafeBufferPointer(rebasing: keywords[Int(keyword.start)..<Int(keyword.start + keyword.count)]), in: text, at: offset)
                                    else { continue }
                                    found[index >> 6] |= 1 << (index & 63)
                                    candidates.append(index)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard !candidates.isEmpty else { return [] }
        candidates.sort()
        // The program's criteria packed once for all its candidates (``Eligibility/quickCheck``
        // packed them, and the profile, anew for each candidate).
        let criteria = EligibilityTable(CollectionOfOne(program.eligibility))
        var matched: [String] = []
        // In place: a copy of an entry retains its id and profile (a tenth of `matches` in `perf`).
        entries.withUnsafeBufferPointer { entries in
            for index in candidates {
                guard entries[index].active else { continue }
                if let agency = entries[index].agency, agency != program.owner { continue }
                if let category = entries[index].category, category != program.category { continue }
                if let profile = entries[index].profile, criteria.classify(0, profile) == .ineligible { continue }
                matched.append(entries[index].id)
            }
        }
        return matched
    }

    /// Whether `needle` is the text's bytes at `offset`.
    @inline(__always)
    static func occurs(_ needle: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        guard offset + needle.count <= text.count else { return false }
        for index in 0..<needle.count where text[offset + index] != needle[index] { return false }
        return true
    }
}
