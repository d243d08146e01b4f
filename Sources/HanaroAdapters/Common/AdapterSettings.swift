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

    public init(baseURL: String, serviceKey: String, requestsPerSecond: Double = 20, timeoutSeconds: Int = 30, caPath: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.serviceKey = serviceKey
        self.requestsPerSecond = requestsPerSecond
        self.timeoutSeconds = timeoutSeconds
        self.caPath = caPath
    }
}

