import ArgumentParser
import Foundation
import HanaroStore

/// `hanaro keygen --out FILE`: creates the replica key file that encrypts referral personal
/// fields at rest (mode 0600; never overwrites).
struct KeyGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create the key file that encrypts referral personal fields at rest (mode 0600, never overwritten)."
    )

    @Option(name: .long, help: "Where to write the key file.")
    var out: String

    func run() throws {
        do {
            try ReplicaKey.create(at: out)
            Output.line("wrote \(out) (mode 0600); back it up separately from the database: without it, personal fields cannot be read")
        } catch {
            FileHandle.standardError.write(Data("hanaro keygen: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
