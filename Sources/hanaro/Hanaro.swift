import ArgumentParser
import Foundation

/// The `hanaro` command: one executable for the daemon, the admin CLI and the development tools.
/// The commands, their exit statuses and outputs are documented in README.md and docs/OPERATIONS.md.
@main
struct Hanaro: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hanaro",
        abstract: "Hanaro (하나로): the inter-agency data-exchange daemon of the small-business one-stop platform.",
        version: HanaroVersion.current,
        subcommands: [Serve.self, Demo.self, StatusCommand.self, ResyncCommand.self, ConflictsCommand.self, QuarantineCommand.self, AuditCommand.self, EvidenceCommand.self, CheckConfig.self, Simulate.self, Certs.self, Keys.self, KeyGen.self, Tokens.self, Search.self, Referrals.self, Subscriptions.self, Version.self]
    )

    /// ArgumentParser's entry point, with SIGPIPE ignored first: every command survives a reader
    /// that goes away (see ``Output``).
    static func main() async {
        Output.ignoreSIGPIPE()
        Output.holdStandardDescriptors()
        // Everything a command creates — the replica, its WAL and SHM, keys, sockets, logs — is
        // owner-only, whatever the umask it was started with.
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The release version, printed by `hanaro version` and reported on the status port.
enum HanaroVersion {
    static let current = "0.1.0"
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        Output.line("hanaro \(HanaroVersion.current)")
    }
}
