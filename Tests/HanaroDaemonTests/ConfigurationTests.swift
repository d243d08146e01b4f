import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroStore
import HanaroTesting
import Testing

@Suite("Node configuration")
struct ConfigurationTests {
    func layout(_ dir: TemporaryDirectory, node: String, agencies: [String: String]) throws -> String {
        try FileManager.default.createDirectory(atPath: dir.file("agencies"), withIntermediateDirectories: true)
        for (name, body) in agencies { try body.write(toFile: dir.file("agencies/\(name).yaml"), atomically: true, encoding: .utf8) }
        try node.write(toFile: dir.file("node.yaml"), atomically: true, encoding: .utf8)
        return dir.file("node.yaml")
    }

    @Test("a valid file loads with defaults, relative paths and environment overrides")
    func loads() async throws {
        let dir = TemporaryDirectory()
        let path = try layout(dir, node: """
            node:
              agency: kamco
              data_dir: data
            federation:
              certificate: tls/kamco.pem
              private_key: tls/kamco-key.pem
              ca: tls/federation-ca.pem
            """, agencies: ["semas": "id: semas\nfederation:\n  url: https://semas.example:8443/\nstale_after: 2h\n"])
        // The loader reads the TLS files: the certificate must name kamco and chain to the CA.
        try DevelopmentPKI.createCA(in: dir.directory("tls"))
        try DevelopmentPKI.issue(for: .kamco, in: dir.file("tls"))
        // Its signing key (`kamco-signing.key` beside the private key, by default) is listed.
        let signing = try DevelopmentPKI.signingKey(for: .kamco, in: dir.file("tls"))
        try "id: kamco\nsigning_keys:\n  - \(signing.verifier.text)\n".write(toFile: dir.file("agencies/kamco.yaml"), atomically: true, encoding: .utf8)
        let elsewhere = try dir.directory("srv/hanaro")
        let configuration = try await NodeConfiguration.load(from: path, environment: ["FEDERATION_PAGE_SIZE": "250", "NODE_DATA_DIR": elsewhere,
                                                                                      "FEDERATION_CHECKPOINT_SECONDS": "30"])
        #expect(configuration.agency == .kamco)
        #expect(configuration.dataDirectory == elsewhere)
        #expect(configuration.certificate == dir.file("tls/kamco.pem"))
        #expect(configuration.federationPort == 8443 && configuration.statusPort == 9464 && configuration.statusHost == "127.0.0.1")
        #expect(configuration.pageSize == 250)
        #expect(configuration.checkpointSeconds == 30 && configuration.witnessQuorum == 2)
        #expect(configuration.keyFile == elsewhere + "/replica.key")
        #expect(configuration.peers.map(\.id) == [.semas])
        #expect(configuration.peers.first?.federationURL == "https://semas.example:8443")
        #expect(configuration.agencies[.semas]?.staleAfterSeconds == 7200)
        #expect(configuration.agencies[.semas]?.koreanName == "소상공인시장진흥공단")
        #expect(configuration.signingKey == dir.file("tls/kamco-signing.key"))
        #expect(configuration.agencies[.kamco]?.signingKeys.map(\.text) == [signing.verifier.text])
    }

    @Test("every problem is reported at once, each with its file and key")
    func everyProblem() async throws {
        let dir = TemporaryDirectory()
        let path = try layout(dir, node: """
            node:
              agency: nps
            federation:
              listen: everywhere
              page_size: 0
              checkpoint_seconds: 0
              witness_quorum: 9
            """, agencies: ["semas": "id: kodit\nfederation:\n  url: http://plain\nstale_after: soon\n", "bogus": "id: bogus\n"])
        do {
            _ = try await NodeConfiguration.load(from: path, environment: [:])
            Issue.record("an invalid configuration loaded")
        } catch {
            let all = error.problems.joined(separator: "\n")
            for expected in ["node.agency", "node.data_dir", "federation.certificate", "federation.private_key", "federation.ca",
                             "federation.listen", "federation.page_size", "federation.checkpoint_seconds", "federation.witness_quorum", "semas.yaml: id", "federation.url", "stale_after", "bogus.yaml"] {
                #expect(all.contains(expected), "missing: \(expected)\n\(all)")
            }
            #expect(error.problems.allSatisfy { $0.hasPrefix(dir.path) })
        }
    }

    @Test("what serve would refuse is found at load: a certificate from another CA or for another agency, secrets and data readable by others, a token beyond loopback — each naming file and key")
    func whatServeWouldRefuse() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.directory("tls"))
        try DevelopmentPKI.issue(for: .kamco, in: dir.file("tls"))
        try DevelopmentPKI.issue(for: .semas, in: dir.file("tls"))
        try DevelopmentPKI.createCA(in: dir.directory("other"))
        try DevelopmentPKI.issue(for: .kamco, in: dir.file("other"))
        let data = try dir.directory("data")
        try "0123456789abcdef0123456789abcdef\n".write(toFile: dir.file("token.txt"), atomically: true, encoding: .utf8)
        try "x".write(toFile: data + "/replica.key", atomically: true, encoding: .utf8)
        func node(certificate: String = "tls/kamco.pem", key: String = "tls/kamco-key.pem", status: String = "127.0.0.1:9464") -> String {
            """
            node:
              agency: kamco
              data_dir: data
            federation:
              certificate: \(certificate)
              private_key: \(key)
              ca: tls/federation-ca.pem
              signing_key: tls/kamco-signing.key
            status:
              listen: \(status)
              admin_token_file: token.txt
            """
        }
        let signing = try DevelopmentPKI.signingKey(for: .kamco, in: dir.file("tls")).verifier.text
        func problems(_ text: String) async throws -> [String] {
            let path = try layout(dir, node: text, agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(signing)\"]\n"])
            do {
                _ = try await NodeConfiguration.load(from: path, environment: [:])
                return []
            } catch {
                #expect(error.problems.allSatisfy { $0.hasPrefix(path + ": ") }, "\(error.problems)")
                return error.problems
            }
        }
        for file in [dir.file("token.txt"), data + "/replica.key"] { chmod(file, 0o600) }
        #expect(try await problems(node()) == [])

        // A certificate issued by another CA: it would be refused by every peer.
        var found = try await problems(node(certificate: "other/kamco.pem", key: "other/kamco-key.pem"))
        #expect(found.count == 1 && found[0].contains("federation.certificate") && found[0].contains("other/kamco.pem") && found[0].contains("federation-ca.pem"), "\(found)")
        // Another agency's certificate.
        found = try await problems(node(certificate: "tls/semas.pem", key: "tls/semas-key.pem"))
        #expect(found.count == 1 && found[0].contains("names semas but node.agency is kamco"), "\(found)")

        // Secrets and data readable by others: each listed, with the chmod that fixes it.
        chmod(dir.file("tls/kamco-key.pem"), 0o644)
        chmod(dir.file("token.txt"), 0o644)
        chmod(data + "/replica.key", 0o640)
        chmod(data, 0o755)
        chmod(dir.file("tls/kamco-signing.key"), 0o644)
        found = try await problems(node())
        for (key, file) in [("federation.private_key", "tls/kamco-key.pem"), ("status.admin_token_file", "token.txt"), ("node.key_file", "data/replica.key"), ("node.data_dir", "data"),
                            ("federation.signing_key", "tls/kamco-signing.key")] {
            #expect(found.contains { $0.contains(key + ": ") && $0.contains(file) && $0.contains("chmod") }, "missing \(key)\n\(found)")
        }
        #expect(found.count == 5, "\(found)")
        for file in [dir.file("tls/kamco-key.pem"), dir.file("token.txt"), data + "/replica.key", data, dir.file("tls/kamco-signing.key")] { chmod(file, file == data ? 0o700 : 0o600) }

        // A signing key the agency file does not list: peers would refuse everything it signs.
        let other = try DevelopmentPKI.signingKey(for: .kamco, in: dir.file("other")).verifier.text
        do {
            _ = try await NodeConfiguration.load(from: try layout(dir, node: node(), agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(other)\"]\n"]), environment: [:])
            Issue.record("a node whose key its agency file does not list loaded")
        } catch let error as ConfigurationError {
            #expect(error.problems.count == 1 && error.problems[0].contains("kamco.yaml: signing_keys") && error.problems[0].contains(signing), "\(error.problems)")
        }
        // A retired key is not the current one either; a malformed line names the file and key.
        for (listed, expected) in [(signing + " retired 2026-01-01T00:00:00Z", "does not list this node's key as current"),
                                   (signing + " retired yesterday", "not an ISO 8601 time"), ("kamco+0000+AAAA", "not a public signing key")] {
            do {
                _ = try await NodeConfiguration.load(from: try layout(dir, node: node(), agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(listed)\"]\n"]), environment: [:])
                Issue.record("loaded with signing_keys \(listed)")
            } catch let error as ConfigurationError {
                #expect(error.problems.contains { $0.contains("kamco.yaml: signing_keys") && $0.contains(expected) }, "\(error.problems)")
            }
        }

        // An earlier key kept for opening sealed parts: listed (retired) it loads; not listed, or
        // another agency's, or readable by others, it is named.
        let previousNode = node().replacingOccurrences(of: "  signing_key: tls/kamco-signing.key", with: "  signing_key: tls/kamco-signing.key\n  previous_signing_keys: [other/kamco-signing.key]")
        let bothListed = "id: kamco\nsigning_keys: [\"\(signing)\", \"\(other) retired 2026-01-01T00:00:00Z\"]\n"
        let withPrevious = try await NodeConfiguration.load(from: try layout(dir, node: previousNode, agencies: ["kamco": bothListed]), environment: [:])
        #expect(withPrevious.previousSigningKeys == [dir.file("other/kamco-signing.key")])
        do {
            _ = try await NodeConfiguration.load(from: try layout(dir, node: previousNode, agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(signing)\"]\n"]), environment: [:])
            Issue.record("loaded with an earlier key its agency file does not list")
        } catch let error as ConfigurationError {
            #expect(error.problems.count == 1 && error.problems[0].contains("does not list the earlier key"), "\(error.problems)")
        }
        let semasKey = node().replacingOccurrences(of: "  signing_key: tls/kamco-signing.key", with: "  signing_key: tls/kamco-signing.key\n  previous_signing_keys: [tls/semas-signing.key]")
        do {
            _ = try await NodeConfiguration.load(from: try layout(dir, node: semasKey, agencies: ["kamco": bothListed]), environment: [:])
            Issue.record("loaded with another agency's key as an earlier one")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.contains("previous_signing_keys") && $0.contains("a key of semas") }, "\(error.problems)")
        }

        // The bearer token would cross the network in clear.
        found = try await problems(node(status: "0.0.0.0:9464"))
        #expect(found.count == 1 && found[0].contains("status.admin_token_file") && found[0].contains("beyond loopback"), "\(found)")

        // The Agency API: a tokens file is required and holds hashes only; tokens never cross a
        // network in clear.
        let apiNode = { (api: String) in node() + "\napi:\n" + api }
        found = try await problems(apiNode("  listen: 127.0.0.1:8080"))
        #expect(found.count == 1 && found[0].contains("api.tokens_file: required"), "\(found)")
        let hash = String(repeating: "ab", count: 32)
        try "# clients\ncrm read,refer sha256:\(hash)\nportal read hnr_plaintext-token\n".write(toFile: dir.file("api-tokens"), atomically: true, encoding: .utf8)
        chmod(dir.file("api-tokens"), 0o600)
        found = try await problems(apiNode("  listen: 127.0.0.1:8080\n  tokens_file: api-tokens"))
        #expect(found.count == 1 && found[0].contains("api-tokens:3") && found[0].contains("never the token"), "\(found)")
        try "crm read,refer sha256:\(hash)\n".write(toFile: dir.file("api-tokens"), atomically: true, encoding: .utf8)
        chmod(dir.file("api-tokens"), 0o600)
        found = try await problems(apiNode("  listen: 0.0.0.0:8080\n  tokens_file: api-tokens"))
        #expect(found.count == 1 && found[0].contains("api.listen") && found[0].contains("beyond loopback"), "\(found)")
        let loaded = try await NodeConfiguration.load(from: try layout(dir, node: apiNode("  listen: 127.0.0.1:8080\n  tokens_file: api-tokens"),
                                                                         agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(signing)\"]\n"]), environment: [:])
        #expect(loaded.api?.port == 8080 && loaded.api?.tokens.map(\.name) == ["crm"] && loaded.api?.tokens.first?.scopes == [.read, .refer])
        #expect(loaded.api?.maxConcurrentSearches == 2 && loaded.api?.maxQueuedSearches == 16)
        // Admission: more searches at once than the replica has readers, or a negative queue.
        found = try await problems(apiNode("  listen: 127.0.0.1:8080\n  tokens_file: api-tokens\n  max_concurrent_searches: 4\n  max_queued_searches: -1"))
        #expect(found.count == 2 && found[0].contains("api.max_concurrent_searches: 4 is outside 1...3") && found[1].contains("api.max_queued_searches: -1"), "\(found)")
        let tuned = try await NodeConfiguration.load(from: try layout(dir, node: apiNode("  listen: 127.0.0.1:8080\n  tokens_file: api-tokens\n  max_concurrent_searches: 3\n  max_queued_searches: 0"),
                                                                        agencies: ["kamco": "id: kamco\nsigning_keys: [\"\(signing)\"]\n"]), environment: [:])
        #expect(tuned.api?.maxConcurrentSearches == 3 && tuned.api?.maxQueuedSearches == 0)

        // A missing data directory is listed beside the other problems, not hidden by them.
        try FileManager.default.removeItem(atPath: data)
        found = try await problems(node(certificate: "other/kamco.pem", key: "other/kamco-key.pem"))
        #expect(found.contains { $0.contains("node.data_dir") && $0.contains("does not exist") } && found.contains { $0.contains("federation.certificate") }, "\(found)")
    }
}
