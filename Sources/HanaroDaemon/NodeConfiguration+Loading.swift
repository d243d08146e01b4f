import Configuration
public import HanaroCore
public import Foundation
import SystemPackage

extension NodeConfiguration {
    /// Reads the node file (YAML) and every `agencies/<id>.yaml`, with environment variables
    /// overriding any key of the node file (`node.data_dir` ← `NODE_DATA_DIR`).
    ///
    /// Relative paths are taken from the node file's directory.
    /// - Throws: ``ConfigurationError`` listing every problem found, each with file and key.
    public static func load(from path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(ConfigurationError) -> NodeConfiguration {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(["\(path): cannot read the node configuration file; check the path given to --config"])
        }
        let reader: ConfigReader
        do {
            let yaml = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            reader = ConfigReader(providers: [EnvironmentVariablesProvider(environmentVariables: environment), yaml])
        } catch {
            throw ConfigurationError(["\(path): not valid YAML (\(error)); fix the syntax"])
        }
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
        let agenciesDirectory = resolve(reader.string(forKey: "node.agencies_dir") ?? "agencies")

        var agencies: [AgencyID: AgencyConfiguration] = [:]
        do {
            agencies = try await loadAgencies(from: agenciesDirectory)
        } catch {
            problems += error.problems
        }
        if let agency, !agencies.isEmpty, agencies[agency] == nil {
            problems.append("\(agenciesDirectory)/\(agency.rawValue).yaml: missing; every node needs the file of its own agency")
        }
        guard problems.isEmpty, let agency, let dataDirectory, let certificate, let privateKey, let ca, let federation, let status else {
            throw ConfigurationError(problems)
        }
        var configuration = NodeConfiguration(
            agency: agency, dataDirectory: dataDirectory,
            keyFile: reader.string(forKey: "node.key_file").map(resolve) ?? dataDirectory + "/replica.key",
            agenciesDirectory: agenciesDirectory, certificate: certificate, privateKey: privateKey, ca: ca)
        (configuration.federationHost, configuration.federationPort) = federation
        (configuration.statusHost, configuration.statusPort) = status
        configuration.pageSize = pageSize
        configuration.longPollSeconds = longPoll
        configuration.agencies = agencies
        return configuration
    }

    /// Reads every `<id>.yaml` of a directory.
    /// - Throws: ``ConfigurationError`` listing every problem.
    public static func loadAgencies(from directory: String) async throws(ConfigurationError) -> [AgencyID: AgencyConfiguration] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw ConfigurationError(["\(directory): cannot read the agencies directory; set node.agencies_dir"])
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
            if let stale = reader.string(forKey: "stale_after") {
                if let seconds = parseDuration(stale) { agency.staleAfterSeconds = seconds } else {
                    problems.append("\(file): stale_after: \"\(stale)\" is not a duration such as 90s, 15m or 2h")
                }
            }
            agencies[expected] = agency
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return agencies
    }

    /// `90s`, `15m`, `2h`, `1d` → seconds.
    public static func parseDuration(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let value = Int(text.dropLast()), value > 0 else { return nil }
        return value * scale
    }
}
