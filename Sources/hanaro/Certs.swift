import ArgumentParser
import Foundation
import HanaroCore
import HanaroFederation

/// `hanaro certs ...`: the development PKI. Production uses the agencies' own PKI (certs/README.md).
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Development PKI: a federation CA and per-agency certificates (production: certs/README.md).",
        subcommands: [CA.self, Issue.self, Dev.self, Fingerprint.self]
    )

    struct CA: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create federation-ca.pem and federation-ca-key.pem (0600).")
        @Option(help: "Output directory.") var dir: String
        func run() throws {
            do { try DevelopmentPKI.createCA(in: dir) } catch { fail(error.message) }
            Output.line("wrote \(dir)/federation-ca.pem and \(dir)/federation-ca-key.pem")
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue AGENCY.pem and AGENCY-key.pem (0600), signed by the CA in --dir.")
        @Argument(help: "Agency id.") var agency: String
        @Option(help: "Directory holding the CA; output goes there too.") var dir: String
        @Option(name: .customLong("host"), help: "A DNS name or IPv4 address the node serves on (repeatable).") var hosts: [String] = ["localhost", "127.0.0.1"]
        func run() throws {
            guard let id = AgencyID(rawValue: agency) else { fail("unknown agency \(agency); expected one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))") }
            do { try DevelopmentPKI.issue(for: id, in: dir, hosts: hosts) } catch { fail(error.message) }
            Output.line("wrote \(dir)/\(agency).pem and \(dir)/\(agency)-key.pem")
        }
    }

    struct Dev: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A CA and a certificate for each of the six agencies, in one go.")
        @Option(help: "Output directory.") var dir: String
        @Option(name: .customLong("host"), help: "A DNS name or IPv4 address the nodes serve on (repeatable).") var hosts: [String] = ["localhost", "127.0.0.1"]
        func run() throws {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try DevelopmentPKI.createCA(in: dir)
                for agency in AgencyID.allCases { try DevelopmentPKI.issue(for: agency, in: dir, hosts: hosts) }
            } catch let error as FederationError {
                fail(error.message)
            } catch {
                fail("\(error)")
            }
            Output.line("wrote a development CA and six agency certificates to \(dir)")
        }
    }

    struct Fingerprint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a certificate's sha256 fingerprint, for federation.fingerprint pins.")
        @Argument(help: "A PEM certificate.") var file: String
        func run() throws {
            guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else { fail("cannot read \(file)") }
            let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            guard let der = Data(base64Encoded: base64) else { fail("\(file) is not a PEM certificate") }
            Output.line(AgencyIdentity.fingerprint(derBytes: Array(der)))
        }
    }
}
