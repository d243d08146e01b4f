import ArgumentParser
import Foundation
import HanaroCore
import HanaroDaemon
import HanaroStore
import NIOHTTP1

/// `hanaro evidence export KEY --out FILE` / `hanaro evidence verify FILE` (CONTRACT.md,
/// docs/EVIDENCE.md).
struct EvidenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence", abstract: "Export a record's evidence bundle, or verify one offline.",
        subcommands: [Export.self, Verify.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the evidence bundle of one record (its signed versions, log inclusion proofs, cosigned checkpoints, keys), signed by this node.")
        @OptionGroup var connection: NodeConnection
        @Argument(help: "The record key, e.g. program/semas/SEMAS-000001 or referral/semas/SEMAS-R000001.")
        var key: String
        @Option(help: "Where to write the bundle (created owner-only; - for standard output).")
        var out: String

        func run() async throws {
            guard (try? RecordKey(parsing: key)) != nil else {
                fail("\(key) is not a record key (program/<agency>/<id> or referral/<agency>/<id>)", code: 2)
            }
            let (_, admin) = await connection.resolve()
            let query = key.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? key
            let export = await AdminClient.call(.GET, admin, "/admin/evidence?key=\(query)", as: EvidenceExport.self)
            if out == "-" {
                Output.write(export.bundle)
                return
            }
            let bytes = Array(export.bundle.utf8)
            let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { fail("cannot write \(out): \(String(cString: strerror(errno)))", code: 2) }
            defer { close(fd) }
            _ = fchmod(fd, 0o600)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { fail("cannot write \(out): \(String(cString: strerror(errno)))", code: 2) }
            Output.line("wrote the evidence bundle of \(export.record) to \(out); check it anywhere with `hanaro evidence verify \(out) --agencies DIR` (the federation's agency files)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an evidence bundle offline under the federation's published keys (exit 0 valid, 1 invalid or no keys to verify under, 2 unreadable).",
            discussion: """
                The keys come from --agencies DIR, else from the agency files of --config FILE (default \
                /etc/hanaro/hanaro.yaml when it exists). Without either, the bundle is checked under the \
                keys it lists and is never valid: anyone can list keys of their own.
                """)
        @Argument(help: "The bundle file.")
        var file: String
        @Option(help: "The federation's agency files (agencies/*.yaml): verify under their signing_keys.")
        var agencies: String?
        @Option(help: "A node configuration: verify under the signing_keys of its agency files (node.agencies_dir; default /etc/hanaro/hanaro.yaml when it exists).")
        var config: String?
        @Flag(help: "Print only the verdict.")
        var quiet = false

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)", code: 2) }
            var keys: [AgencyVerifierKey]? = nil
            var source = ""
            if let agencies {
                do { keys = try await FederationKeys.load(from: agencies) } catch { fail(error.description, code: 2) }
                source = agencies
            } else if let path = config ?? (FileManager.default.fileExists(atPath: "/etc/hanaro/hanaro.yaml") ? "/etc/hanaro/hanaro.yaml" : nil) {
                do { keys = try await FederationKeys.load(fromNodeConfiguration: path) } catch { fail(error.description, code: 2) }
                source = "the agency files of \(path)"
            }
            guard let text = String(data: data, encoding: .utf8) else { fail("evidence bundle \(file) is invalid: it is not UTF-8 text") }
            let result = Replica.verifyEvidence(text, keys: keys)
            if !quiet { for fact in result.facts { Output.line("  \(fact)") } }
            if let problem = result.problem {
                fail("evidence bundle \(file) \(result.unpinned ? "is not shown valid" : "is invalid"): \(problem)")
            }
            Output.line("evidence bundle \(file) is valid under the federation's published keys (\(source))")
        }
    }
}
