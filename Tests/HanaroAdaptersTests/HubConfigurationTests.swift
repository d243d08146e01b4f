import Foundation
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroStore
import HanaroTesting
import Testing

/// Adapter sections in `agencies/<id>.yaml` and hub mode: exactly one node is authoritative for
/// each agency's adapter; configuration that names two is rejected with file and key.
@Suite("Adapter configuration and hub mode")
struct HubConfigurationTests {
    /// A node file for `agency` and agency files with the given extra YAML.
    func write(_ dir: TemporaryDirectory, node agency: String, nodeExtra: String = "", agencies: [String: String]) throws -> String {
        try DevelopmentPKI.createCA(in: dir.path)
        try DevelopmentPKI.issue(for: AgencyID(rawValue: agency)!, in: dir.path)
        try FileManager.default.createDirectory(atPath: dir.file("agencies"), withIntermediateDirectories: true)
        try dir.directory("data")
        let ownKey = try DevelopmentPKI.signingKey(for: AgencyID(rawValue: agency)!, in: dir.path).verifier.text
        for (id, body) in agencies {
            let keys = id == agency ? "signing_keys: [\"\(ownKey)\"]\n" : ""
            try "id: \(id)\n\(keys)\(body)".write(toFile: dir.file("agencies/\(id).yaml"), atomically: true, encoding: .utf8)
        }
        try "api-key-123\n".write(toFile: dir.file("agencies/key.txt"), atomically: true, encoding: .utf8)
        let node = """
            node:
              agency: \(agency)
              data_dir: data
            \(nodeExtra)
            federation:
              certificate: \(agency).pem
              private_key: \(agency)-key.pem
              ca: federation-ca.pem
            """
        try node.write(toFile: dir.file("node.yaml"), atomically: true, encoding: .utf8)
        return dir.file("node.yaml")
    }

    @Test("a hub node runs its own adapter and those of agencies that name it; settings are read")
    func hubAccepted() async throws {
        let dir = TemporaryDirectory()
        let path = try write(dir, node: "semas", nodeExtra: "  hub_for: [kinfa]", agencies: [
            "semas": "federation:\n  url: https://localhost:8443\nadapter:\n  base_url: https://api.semas.example\n  service_key_file: key.txt\n  page_size: 250\n  poll_interval: 5m\n  rate_limit: 4\n",
            "kinfa": "adapter:\n  base_url: https://apis.data.go.kr\n  service_key: k\n  run_by: semas\n",
            "kodit": "federation:\n  url: https://localhost:8444\nadapter:\n  base_url: https://api.odcloud.kr\n  service_key: k\n",
        ])
        let configuration = try await NodeConfiguration.load(from: path, environment: [:])
        #expect(configuration.adapterAgencies.map(\.id) == [.semas, .kinfa].sorted())
        let semas = try #require(configuration.agencies[.semas]?.adapter)
        #expect(semas.serviceKey == "api-key-123")
        #expect(semas.pageSize == 250)
        #expect(semas.pollIntervalSeconds == 300)
        #expect(semas.requestsPerSecond == 4)
    }

    @Test("two authorities for one adapter are rejected, each problem with file and key")
    func twoAuthoritiesRejected() async throws {
        let dir = TemporaryDirectory()
        let path = try write(dir, node: "semas", nodeExtra: "  hub_for: [kinfa, ewpc]", agencies: [
            "semas": "federation:\n  url: https://localhost:8443\n",
            // kodit runs its own node, yet koreg's node claims its adapter.
            "kodit": "federation:\n  url: https://localhost:8444\nadapter:\n  base_url: https://api.odcloud.kr\n  service_key: k\n  run_by: koreg\n",
            "koreg": "federation:\n  url: https://localhost:8445\n",
            // semas claims kinfa's adapter, but kinfa's file names koreg.
            "kinfa": "adapter:\n  base_url: https://apis.data.go.kr\n  service_key: k\n  run_by: koreg\n",
            // ewpc has no adapter section at all.
            "ewpc": "",
            // kamco's adapter section is broken.
            "kamco": "adapter:\n  base_url: ftp://kamco\n  page_size: 0\n",
        ])
        do {
            _ = try await NodeConfiguration.load(from: path, environment: [:])
            Issue.record("accepted")
        } catch {
            let text = error.problems.joined(separator: "\n")
            #expect(text.contains("kodit.yaml: adapter.run_by: koreg would run the adapter of kodit, which runs its own node"))
            #expect(text.contains("node.hub_for: names kinfa, but"))
            #expect(text.contains("exactly one node may be authoritative"))
            #expect(text.contains("node.hub_for: ewpc has no adapter section"))
            #expect(text.contains("kamco.yaml: adapter.base_url: \"ftp://kamco\" must be an https:// URL"))
            #expect(text.contains("kamco.yaml: adapter.page_size: 0 is outside 1...1000"))
        }
    }
}
