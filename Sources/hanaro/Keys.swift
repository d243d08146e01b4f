import ArgumentParser
import Foundation
import HanaroCore
import HanaroStore

/// `hanaro keys ...`: an agency's version-signing keys (Ed25519, in C2SP signed-note text form).
/// Rotation: generate a new key, add its public line to `agencies/<id>.yaml` `signing_keys` on every
/// node, mark the old line ` retired <time>` (never delete it: versions it signed stay verifiable),
/// then point `federation.signing_key` at the new file and restart.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Version-signing keys: every version an agency authors is signed, every node verifies.",
        subcommands: [Generate.self, Public.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agency's signing key file (mode 0600, never overwritten) and print its public line.")
        @Option(help: "The agency the key signs for.") var agency: String
        @Option(help: "Where to write the private key.") var out: String

        func run() throws {
            guard let id = AgencyID(rawValue: agency) else {
                fail("unknown agency \(agency); expected one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let key: AgencySigningKey
            do { key = try AgencySigningKey.create(for: id, at: out) } catch { fail(error.description) }
            Output.line(key.verifier.text)
            FileHandle.standardError.write(Data("hanaro keys: wrote \(out) (mode 0600); list the line above in agencies/\(id.rawValue).yaml signing_keys on every node\n".utf8))
        }
    }

    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public line of a signing key file (for signing_keys).")
        @Argument(help: "A signing key file.") var file: String

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { fail("cannot read \(file)") }
            do {
                Output.line(try AgencySigningKey(text: text).verifier.text)
            } catch {
                fail("\(file) \(error.description)")
            }
        }
    }
}
