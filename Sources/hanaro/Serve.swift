import ArgumentParser
import Foundation
import HanaroDaemon
import HanaroStore
import Logging

/// `hanaro serve --config FILE`: runs the node until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run this agency's node until SIGTERM/SIGINT (exit 0 on clean shutdown)."
    )

    @Option(help: "The node configuration file (YAML).")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        MemoryBudget.limitMallocArenas()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "hanaro")
        let configuration: NodeConfiguration
        do {
            configuration = try await NodeConfiguration.load(from: config)
        } catch {
            let more = error.problems.count > 1 ? " (and \(error.problems.count - 1) more problem(s): run `hanaro check-config --config \(config)`)" : ""
            fail("\(error.problems.first ?? "invalid configuration")\(more)")
        }
        do {
            let node = try Node(configuration: configuration, logger: logger, version: HanaroVersion.current)
            // One line on standard output once both ports listen (with the ports the kernel chose
            // for a `:0` address): what operators and tests wait for instead of sleeping.
            let ports = ReadyLine(federationHost: configuration.federationHost, statusHost: configuration.statusHost, apiHost: configuration.api?.host)
            try await node.run(onFederationPort: { await ports.federation($0) }, onStatusPort: { await ports.status($0) }, onAPIPort: { await ports.api($0) })
        } catch let error as NodeStartupError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }
    }
}

/// Prints `hanaro: ready: federation HOST:PORT, status HOST:PORT[, api HOST:PORT]` once every
/// port is bound.
actor ReadyLine {
    let federationHost: String
    let statusHost: String
    let apiHost: String?
    var federationPort: Int?
    var statusPort: Int?
    var apiPort: Int?

    init(federationHost: String, statusHost: String, apiHost: String?) {
        self.federationHost = federationHost
        self.statusHost = statusHost
        self.apiHost = apiHost
    }

    func federation(_ port: Int) { federationPort = port; printIfReady() }
    func status(_ port: Int) { statusPort = port; printIfReady() }
    func api(_ port: Int) { apiPort = port; printIfReady() }

    private func printIfReady() {
        guard let federationPort, let statusPort else { return }
        if let apiHost {
            guard let apiPort else { return }
            Output.line("hanaro: ready: federation \(federationHost):\(federationPort), status \(statusHost):\(statusPort), api \(apiHost):\(apiPort)")
        } else {
            Output.line("hanaro: ready: federation \(federationHost):\(federationPort), status \(statusHost):\(statusPort)")
        }
    }
}

/// Prints one line to standard error and exits (1 by default).
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("hanaro: \(message)\n".utf8))
    exit(code)
}
