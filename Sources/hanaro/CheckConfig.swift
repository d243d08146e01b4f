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
            do {
                let tls = try TLSMaterial(certificatePath: configuration.certificate, keyPath: configuration.privateKey, caPath: configuration.ca)
                if tls.agency != configuration.agency {
                    problems.append("\(config): federation.certificate names \(tls.agency.rawValue) but node.agency is \(configuration.agency.rawValue)")
                }
                let days = Int(tls.expiresAt.timeIntervalSinceNow / 86_400)
                if days < 30 { problems.append("\(configuration.certificate): expires in \(days) day(s) (\(tls.expiresAt)); renew it (certs/README.md)") }
            } catch {
                problems.append(error.message)
            }
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: configuration.dataDirectory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("\(config): node.data_dir: \(configuration.dataDirectory) does not exist; create it (mode 0700)")
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
