import ArgumentParser
import Foundation
import HanaroDaemon
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
            try await node.run()
        } catch let error as NodeStartupError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }
    }
}

/// Prints one line to standard error and exits (1 by default).
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("hanaro: \(message)\n".utf8))
    exit(code)
}
