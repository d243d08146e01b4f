import ArgumentParser
import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation

/// `hanaro check-config --config FILE`: validates the node file, agencies/*.yaml and the
/// certificates without starting; lists every problem.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the node configuration, agencies/*.yaml and certificates; exit 0 when valid, 1 listing every problem."
    )

    @Option(help: "The node configuration file (YAML).")
    var config: String

    func run() async throws {
        var problems: [String] = []
        var loaded: NodeConfiguration?
        do {
            loaded = try await NodeConfiguration.load(from: config)
        } catch {
            problems += error.problems
        }
        if let configuration = loaded {
            // Beyond validity (the loader's checks): a certificate close to its end.
            if let tls = try? TLSMaterial(certificatePath: configuration.certificate, keyPath: configuration.privateKey, caPath: configuration.ca) {
                let days = Int(tls.expiresAt.timeIntervalSinceNow / 86_400)
                if days < 30 { problems.append("\(configuration.certificate): expires in \(days) day(s) (\(tls.expiresAt)); renew it (certs/README.md)") }
            }
        }
        if problems.isEmpty {
            Output.line("ok: \(config) (\(loaded!.agency.rawValue), \(loaded!.peers.count) peer(s))")
        } else {
            for problem in problems { Output.line(problem) }
            throw ExitCode.failure
        }
    }
}
