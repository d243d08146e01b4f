public import Foundation
public import HanaroCore

/// The resyncs admins asked for, with their progress: what `hanaro resync --wait` follows.
public actor ResyncJobs {
    /// One resync, as `GET /admin/resync/ID` reports it.
    public struct Job: Codable, Sendable, Hashable {
        public var id: String
        public var agency: String
        public var full: Bool
        /// `queued`, `running`, `done`, `failed`.
        public var state: String
        public var step: String?
        public var requestedAt: Date
        public var finishedAt: Date?
        /// Items read so far (records or events), and pages.
        public var itemsRead: Int
        public var pagesRead: Int
        public var error: String?
        public var programsBefore: Int64?
        public var referralsBefore: Int64?
        public var digestBefore: String?
        public var programsAfter: Int64?
        public var referralsAfter: Int64?
        public var digestAfter: String?
    }

    private var jobs: [String: Job] = [:]
    private var order: [String] = []
    private var sequence = 0

    public init() {}

    func create(agency: String, full: Bool) -> Job {
        sequence += 1
        let id = "r\(Int(Date().timeIntervalSince1970))-\(sequence)"
        let job = Job(id: id, agency: agency, full: full, state: "queued", requestedAt: Date(), itemsRead: 0, pagesRead: 0)
        jobs[id] = job
        order.append(id)
        if order.count > 100 { jobs[order.removeFirst()] = nil }
        return job
    }

    func update(_ id: String, _ change: (inout Job) -> Void) {
        guard var job = jobs[id] else { return }
        change(&job)
        jobs[id] = job
    }

    public func job(_ id: String) -> Job? { jobs[id] }

    /// Whether a resync of `agency` (or of all) is queued or running.
    public func isRunning(_ agency: AgencyID) -> Bool {
        jobs.values.contains { ($0.agency == agency.rawValue || $0.agency == "all") && ($0.state == "running" || $0.state == "queued") }
    }
}
