import Foundation
public import HanaroCore

/// One agency's back-end, simulated: its programs, its counsellors' referral events and its
/// referral intake, served in the agency's native format by ``SimulatorServer``, with control
/// operations (create, change, delete, advance a referral) and fault injection.
public actor AgencySimulator {
    public let agency: AgencyID
    /// The credential the native API expects (`serviceKey`, `Authorization: Infuser`, `authKey`...).
    public let serviceKey: String
    var dataSet: SimulatorDataSet
    var programs: [String: SimulatedProgram] = [:]
    /// Programs the agency stopped listing (kept so that they can come back).
    var unlisted: [String: SimulatedProgram] = [:]
    var events: [SimulatedReferralEvent] = []
    var intake: [String: [String: String]] = [:]
    /// Referral ids the intake refuses (as an agency's validation would: HTTP 400).
    var refusedAtIntake: Set<String> = []
    var faults = SimulatorFaults()
    var sortedPrograms: [SimulatedProgram]? {
        didSet { if sortedPrograms == nil { programsVersion += 1; renderedProgramPages.removeAll() } }
    }
    /// Bumped whenever the program list changes.
    var programsVersion = 0
    /// Program-list answers kept as rendered bytes (``cacheProgramPages(_:)``).
    var cachesProgramPages = false
    var renderedProgramPages: [String: [UInt8]] = [:]
    var previousPrograms: Page<SimulatedProgram>?
    var eventSequence = 0
    var referralSequence = 0
    public private(set) var nativeRequests = 0
    /// Programs changed by the `changeWhilePaging` fault so far.
    public internal(set) var changedWhilePaging = 0
    /// The agency's clock: its records' stamps and the `Date` of its answers (tests move it by hand).
    public nonisolated let clock: any WallClock

    /// - Parameters:
    ///   - programs: how many programs the seeded data set holds.
    ///   - clock: the agency's clock (default: the machine's).
    public init(agency: AgencyID, seed: UInt64 = 1, programs count: Int = 2_000, serviceKey: String = "demo-key", clock: any WallClock = MachineClock()) {
        self.agency = agency
        self.serviceKey = serviceKey
        self.clock = clock
        var dataSet = SimulatorDataSet(agency: agency, seed: seed)
        for program in dataSet.seed(count: count, now: Int64(clock.nowMilliseconds() / 1000)) { programs[program.id] = program }
        self.dataSet = dataSet
    }

    /// The agency's clock, to the second.
    public func now() -> AgencyTimestamp { AgencyTimestamp(secondsSince1970: Int64(clock.nowMilliseconds() / 1000)) }

    /// The agency's clock as an HTTP `Date` (RFC 9110 IMF-fixdate).
    public nonisolated func httpDate() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(clock.nowMilliseconds() / 1000)))
    }
}

/// The machine's wall clock.
public struct MachineClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

extension AgencySimulator {

    // MARK: - What the tests compare with

    /// The canonical records an adapter must hold after reading everything: the latest state of
    /// every program that can be mapped.
    public func expectedPrograms() -> [ProgramRecord] {
        programs.values.compactMap { $0.expected(for: agency) }.sorted { $0.nativeID < $1.nativeID }
    }

    /// The ids the agency lists now.
    public func listedIDs() -> [String] { programs.keys.sorted() }

    /// The ids of the programs rendered malformed.
    public func malformedIDs() -> [String] { programs.values.filter(\.isMalformed).map(\.id).sorted() }

    public var programCount: Int { programs.count }

    /// What reached the agency's intake, by referral id (the fields as delivered).
    public func intakeSnapshot() -> [String: [String: String]] { intake }

    // MARK: - Control

    @discardableResult
    public func createProgram() -> SimulatedProgram {
        let program = dataSet.makeProgram(updatedAt: now())
        store(program)
        return program
    }

    @discardableResult
    public func changeProgram(_ id: String) -> SimulatedProgram? {
        guard let program = programs[id] else { return nil }
        let changed = dataSet.change(program, at: now())
        store(changed)
        return changed
    }

    @discardableResult
    public func deleteProgram(_ id: String) -> SimulatedProgram? {
        guard var program = programs[id] else { return nil }
        program.isDeleted = true
        program.updatedAt = now()
        store(program)
        return program
    }

    /// The agency stops listing a program (no tombstone, no trace: how a list without update stamps
    /// loses an item); ``relist(_:)`` puts it back.
    /// - Returns: false when there is no such program.
    @discardableResult
    public func unlist(_ id: String) -> Bool {
        guard let program = programs.removeValue(forKey: id) else { return false }
        unlisted[id] = program
        sortedPrograms = nil
        return true
    }

    /// Lists an unlisted program again.
    @discardableResult
    public func relist(_ id: String) -> Bool {
        guard let program = unlisted.removeValue(forKey: id) else { return false }
        store(program)
        return true
    }

    /// A counsellor of this agency refers an owner to `target`.
    /// - Returns: the referral id.
    @discardableResult
    public func createReferral(to target: AgencyID, fields overrides: [String: String] = [:]) -> String {
        referralSequence += 1
        let referralID = "\(agency.rawValue.uppercased())-R\(String(format: "%06d", referralSequence))"
        var fields = dataSet.referralFields(target: target)
        fields.merge(overrides) { $1 }
        appendEvent(kind: .created, referralID: referralID, origin: agency, target: target, status: "sent", note: nil, fields: fields)
        return referralID
    }

    /// A counsellor of this agency moves a referral's status (one it received, or one it sent).
    /// - Returns: false when the agency knows no such referral.
    @discardableResult
    public func setReferralStatus(_ referralID: String, to status: String, note: String? = nil) -> Bool {
        if let delivered = intake[referralID], let origin = AgencyID(rawValue: delivered["orgnAgency"] ?? ""),
           let target = AgencyID(rawValue: delivered["trgtAgency"] ?? "") {
            appendEvent(kind: .status, referralID: referralID, origin: origin, target: target, status: status, note: note, fields: [:])
            return true
        }
        if let created = events.first(where: { $0.referralID == referralID && $0.kind == .created }) {
            appendEvent(kind: .status, referralID: referralID, origin: created.origin, target: created.target, status: status, note: note, fields: [:])
            return true
        }
        return false
    }

    /// Keeps each program-list answer as the bytes first rendered, until the list changes or a
    /// fault is set: as an agency's HTTP cache would. For benchmarks, where the simulator shares
    /// the machine with the node under test and its rendering would otherwise be counted as ours.
    public func cacheProgramPages(_ on: Bool) {
        cachesProgramPages = on
        renderedProgramPages.removeAll()
    }

    /// The rendered answer kept for a page of the list, its key, and the list's version (pass
    /// both back to keep one). A window that holds every program (a bound below the oldest or
    /// above the newest stamp) is the same answer as no bound, and is kept under the same key.
    func renderedProgramPage(since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> (key: String, bytes: [UInt8]?, version: Int) {
        guard cachesProgramPages, faults == SimulatorFaults() else { return ("", nil, programsVersion) }
        let stamps = programs.values.map(\.updatedAt)
        let since = since.flatMap { since in stamps.min().map { $0 >= since } == true ? nil : since }
        let until = until.flatMap { until in stamps.max().map { $0 < until } == true ? nil : until }
        let key = "\(since?.digits ?? "-") \(until?.digits ?? "-") \(offset) \(limit)"
        return (key, renderedProgramPages[key], programsVersion)
    }

    func keepRenderedProgramPage(_ key: String, _ bytes: [UInt8], version: Int) {
        guard cachesProgramPages, !key.isEmpty, faults == SimulatorFaults(), version == programsVersion else { return }
        renderedProgramPages[key] = bytes
    }

    /// Renders the malformed programs well again (the agency fixed its data), updated now.
    public func repairMalformed() {
        for var program in programs.values where program.isMalformed {
            program.isMalformed = false
            program.updatedAt = now()
            store(program)
        }
    }

    public func setFaults(_ newFaults: SimulatorFaults) {
        faults = newFaults
        if newFaults.malformedRecords > 0 {
            let victims = programs.values.filter { !$0.isMalformed }.sorted { $0.position < $1.position }.prefix(newFaults.malformedRecords)
            for var victim in victims {
                victim.isMalformed = true
                victim.updatedAt = now()
                store(victim)
            }
            faults.malformedRecords = 0
        }
    }

    /// Makes the intake refuse (or take again) deliveries of one referral.
    public func refuseAtIntake(_ id: String, _ refuse: Bool = true) {
        if refuse { refusedAtIntake.insert(id) } else { refusedAtIntake.remove(id) }
    }

    /// Takes a delivery from Hanaro (an upsert keyed by referral id).
    func receive(_ fields: [String: String]) -> Bool {
        guard let id = fields["rfrlId"], !id.isEmpty, !refusedAtIntake.contains(id) else { return false }
        intake[id] = fields
        return true
    }

    private func store(_ program: SimulatedProgram) {
        programs[program.id] = program
        sortedPrograms = nil
    }

    private func appendEvent(kind: SimulatedReferralEvent.Kind, referralID: String, origin: AgencyID, target: AgencyID, status: String?, note: String?, fields: [String: String]) {
        eventSequence += 1
        events.append(SimulatedReferralEvent(id: "EV\(String(format: "%08d", eventSequence))", kind: kind, referralID: referralID,
                                             origin: origin, target: target, status: status, note: note, fields: fields, updatedAt: now()))
    }

    // MARK: - Serving

    /// A fault instead of an answer.
    enum Fault: Sendable {
        case error
        case rateLimited(retryAfter: Int)
    }

    /// A page of a window and the window's total count.
    struct Page<Item: Sendable>: Sendable {
        var items: [Item]
        var total: Int
    }

    /// Applies the pending faults to a native request; nil when it is served normally.
    func fault() async -> Fault? {
        nativeRequests += 1
        if faults.latencyMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(faults.latencyMilliseconds)) }
        if faults.rateLimited > 0 {
            faults.rateLimited -= 1
            return .rateLimited(retryAfter: faults.retryAfterSeconds)
        }
        if faults.errorBurst > 0 {
            if faults.errorAfterPages > 0 {
                faults.errorAfterPages -= 1
                return nil
            }
            faults.errorBurst -= 1
            return .error
        }
        return nil
    }

    /// Whether this answer's body is to be cut short.
    func takeTruncation() -> Bool {
        guard faults.truncate > 0 else { return false }
        faults.truncate -= 1
        return true
    }

    /// A page of programs: `since <= updated-at < until`, sorted by (updated-at, id).
    func programPage(since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> Page<SimulatedProgram> {
        if sortedPrograms == nil { sortedPrograms = programs.values.sorted { $0.position < $1.position } }
        let window = sortedPrograms!.filter { p in (since.map { p.updatedAt >= $0 } ?? true) && (until.map { p.updatedAt < $0 } ?? true) }
        if offset > 0, faults.duplicatePages > 0, let previous = previousPrograms {
            faults.duplicatePages -= 1
            return previous
        }
        let served = Page(items: Array(window.dropFirst(max(0, offset)).prefix(max(0, limit))), total: window.count)
        previousPrograms = served
        // The trigger is a real first page (not a one-item probe).
        if offset == 0, limit > 1, faults.changeWhilePaging > 0, !served.items.isEmpty {
            // Change records this read already took: they move behind it and positions shift.
            for program in served.items.prefix(faults.changeWhilePaging) where changeProgram(program.id) != nil { changedWhilePaging += 1 }
            faults.changeWhilePaging = 0
        }
        return served
    }

    /// A page of referral events: `since <= updated-at < until`, sorted by (updated-at, id).
    func eventPage(since: AgencyTimestamp?, until: AgencyTimestamp?, offset: Int, limit: Int) -> Page<SimulatedReferralEvent> {
        let window = events.filter { e in (since.map { e.updatedAt >= $0 } ?? true) && (until.map { e.updatedAt < $0 } ?? true) }
            .sorted { $0.position < $1.position }
        return Page(items: Array(window.dropFirst(max(0, offset)).prefix(max(0, limit))), total: window.count)
    }

    /// All programs updated on one day (kamco's daily export), in (updated-at, id) order.
    func programsOfDay(_ day: LocalDate) -> [SimulatedProgram] {
        programs.values.filter { $0.updatedAt.date == day }.sorted { $0.position < $1.position }
    }

    /// All referral events of one day (kamco's daily export).
    func eventsOfDay(_ day: LocalDate) -> [SimulatedReferralEvent] {
        events.filter { $0.updatedAt.date == day }.sorted { $0.position < $1.position }
    }
}
