import Foundation
import HanaroCore
import HanaroFederation
import HanaroStore
import HanaroTesting
import NIOCore
import Testing

/// Sockets opened and left hanging, from outside the node: idle TCP, a TLS record header and
/// nothing more, half a request head. Non-blocking, so that a full accept queue never stalls the test.
final class HangingSockets {
    private(set) var descriptors: [Int32] = []

    /// Opens `count` connections to 127.0.0.1:`port`, writing `prefix` on each (nothing if empty).
    func open(_ count: Int, port: Int, prefix: [UInt8] = []) {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            descriptors.append(fd)
        }
        guard !prefix.isEmpty else { return }
        // Give the connects a moment to complete, then send what each sends before it stalls.
        usleep(200_000)
        for fd in descriptors.suffix(count) { _ = prefix.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    }

    func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }

    deinit { closeAll() }
}

/// The node under abuse, as a real process with few file descriptors: it keeps serving its
/// probes and its peers.
@Suite("Hardening", .serialized)
struct HardeningTests {
    /// How long a request takes, through curl (a real client from outside), and its status.
    static func timed(_ url: String) throws -> (Int, Duration) {
        let start = ContinuousClock.now
        let (code, _) = try http("GET", url)
        return (code, ContinuousClock.now - start)
    }

    @Test("600 idle TCP connections and 100 stalled TLS handshakes on the federation port, 300 half-sent heads on the status port, under nofile=512: probes answer within a second, a peer's pull succeeds, the node lives")
    func connectionFloods() async throws {
        let federation = try Federation(agencies: [.semas, .kodit])
        defer { federation.remove() }
        let node = try ChildProcess(URL(fileURLWithPath: "/usr/bin/prlimit"),
                                    ["--nofile=512:512", Hanaro.executable.path, "serve", "--config", federation.config(.semas), "--log-level", "error"],
                                    logPath: "\(federation.dir)/semas.log")
        guard let ready = await node.line(where: { $0.hasPrefix("hanaro: ready:") }),
              let statusPort = ready.firstMatch(of: /status [0-9.]+:(\d+)/).flatMap({ Int($0.1) }) else {
            throw ProcessFailure("the node did not start: \(node.output)")
        }
        let status = "http://127.0.0.1:\(statusPort)"
        let federationPort = federation.ports[.semas]!
        let sockets = HangingSockets()
        // When 600 idle connections and 100 stalled TLS handshakes (a record header, then silence)
        // hold the federation port, and 300 connections send half a request head to the status port,
        sockets.open(600, port: federationPort)
        sockets.open(100, port: federationPort, prefix: [0x16, 0x03, 0x01, 0x02, 0x00])
        sockets.open(300, port: statusPort, prefix: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8))
        // Then the probes answer within a second,
        for path in ["/healthz", "/readyz"] {
            let (code, took) = try Self.timed(status + path)
            #expect(code == 200, "\(path)")
            #expect(took < .seconds(1), "\(path) took \(took)")
        }
        // a configured peer pulls (its fresh connection takes the place of the oldest pending one),
        let tls = try TLSMaterial(certificatePath: "\(federation.dir)/kodit.pem", keyPath: "\(federation.dir)/kodit-key.pem", caPath: "\(federation.dir)/federation-ca.pem")
        let client = PeerClient(tls: tls, requestTimeout: .seconds(10))
        let pulled = try await client.pull(from: "https://127.0.0.1:\(federationPort)", after: .firstContact, limit: 10, waitMilliseconds: 0)
        if case .reset = pulled { Issue.record("a first contact cannot be reset") }
        await client.shutdown()
        // and the node is alive, with the floods counted.
        #expect(node.isRunning, "\(node.output)")
        let metrics = try http("GET", status + "/metrics").1
        #expect(metrics.contains("hanaro_connections_evicted_total{listener=\"federation\"}"))
        sockets.closeAll()
        let stopped = await node.terminate()
        #expect(stopped.reason == .exit && stopped.status == 0, "\(node.output)")
    }
}
