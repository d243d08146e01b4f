public import Foundation
public import HanaroCore

/// The resyncs admins asked for, with their progress: what `hanaro resync --wait` follows. Kept
/// in memory (the last 100) until the node restarts.
public actor ResyncJobs {
    private var jobs: [String: ResyncJob] = [:]
    private var order: [String] = []
    private var sequence = 0

    public init() {}

    func create(agency: String, full: Bool) -> ResyncJob {
        sequence += 1
        let id = "r\(Int(Date().timeIntervalSince1970))-\(sequence)"
        let job = ResyncJob(id: id, agency: agency, full: full, state: .queued, requestedAt: Date(), itemsRead: 0, pagesRead: 0)
        jobs[id] = job
        order.append(id)
        if order.count > 100 { jobs[order.removeFirst()] = nil }
        return job
    }

    func update(_ id: String, _ change: (inout ResyncJob) -> Void) {
        guard var job = jobs[id] else { return }
        change(&job)
        jobs[id] = job
    }

    public func job(_ id: String) -> ResyncJob? { jobs[id] }

    /// Whether a resync of `agency` (or of all) is queued or running.
    public func isRunning(_ agency: AgencyID) -> Bool {
        // A job with its finish time set is done with the agency (it is only writing its report).
        jobs.values.contains { ($0.agency == agency.rawValue || $0.agency == "all") && !$0.state.isFinished && $0.finishedAt == nil }
    }
}
