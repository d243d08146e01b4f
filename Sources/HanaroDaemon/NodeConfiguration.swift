public import HanaroCore
public import HanaroAdapters
public import HanaroStore

/// A node's configuration: plain values with documented defaults. Parsing happens only at the edge
/// (``NodeConfiguration/load(from:)``); everything else takes this struct.
public struct NodeConfiguration: Sendable, Hashable {
    /// The agency this node acts for (`node.agency`, required).
    public var agency: AgencyID
    /// Where the replica lives (`node.data_dir`, required; owner-only directory).
    public var dataDirectory: String
    /// The key file that encrypts personal fields (`node.key_file`, default `<data_dir>/replica.key`).
    public var keyFile: String
    /// Where the `agencies/<id>.yaml` files are (`node.agencies_dir`, default `agencies` next to the node file).
    public var agenciesDirectory: String
    /// Federation listen address (`federation.listen`, default `0.0.0.0:8443`).
    public var federationHost = "0.0.0.0"
    public var federationPort = 8443
    /// This node's certificate, private key and the federation CA (`federation.certificate`,
    /// `federation.private_key`, `federation.ca`, required, PEM).
    public var certificate: String
    public var privateKey: String
    public var ca: String
    /// The key that signs every version this agency authors (`federation.signing_key`, default
    /// `<agency>-signing.key` beside `federation.private_key`; `hanaro keys generate`; 0600).
    public var signingKey: String = ""
    /// This agency's earlier signing keys after a rotation (`federation.previous_signing_keys`,
    /// key files, 0600), kept only to open personal parts sealed to them before the rotation.
    public var previousSigningKeys: [String] = []
    /// Versions per pull (`federation.page_size`, default 1000).
    public var pageSize = 1000
    /// How long a pull waits for news when caught up (`federation.long_poll_seconds`, default 25).
    public var longPollSeconds = 25
    /// How often the agency's log is checkpointed and offered to the witnesses
    /// (`federation.checkpoint_seconds`, default 5; only when it grew).
    public var checkpointSeconds = 5
    /// Witness cosignatures a checkpoint needs (`federation.witness_quorum`, default 2, at most
    /// the number of peers with a federation URL); fewer shows on `/status` and in the metrics.
    public var witnessQuorum = 2
    /// Whether pulls ask peers for gzip pages (`federation.compress_pages`, default true).
    public var compressPages = true
    /// Status port (`status.listen`, default `127.0.0.1:9464`).
    public var statusHost = "127.0.0.1"
    public var statusPort = 9464
    /// The admin API's Unix socket (`admin.socket`, default `<data_dir>/admin.sock`; the unit file
    /// sets `/run/hanaro/admin.sock`). Owner-only.
    public var adminSocket: String = ""
    /// The bearer token that opens `/admin` on the status port (read from `status.admin_token_file`;
    /// none: the admin API is only on the socket).
    public var adminToken: String?
    /// The institutions, from `agencies/<id>.yaml`.
    public var agencies: [AgencyID: AgencyConfiguration] = [:]
    /// The Agency API (`api.*`); nil when `api.listen` is not set.
    public var api: APIConfiguration?

    /// The replica file.
    public var replicaPath: String { dataDirectory + "/replica.sqlite" }

    /// The peers this node exchanges with: every other agency that runs a node.
    public var peers: [AgencyConfiguration] {
        agencies.values.filter { $0.id != agency && $0.federationURL != nil }.sorted { $0.id < $1.id }
    }
}

/// The Agency API's listener (`api.*` of the node file): the agency's own systems search programs,
/// check eligibility, send and receive referrals and subscribe to webhooks through it.
public struct APIConfiguration: Sendable, Hashable {
    /// `api.listen` (`HOST:PORT`, e.g. `127.0.0.1:8080`).
    public var host: String
    public var port: Int
    /// The clients, from `api.tokens_file` (required; lines `<name> <scopes> sha256:<hex>`).
    public var tokens: [APIToken]
    /// `api.tokens_file` itself: the node reads it again when it changes (``TokenFile``), so a
    /// client added or removed takes effect without a restart. Nil: `tokens` only.
    public var tokensFile: String?
    /// `api.certificate`, `api.private_key` (PEM): HTTPS when both are set; required when
    /// `api.listen` is beyond loopback (bearer tokens must not cross a network in clear).
    public var certificate: String?
    public var privateKey: String?
    /// `api.max_connections` (default 256).
    public var maxConnections = 256
    /// `api.max_concurrent_searches` (default 2, at most 3: the replica's readers; one is left
    /// for the federation and the status port by default) and `api.max_queued_searches` (default
    /// 16): program searches and eligibility checks running at once, and waiting for a turn.
    /// Beyond them, and after a second's wait, a call is refused with 503 and `Retry-After`.
    public var maxConcurrentSearches = 2
    public var maxQueuedSearches = 16
    /// `api.allow_http_webhooks` (default false): webhook URLs may be `http://` beyond loopback.
    public var allowHTTPWebhooks = false

    public init(host: String, port: Int, tokens: [APIToken]) {
        self.host = host
        self.port = port
        self.tokens = tokens
    }
}

/// One institution, from `agencies/<id>.yaml`.
public struct AgencyConfiguration: Sendable, Hashable {
    /// `id`: must equal the file name.
    public var id: AgencyID
    /// `name.ko`, `name.en` (defaults: the governed names).
    public var koreanName: String
    public var englishName: String
    /// `federation.url`: the agency's node, if it runs Hanaro (`https://host:port`).
    public var federationURL: String?
    /// `federation.fingerprint`: optional pin of its certificate (`sha256:<hex>`).
    public var fingerprint: String?
    /// `signing_keys`: the agency's public version-signing keys, old ones included (a retired key
    /// carries ` retired <ISO 8601 time>`): every version the agency authors must verify under one.
    public var signingKeys: [AgencyVerifierKey] = []
    /// `stale_after`: how old its freshest complete pull may be before it is `stale` (default 15m).
    public var staleAfterSeconds: Int = 900
    /// `adapter.*`: the agency's native API, if a node reads it.
    public var adapter: AdapterConfiguration?
}

/// How a node reads an agency's native API (`adapter.*` of `agencies/<id>.yaml`).
public struct AdapterConfiguration: Sendable, Hashable {
    /// `adapter.base_url` (required): the API's root, `https://host[:port]` (`http://` only for loopback).
    public var baseURL: String
    /// `adapter.service_key_file` (preferred; relative to the agencies directory) or
    /// `adapter.service_key`: the credential.
    public var serviceKey: String
    /// `adapter.run_by`: the agency whose node runs this adapter (default: the agency itself). A
    /// node runs the adapter of an agency that does not run Hanaro: hub mode.
    public var runBy: AgencyID
    /// `adapter.page_size` (default 100, 1…1000).
    public var pageSize = 100
    /// `adapter.poll_interval` (default 60s).
    public var pollIntervalSeconds = 60
    /// `adapter.rate_limit`: requests per second at most (default 20).
    public var requestsPerSecond: Double = 20
    /// `adapter.timeout` (default 30s).
    public var timeoutSeconds = 30
    /// `adapter.ca`: an extra CA (PEM) to trust for the agency's HTTPS.
    public var caPath: String?
    /// `adapter.programs_path`, `adapter.intake_path`: paths other than the format's defaults.
    public var programsPath: String?
    public var intakePath: String?
    /// `adapter.referral_events` (bool) / `adapter.referral_events_path`: read the agency's
    /// referral-event feed (off by default: no agency publishes one).
    public var referralEvents = false
    public var referralEventsPath: String?
    /// `adapter.columns.<field>` (file exports): the header of each canonical field.
    public var columns: [String: String] = [:]
    /// `adapter.export` (file exports): `changes` (default) or `snapshot`.
    public var export = "changes"
    /// `adapter.file_pattern` (file exports), default `programs-{date}.csv`.
    public var filePattern = "programs-{date}.csv"
    /// `degraded_after` (of the agency file): the share of quarantined items above which a
    /// complete read is `degraded` (default 50%).
    public var degradedAfter = 0.5

    /// The adapter's settings.
    public var settings: AdapterSettings {
        var settings = AdapterSettings(baseURL: baseURL, serviceKey: serviceKey, requestsPerSecond: requestsPerSecond, timeoutSeconds: timeoutSeconds, caPath: caPath)
        settings.programsPath = programsPath
        settings.intakePath = intakePath
        settings.referralEvents = referralEvents
        settings.referralEventsPath = referralEventsPath
        settings.columns = columns
        settings.export = AdapterSettings.ExportKind(rawValue: export) ?? .changes
        settings.filePattern = filePattern
        return settings
    }
}

extension NodeConfiguration {
    /// The agencies whose adapters this node runs: every agency whose `adapter.run_by` is this
    /// node's agency (its own, and in hub mode those that do not run Hanaro).
    public var adapterAgencies: [AgencyConfiguration] {
        agencies.values.filter { $0.adapter?.runBy == agency }.sorted { $0.id < $1.id }
    }
}
