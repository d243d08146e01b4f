public import HanaroCore

/// How to reach one agency's native API: plain values from `agencies/<id>.yaml` (`adapter.*`),
/// parsed at the edge by the daemon's configuration loader.
public struct AdapterSettings: Sendable, Hashable {
    /// `adapter.base_url`: the API's root (`https://host:port`), without a trailing slash.
    public var baseURL: String
    /// `adapter.service_key` (or the `service_key_file` it was read from): the credential.
    public var serviceKey: String
    /// `adapter.rate_limit`: requests per second at most (default 20).
    public var requestsPerSecond: Double = 20
    /// `adapter.timeout`: per request, seconds (default 30).
    public var timeoutSeconds = 30
    /// `adapter.ca`: a CA certificate (PEM) to trust for the agency's HTTPS, beyond the system's.
    public var caPath: String?
    /// `adapter.programs_path`: the path of the program list (default: the agency format's).
    public var programsPath: String?
    /// `adapter.referral_events` / `adapter.referral_events_path`: read the agency's
    /// referral-event feed (at the format's default path, or this one). No agency publishes one
    /// today, so referral events are read only where one is configured.
    public var referralEvents = false
    public var referralEventsPath: String?
    /// `adapter.intake_path`: where referrals are delivered (default: the agency format's).
    public var intakePath: String?
    /// `adapter.columns` (file exports): canonical field → the column header that holds it.
    public var columns: [String: String] = [:]
    /// `adapter.export` (file exports): what one daily file holds.
    public var export: ExportKind = .changes
    /// `adapter.file_pattern` (file exports): the file names, `{date}` standing for `yyyyMMdd`.
    public var filePattern = "programs-{date}.csv"

    /// What one file of a daily export holds.
    public enum ExportKind: String, Sendable, Hashable, CaseIterable {
        /// The programs that changed that day (the safe reading: nothing is ever closed for being
        /// absent from a file).
        case changes
        /// The agency's whole list that day: the newest file is a snapshot, and a program absent
        /// from two consecutive days' files is closed (the same file read again counts once).
        case snapshot
    }

    /// Whether referral events are read from the agency.
    public var readsReferralEvents: Bool { referralEvents || referralEventsPath != nil }

    public init(baseURL: String, serviceKey: String, requestsPerSecond: Double = 20, timeoutSeconds: Int = 30, caPath: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.serviceKey = serviceKey
        self.requestsPerSecond = requestsPerSecond
        self.timeoutSeconds = timeoutSeconds
        self.caPath = caPath
    }
}

