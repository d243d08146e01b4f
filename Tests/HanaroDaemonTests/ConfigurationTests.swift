import Foundation
import HanaroCore
import HanaroDaemon
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
              ca: tls/ca.pem
            """, agencies: ["kamco": "id: kamco\n", "semas": "id: semas\nfederation:\n  url: https://semas.example:8443/\nstale_after: 2h\n"])
        // The loader checks that the TLS files are readable (their contents are TLSMaterial's job).
        try FileManager.default.createDirectory(atPath: dir.file("tls"), withIntermediateDirectories: true)
        for name in ["kamco.pem", "kamco-key.pem", "ca.pem"] { FileManager.default.createFile(atPath: dir.file("tls/\(name)"), contents: Data()) }
        let configuration = try await NodeConfiguration.load(from: path, environment: ["FEDERATION_PAGE_SIZE": "250", "NODE_DATA_DIR": "/srv/hanaro"])
        #expect(configuration.agency == .kamco)
        #expect(configuration.dataDirectory == "/srv/hanaro")
        #expect(configuration.certificate == dir.file("tls/kamco.pem"))
        #expect(configuration.federationPort == 8443 && configuration.statusPort == 9464 && configuration.statusHost == "127.0.0.1")
        #expect(configuration.pageSize == 250)
        #expect(configuration.keyFile == "/srv/hanaro/replica.key")
        #expect(configuration.peers.map(\.id) == [.semas])
        #expect(configuration.peers.first?.federationURL == "https://semas.example:8443")
        #expect(configuration.agencies[.semas]?.staleAfterSeconds == 7200)
        #expect(configuration.agencies[.semas]?.koreanName == "소상공인시장진흥공단")
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
            """, agencies: ["semas": "id: kodit\nfederation:\n  url: http://plain\nstale_after: soon\n", "bogus": "id: bogus\n"])
        do {
            _ = try await NodeConfiguration.load(from: path, environment: [:])
            Issue.record("an invalid configuration loaded")
        } catch {
            let all = error.problems.joined(separator: "\n")
            for expected in ["node.agency", "node.data_dir", "federation.certificate", "federation.private_key", "federation.ca",
                             "federation.listen", "federation.page_size", "semas.yaml: id", "federation.url", "stale_after", "bogus.yaml"] {
                #expect(all.contains(expected), "missing: \(expected)\n\(all)")
            }
            #expect(error.problems.allSatisfy { $0.hasPrefix(dir.path) })
        }
    }
}
