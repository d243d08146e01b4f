import Configuration
public import HanaroCore
public import Foundation
import SystemPackage
import HanaroAdapters
import HanaroFederation
public import HanaroStore

extension NodeConfiguration {
    /// The node file (YAML), with environment variables overriding any of its keys.
    /// - Throws: ``ConfigurationError`` when it cannot be read or is not YAML.
    static func nodeFileReader(_ path: String, environment: [String: String]) async throws(ConfigurationError) -> ConfigReader {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(["\(path): cannot read the node configuration file; check the path given to --config"])
        }
        do {
            let yaml = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            return ConfigReader(providers: [EnvironmentVariablesProvider(environmentVariables: environment), yaml])
        } catch {
            throw ConfigurationError(["\(path): not valid YAML (\(error)); fix the syntax"])
        }
    }

    /// Reads the node file (YAML) and every `agencies/<id>.yaml`, with environment variables
    /// overriding any key of the node file (`node.data_dir` ← `NODE_DATA_DIR`).
    ///
    /// Relative paths are taken from the node file's directory.
    /// - Throws: ``ConfigurationError`` listing every problem found, each with file and key.
    public static func load(from path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(ConfigurationError) -> NodeConfiguration {
        let reader = try await nodeFileReader(path, environment: environment)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ value: String) -> String { value.hasPrefix("/") ? value : base + "/" + value }
        var problems: [String] = []
        func required(_ key: String, _ hint: String) -> String? {
            guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else {
                problems.append("\(path): \(key): required; \(hint)")
                return nil
            }
            return value
        }
        func address(_ key: String, default fallback: String) -> (String, Int)? {
            let text = reader.string(forKey: ConfigKey(key)) ?? fallback
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                problems.append("\(path): \(key): \"\(text)\" is not HOST:PORT")
                return nil
            }
            return (String(text[..<colon]), port)
        }

        let agencyText = required("node.agency", "one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))")
        let agency = agencyText.flatMap { AgencyID(rawValue: $0) }
        if let agencyText, agency == nil {
            problems.append("\(path): node.agency: unknown agency \"\(agencyText)\"; expected one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let dataDirectory = required("node.data_dir", "the directory of the replica (owned by the service user, mode 0700)").map(resolve)
        let certificate = required("federation.certificate", "this node's certificate (PEM); `hanaro certs` makes development ones").map(resolve)
        let privateKey = required("federation.private_key", "this node's private key (PEM, mode 0600)").map(resolve)
        let ca = required("federation.ca", "the federation CA certificate (PEM)").map(resolve)
        for (key, file) in [("federation.certificate", certificate), ("federation.private_key", privateKey), ("federation.ca", ca)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                problems.append("\(path): \(key): cannot read \(file); check the path and that the service user may read it")
            }
        }
        let federation = address("federation.listen", default: "0.0.0.0:8443")
        let status = address("status.listen", default: "127.0.0.1:9464")
        let pageSize = reader.int(forKey: "federation.page_size", default: 1000)
        if !(1...5000).contains(pageSize) { problems.append("\(path): federation.page_size: \(pageSize) is outside 1...5000") }
        let longPoll = reader.int(forKey: "federation.long_poll_seconds", default: 25)
        if !(1...60).contains(longPoll) { problems.append("\(path): federation.long_poll_seconds: \(longPoll) is outside 1...60") }
        let checkpointSeconds = reader.int(forKey: "federation.checkpoint_seconds", default: 5)
        if !(1...3600).contains(checkpointSeconds) { problems.append("\(path): federation.checkpoint_seconds: \(checkpointSeconds) is outside 1...3600") }
        let witnessQuorum = reader.int(forKey: "federation.witness_quorum", default: 2)
        if !(1...5).contains(witnessQuorum) { problems.append("\(path): federation.witness_quorum: \(witnessQuorum) is outside 1...5 (witnesses are the other agencies' nodes)") }
        let compressPages = reader.bool(forKey: "federation.compress_pages", default: true)
        let agenciesDirectory = resolve(reader.string(forKey: "node.agencies_dir") ?? "agencies")

        let (agencies, agencyProblems) = await collectAgencies(from: agenciesDirectory, configuredIn: path)
        problems += agencyProblems
        if let agency, !agencies.isEmpty, agencies[agency] == nil {
            problems.append("\(agenciesDirectory)/\(agency.rawValue).yaml: missing; every node needs the file of its own agency")
        }
        // Hub mode: `node.hub_for` lists the agencies whose adapters this node runs besides its
        // own; it must agree with each agency file's `adapter.run_by` (one authority per adapter).
        let hubNames = reader.stringArray(forKey: "node.hub_for")
            ?? (reader.string(forKey: "node.hub_for") ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        if let agency {
            for name in hubNames where !name.isEmpty {
                guard let hubbed = AgencyID(rawValue: name) else {
                    problems.append("\(path): node.hub_for: unknown agency \"\(name)\"")
                    continue
                }
                guard let file = agencies[hubbed], let adapter = file.adapter else {
                    problems.append("\(path): node.hub_for: \(name) has no adapter section in \(agenciesDirectory)/\(name).yaml; add adapter.base_url and adapter.run_by: \(agency.rawValue)")
                    continue
                }
                if adapter.runBy != agency {
                    problems.append("\(path): node.hub_for: names \(name), but \(agenciesDirectory)/\(name).yaml adapter.run_by is \(adapter.runBy.rawValue): exactly one node may be authoritative for an agency's adapter")
                }
            }
        }
        // The files the node will need, checked now so that every problem is listed at once.
        let keyFile = reader.string(forKey: "node.key_file").map(resolve) ?? dataDirectory.map { $0 + "/replica.key" }
        if let dataDirectory {
            problems += Self.directoryProblems(dataDirectory, file: path, key: "node.data_dir")
        }
        if let keyFile, FileManager.default.fileExists(atPath: keyFile), let problem = Self.ownerOnlyProblem(keyFile) {
            problems.append("\(path): node.key_file: \(keyFile) \(problem)")
        }
        if let privateKey, FileManager.default.isReadableFile(atPath: privateKey), let problem = Self.ownerOnlyProblem(privateKey) {
            problems.append("\(path): federation.private_key: \(privateKey) \(problem)")
        }
        // The signing key: owner-only, this agency's, and listed in its own agency file (peers
        // verify every version this node authors against that list).
        let signingKey = reader.string(forKey: "federation.signing_key").map(resolve)
            ?? privateKey.flatMap { key in agency.map { URL(fileURLWithPath: key).deletingLastPathComponent().path + "/\($0.rawValue)-signing.key" } }
        if let signingKey, let agency {
            let (key, found) = Self.signingKeyFile(signingKey, setting: "federation.signing_key", of: agency, in: path,
                                                   missing: "make one with `hanaro keys generate --agency \(agency.rawValue) --out \(signingKey)` and list its public key in \(agenciesDirectory)/\(agency.rawValue).yaml signing_keys")
            problems += found
            if let key, let own = agencies[agency], !own.signingKeys.contains(where: { $0.text == key.verifier.text && $0.retiredAtMilliseconds == nil }) {
                problems.append("\(agenciesDirectory)/\(agency.rawValue).yaml: signing_keys: does not list this node's key as current; add \"\(key.verifier.text)\" (peers refuse what it signs otherwise)")
            }
        }
        // Earlier keys, for opening what was sealed to them: the same checks, and listed (retired).
        let previous = (reader.stringArray(forKey: "federation.previous_signing_keys") ?? reader.string(forKey: "federation.previous_signing_keys").map { [$0] } ?? []).map(resolve)
        for file in previous {
            guard let agency else { break }
            let (key, found) = Self.signingKeyFile(file, setting: "federation.previous_signing_keys", of: agency, in: path,
                                                   missing: "keep the key file the agency signed with before its rotation")
            problems += found
            if let key, let own = agencies[agency], !own.signingKeys.contains(where: { $0.text == key.verifier.text }) {
                problems.append("\(agenciesDirectory)/\(agency.rawValue).yaml: signing_keys: does not list the earlier key in \(file); keep its line, marked retired")
            }
        }
        if let certificate, let privateKey, let ca, [certificate, privateKey, ca].allSatisfy(FileManager.default.isReadableFile(atPath:)) {
            do {
                let tls = try TLSMaterial(certificatePath: certificate, keyPath: privateKey, caPath: ca)
                if let agency, tls.agency != agency {
                    problems.append("\(path): federation.certificate: \(certificate) names \(tls.agency.rawValue) but node.agency is \(agency.rawValue); use this agency's certificate")
                }
                if let chain = await tls.chainProblem() {
                    problems.append("\(path): federation.certificate: \(certificate) \(chain); issue it from the CA in \(ca) (`hanaro certs`, certs/README.md)")
                }
            } catch {
                problems.append("\(path): \(error.message)")
            }
        }
        if let tokenFile = reader.string(forKey: "status.admin_token_file").map(resolve) {
            if FileManager.default.fileExists(atPath: tokenFile), let problem = Self.ownerOnlyProblem(tokenFile) {
                problems.append("\(path): status.admin_token_file: \(tokenFile) \(problem)")
            }
            // The status port speaks plain HTTP: beyond loopback the token would cross the network in clear.
            if let host = status?.0, !Self.isLoopback(host) {
                problems.append("\(path): status.admin_token_file: the status port listens on \(host), beyond loopback, where the bearer token would travel in clear; bind status.listen to 127.0.0.1 (reach it through SSH or a TLS proxy) or remove admin_token_file and use the admin socket")
            }
        }
        let api = apiConfiguration(reader, file: path, resolve: resolve, problems: &problems, address: address)
        guard problems.isEmpty, let agency, let dataDirectory, let certificate, let privateKey, let ca, let federation, let status else {
            throw ConfigurationError(problems)
        }
        var configuration = NodeConfiguration(
            agency: agency, dataDirectory: dataDirectory,
            keyFile: keyFile ?? dataDirectory + "/replica.key",
            agenciesDirectory: agenciesDirectory, certificate: certificate, privateKey: privateKey, ca: ca)
        (configuration.federationHost, configuration.federationPort) = federation
        (configuration.statusHost, configuration.statusPort) = status
        configuration.signingKey = signingKey ?? ""
        configuration.previousSigningKeys = previous
        configuration.adminSocket = reader.string(forKey: "admin.socket").map(resolve) ?? dataDirectory + "/admin.sock"
        if let tokenFile = reader.string(forKey: "status.admin_token_file").map(resolve) {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), token.count >= 16 else {
                throw ConfigurationError(["\(path): status.admin_token_file: cannot read \(tokenFile), or it holds fewer than 16 characters; `openssl rand -hex 32 > \(tokenFile)` and chmod 0600"])
            }
            configuration.adminToken = token
        }
        configuration.pageSize = pageSize
        configuration.longPollSeconds = longPoll
        configuration.checkpointSeconds = checkpointSeconds
        configuration.witnessQuorum = witnessQuorum
        configuration.compressPages = compressPages
        configuration.api = api
        configuration.agencies = agencies
        return configuration
    }

    /// The `api.*` keys: `listen` (off when absent), `tokens_file` (required with it),
    /// `certificate` + `private_key` (HTTPS; required beyond loopback), `max_connections`
    /// (default 256), `max_concurrent_searches` (default 2, 1...3), `max_queued_searches` (default
    /// 16, 0...1000), `allow_http_webhooks` (default false).
    static func apiConfiguration(_ reader: ConfigReader, file path: String, resolve: (String) -> String, problems: inout [String],
                                 address: (String, String) -> (String, Int)?) -> APIConfiguration? {
        guard reader.string(forKey: "api.listen") != nil, let (host, port) = address("api.listen", "") else { return nil }
        guard let tokensFile = reader.string(forKey: "api.tokens_file").map(resolve) else {
            problems.append("\(path): api.tokens_file: required when api.listen is set; `hanaro tokens add --file api-tokens --name <client> --scopes read,refer,subscribe` makes one")
            return nil
        }
        guard let text = try? String(contentsOfFile: tokensFile, encoding: .utf8) else {
            problems.append("\(path): api.tokens_file: cannot read \(tokensFile); `hanaro tokens add --file \(tokensFile) --name <client> --scopes read` makes it")
            return nil
        }
        if let problem = Self.ownerOnlyProblem(tokensFile) { problems.append("\(path): api.tokens_file: \(tokensFile) \(problem)") }
        let (tokens, tokenProblems) = APIToken.parse(text, file: tokensFile)
        problems += tokenProblems.map { "\(path): api.tokens_file: \($0)" }
        if tokens.isEmpty && tokenProblems.isEmpty { problems.append("\(path): api.tokens_file: \(tokensFile) lists no client; `hanaro tokens add` adds one") }
        var api = APIConfiguration(host: host, port: port, tokens: tokens)
        api.tokensFile = tokensFile
        api.certificate = reader.string(forKey: "api.certificate").map(resolve)
        api.privateKey = reader.string(forKey: "api.private_key").map(resolve)
        if (api.certificate == nil) != (api.privateKey == nil) {
            problems.append("\(path): api.certificate and api.private_key: give both (HTTPS) or neither")
        }
        for (key, file) in [("api.certificate", api.certificate), ("api.private_key", api.privateKey)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) { problems.append("\(path): \(key): cannot read \(file)") }
        }
        if api.certificate == nil, !isLoopback(host) {
            problems.append("\(path): api.listen: \(host) is beyond loopback, where bearer tokens would travel in clear; set api.certificate and api.private_key (HTTPS) or listen on 127.0.0.1")
        }
        api.maxConnections = reader.int(forKey: "api.max_connections", default: 256)
        if !(1...10_000).contains(api.maxConnections) { problems.append("\(path): api.max_connections: \(api.maxConnections) is outside 1...10000") }
        api.maxConcurrentSearches = reader.int(forKey: "api.max_concurrent_searches", default: 2)
        if !(1...3).contains(api.maxConcurrentSearches) {
            problems.append("\(path): api.max_concurrent_searches: \(api.maxConcurrentSearches) is outside 1...3 (the replica has three reader connections)")
        }
        api.maxQueuedSearches = reader.int(forKey: "api.max_queued_searches", default: 16)
        if !(0...1_000).contains(api.maxQueuedSearches) { problems.append("\(path): api.max_queued_searches: \(api.maxQueuedSearches) is outside 0...1000") }
        api.allowHTTPWebhooks = reader.bool(forKey: "api.allow_http_webhooks", default: false)
        return api
    }

    /// Reads every `<id>.yaml` it can, and every problem found (the valid files are kept, so that
    /// checks across files still run).
    static func collectAgencies(from directory: String, configuredIn path: String) async -> ([AgencyID: AgencyConfiguration], [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return ([:], ["\(path): node.agencies_dir: cannot read the agencies directory \(directory); check the path (relative paths start at the node file's directory)"])
        }
        var problems: [String] = []
        var agencies: [AgencyID: AgencyConfiguration] = [:]
        for name in names.sorted() where name.hasSuffix(".yaml") {
            let file = directory + "/" + name
            let stem = String(name.dropLast(5))
            guard let expected = AgencyID(rawValue: stem) else {
                problems.append("\(file): the file name names no agency; expected <id>.yaml with id one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            let reader: ConfigReader
            do {
                reader = ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
            } catch {
                problems.append("\(file): not valid YAML (\(error))")
                continue
            }
            let id = reader.string(forKey: "id")
            if id != stem { problems.append("\(file): id: \"\(id ?? "")\" must equal the file name (\(stem))") }
            var agency = AgencyConfiguration(id: expected, koreanName: reader.string(forKey: "name.ko") ?? expected.koreanName,
                                             englishName: reader.string(forKey: "name.en") ?? expected.englishName)
            if let url = reader.string(forKey: "federation.url"), !url.isEmpty {
                if url.hasPrefix("https://"), URL(string: url)?.host != nil {
                    agency.federationURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                } else {
                    problems.append("\(file): federation.url: \"\(url)\" must be an https:// URL")
                }
            }
            if let pin = reader.string(forKey: "federation.fingerprint"), !pin.isEmpty {
                if pin.hasPrefix("sha256:"), pin.count == 71 {
                    agency.fingerprint = pin.lowercased()
                } else {
                    problems.append("\(file): federation.fingerprint: expected sha256:<64 hex digits> (`hanaro certs fingerprint FILE`)")
                }
            }
            let keyTexts = reader.stringArray(forKey: "signing_keys") ?? reader.string(forKey: "signing_keys").map { [$0] } ?? []
            for text in keyTexts {
                do {
                    let key = try AgencyVerifierKey(listed: text)
                    if key.agency == expected { agency.signingKeys.append(key) } else {
                        problems.append("\(file): signing_keys: a key of \(key.agency.rawValue) listed for \(expected.rawValue)")
                    }
                } catch {
                    problems.append("\(file): signing_keys: \(error.description)")
                }
            }
            if let stale = reader.string(forKey: "stale_after") {
                if let seconds = parseDuration(stale) { agency.staleAfterSeconds = seconds } else {
                    problems.append("\(file): stale_after: \"\(stale)\" is not a duration such as 90s, 15m or 2h")
                }
            }
            if reader.string(forKey: "adapter.base_url") != nil || reader.string(forKey: "adapter.run_by") != nil {
                agency.adapter = parseAdapter(reader, file: file, directory: directory, agency: expected, problems: &problems)
                if let text = reader.string(forKey: "degraded_after") {
                    if let share = parseShare(text) { agency.adapter?.degradedAfter = share } else {
                        problems.append("\(file): degraded_after: \"\(text)\" must be a share such as 50% or 0.5 (of a read's items quarantined)")
                    }
                }
            }
            agencies[expected] = agency
        }
        // One authority per adapter: an agency that runs its own node runs its own adapter.
        for agency in agencies.values.sorted(by: { $0.id < $1.id }) {
            guard let adapter = agency.adapter else { continue }
            let file = "\(directory)/\(agency.id.rawValue).yaml"
            if adapter.runBy != agency.id, agency.federationURL != nil {
                problems.append("\(file): adapter.run_by: \(adapter.runBy.rawValue) would run the adapter of \(agency.id.rawValue), which runs its own node (federation.url): two nodes would be authoritative; remove adapter.run_by or federation.url")
            }
            if adapter.runBy != agency.id, let runner = agencies[adapter.runBy], runner.federationURL == nil {
                problems.append("\(file): adapter.run_by: \(adapter.runBy.rawValue) runs no node (no federation.url in \(directory)/\(adapter.runBy.rawValue).yaml)")
            }
        }
        return (agencies, problems)
    }

    static func parseAdapter(_ reader: ConfigReader, file: String, directory: String, agency: AgencyID, problems: inout [String]) -> AdapterConfiguration? {
        let before = problems.count
        let base = reader.string(forKey: "adapter.base_url") ?? ""
        let loopback = base.hasPrefix("http://127.0.0.1") || base.hasPrefix("http://localhost")
        if base.isEmpty {
            problems.append("\(file): adapter.base_url: required in an adapter section (the agency API's https:// root)")
        } else if !(base.hasPrefix("https://") || loopback) || URL(string: base)?.host == nil {
            problems.append("\(file): adapter.base_url: \"\(base)\" must be an https:// URL (http:// only on loopback)")
        }
        var key = reader.string(forKey: "adapter.service_key") ?? ""
        if let keyFile = reader.string(forKey: "adapter.service_key_file") {
            let resolved = keyFile.hasPrefix("/") ? keyFile : directory + "/" + keyFile
            if let text = try? String(contentsOfFile: resolved, encoding: .utf8) {
                key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                problems.append("\(file): adapter.service_key_file: cannot read \(resolved)")
            }
        }
        if key.isEmpty, problems.count == before {
            problems.append("\(file): adapter: needs service_key_file (or service_key) — the credential the agency issued")
        }
        var runBy = agency
        if let text = reader.string(forKey: "adapter.run_by") {
            if let id = AgencyID(rawValue: text) { runBy = id } else {
                problems.append("\(file): adapter.run_by: unknown agency \"\(text)\"")
            }
        }
        var adapter = AdapterConfiguration(baseURL: base, serviceKey: key, runBy: runBy)
        let pageSize = reader.int(forKey: "adapter.page_size", default: 100)
        if (1...1000).contains(pageSize) { adapter.pageSize = pageSize } else {
            problems.append("\(file): adapter.page_size: \(pageSize) is outside 1...1000")
        }
        for (key, assign) in [("adapter.poll_interval", { (v: Int) in adapter.pollIntervalSeconds = v }), ("adapter.timeout", { (v: Int) in adapter.timeoutSeconds = v })] {
            if let text = reader.string(forKey: ConfigKey(key)) {
                if let seconds = parseDuration(text) { assign(seconds) } else {
                    problems.append("\(file): \(key): \"\(text)\" is not a duration such as 90s, 15m or 2h")
                }
            }
        }
        if let rate = reader.string(forKey: "adapter.rate_limit") {
            if let value = Double(rate), value > 0 { adapter.requestsPerSecond = value } else {
                problems.append("\(file): adapter.rate_limit: \"\(rate)\" must be a positive number of requests per second")
            }
        }
        for (key, assign) in [("adapter.programs_path", { (v: String) in adapter.programsPath = v }), ("adapter.intake_path", { (v: String) in adapter.intakePath = v }),
                              ("adapter.referral_events_path", { (v: String) in adapter.referralEventsPath = v })] {
            if let path = reader.string(forKey: ConfigKey(key)) {
                if path.hasPrefix("/") { assign(path) } else { problems.append("\(file): \(key): \"\(path)\" must be a path starting with /") }
            }
        }
        if let flag = reader.string(forKey: "adapter.referral_events") {
            switch flag.lowercased() {
            case "true", "yes", "on": adapter.referralEvents = true
            case "false", "no", "off": adapter.referralEvents = false
            default: problems.append("\(file): adapter.referral_events: \"\(flag)\" must be true or false")
            }
        }
        for field in KAMCOMapping.Field.allCases {
            if let column = reader.string(forKey: ConfigKey("adapter.columns.\(field.rawValue)")), !column.isEmpty { adapter.columns[field.rawValue] = column }
        }
        if let export = reader.string(forKey: "adapter.export") {
            if AdapterSettings.ExportKind(rawValue: export) != nil { adapter.export = export } else {
                problems.append("\(file): adapter.export: \"\(export)\" must be changes or snapshot")
            }
        }
        if let pattern = reader.string(forKey: "adapter.file_pattern") {
            if pattern.components(separatedBy: "{date}").count == 2 { adapter.filePattern = pattern } else {
                problems.append("\(file): adapter.file_pattern: \"\(pattern)\" must hold {date} once (yyyyMMdd), e.g. programs-{date}.csv")
            }
        }
        if let ca = reader.string(forKey: "adapter.ca") {
            let resolved = ca.hasPrefix("/") ? ca : directory + "/" + ca
            if FileManager.default.isReadableFile(atPath: resolved) { adapter.caPath = resolved } else {
                problems.append("\(file): adapter.ca: cannot read \(resolved)")
            }
        }
        return problems.count == before ? adapter : nil
    }

    /// Whether a listen host is reachable only from this machine.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Why a secret file is not owner-only (group or others may read it), or nil.
    /// A signing key file named by `setting`: readable, owner-only, a key, this agency's. The key
    /// when it is all of these, else the problems found (each naming the node file and setting).
    static func signingKeyFile(_ file: String, setting: String, of agency: AgencyID, in path: String, missing: String) -> (AgencySigningKey?, [String]) {
        guard FileManager.default.isReadableFile(atPath: file) else { return (nil, ["\(path): \(setting): cannot read \(file); \(missing)"]) }
        if let problem = ownerOnlyProblem(file) { return (nil, ["\(path): \(setting): \(file) \(problem)"]) }
        do {
            let key = try AgencySigningKey(text: (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
            guard key.agency == agency else { return (nil, ["\(path): \(setting): \(file) is a key of \(key.agency.rawValue), not of \(agency.rawValue)"]) }
            return (key, [])
        } catch {
            return (nil, ["\(path): \(setting): \(file) \(error.description)"])
        }
    }

    static func ownerOnlyProblem(_ file: String) -> String? {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? Int else { return nil }
        guard mode & 0o077 != 0 else { return nil }
        return "is readable by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(file)`"
    }

    /// Why a data directory cannot serve: missing, not a directory, or open to others.
    static func directoryProblems(_ directory: String, file: String, key: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            return ["\(file): \(key): \(directory) does not exist; create it, owned by the service user, mode 0700 (`install -d -m 0700 \(directory)`)"]
        }
        guard isDirectory.boolValue else { return ["\(file): \(key): \(directory) is not a directory"] }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: directory))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            return ["\(file): \(key): \(directory) is open to group or others (mode \(String(mode, radix: 8))); it holds personal data: `chmod 700 \(directory)`"]
        }
        return []
    }

    /// `50%` or `0.5` → 0.5 (a share in 0…1).
    public static func parseShare(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
        guard let value, (0...1).contains(value) else { return nil }
        return value
    }

    /// `90s`, `15m`, `2h`, `1d` → seconds.
    public static func parseDuration(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let value = Int(text.dropLast()), value > 0 else { return nil }
        return value * scale
    }
}

/// The federation's public signing keys as the agency files list them, for offline checks
/// (`hanaro audit verify --db --agencies DIR`, `hanaro evidence verify --agencies DIR`).
public enum FederationKeys {
    /// Reads `directory/*.yaml`.
    /// - Throws: ``ConfigurationError`` with every problem, or when no file lists a key.
    public static func load(from directory: String) async throws(ConfigurationError) -> [AgencyVerifierKey] {
        let (agencies, problems) = await NodeConfiguration.collectAgencies(from: directory, configuredIn: directory)
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        let keys = agencies.values.flatMap(\.signingKeys)
        guard !keys.isEmpty else { throw ConfigurationError(["\(directory): no agency file lists signing_keys; give the federation's agencies directory"]) }
        return keys
    }

    /// The keys a node itself verifies under: the agency files of its configuration
    /// (`node.agencies_dir`, default `agencies` beside the file; `NODE_AGENCIES_DIR` overrides),
    /// read without its certificates or private keys, so that anyone may check with it.
    /// - Throws: ``ConfigurationError`` when the file does not read, or as ``load(from:)``.
    public static func load(fromNodeConfiguration path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) async throws(ConfigurationError) -> [AgencyVerifierKey] {
        let reader = try await NodeConfiguration.nodeFileReader(path, environment: environment)
        let directory = reader.string(forKey: "node.agencies_dir") ?? "agencies"
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try await load(from: directory.hasPrefix("/") ? directory : base + "/" + directory)
    }
}
