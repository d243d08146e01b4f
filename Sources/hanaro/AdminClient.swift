import ArgumentParser
import AsyncHTTPClient
import Foundation
import HanaroDaemon
import NIOCore
import NIOHTTP1

/// Where the admin commands find the running node: the node file (`--config`, default
/// `/etc/hanaro/hanaro.yaml` when it exists) gives the status port and the admin socket; flags
/// override them.
struct NodeConnection: ParsableArguments {
    @Option(help: "The node configuration file (default /etc/hanaro/hanaro.yaml when it exists).")
    var config: String?

    @Option(help: "The status port's URL (default: status.listen of the node file, else http://127.0.0.1:9464).")
    var statusURL: String?

    @Option(help: "The admin Unix socket (default: admin.socket of the node file).")
    var socket: String?

    @Option(help: "A file with the bearer token, to use the admin API over the status port instead of the socket.")
    var tokenFile: String?

    /// The status URL and the admin endpoint (socket path, or status URL + token).
    func resolve() async -> (status: String, admin: AdminEndpoint) {
        var status = statusURL
        var socketPath = socket
        let path = config ?? (FileManager.default.fileExists(atPath: "/etc/hanaro/hanaro.yaml") ? "/etc/hanaro/hanaro.yaml" : nil)
        if let path, status == nil || socketPath == nil {
            do {
                let node = try await NodeConfiguration.load(from: path)
                status = status ?? "http://\(node.statusHost == "0.0.0.0" ? "127.0.0.1" : node.statusHost):\(node.statusPort)"
                socketPath = socketPath ?? node.adminSocket
            } catch {
                fail("\(error.problems.first ?? "invalid configuration") (run `hanaro check-config --config \(path)`)", code: 2)
            }
        }
        let statusBase = status ?? "http://127.0.0.1:9464"
        if let tokenFile {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
                fail("--token-file \(tokenFile): cannot read it", code: 2)
            }
            return (statusBase, .statusPort(statusBase, token))
        }
        return (statusBase, .socket(socketPath ?? "/run/hanaro/admin.sock"))
    }
}

/// How admin requests reach the node.
enum AdminEndpoint {
    case socket(String)
    case statusPort(String, String)

    var description: String {
        switch self {
        case .socket(let path): "the admin socket \(path)"
        case .statusPort(let url, _): "\(url)/admin"
        }
    }
}

/// A small HTTP client for the CLI: typed requests and answers (the types the daemon uses, from
/// `AdminProtocol.swift`); an unreachable node exits 2.
enum AdminClient {
    /// Sends a request to the admin API and decodes its answer; a refusal or failure exits with
    /// the node's reason (1), an unreachable node exits 2.
    static func call<Answer: Decodable>(_ method: HTTPMethod, _ endpoint: AdminEndpoint, _ path: String, body: (any Encodable)? = nil,
                                        expecting status: Int = 200, as type: Answer.Type = Answer.self) async -> Answer {
        let (code, data) = await send(method, endpoint, path, body: body)
        guard code == status else { fail(message(data)) }
        do {
            return try AdminWire.decoder.decode(Answer.self, from: data)
        } catch {
            fail("the node at \(endpoint.description) answered something this CLI cannot read (\(error)); are the CLI and the daemon the same version?")
        }
    }

    /// Sends a request; the status and the body bytes (for callers that handle refusals themselves).
    static func send(_ method: HTTPMethod, _ endpoint: AdminEndpoint, _ path: String, body: (any Encodable)? = nil) async -> (Int, Data) {
        let url: String
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        switch endpoint {
        case .socket(let socket):
            guard FileManager.default.fileExists(atPath: socket) else {
                fail("no node listens on \(socket) (is `hanaro serve` running? is admin.socket right? are you the service user?)", code: 2)
            }
            url = "http+unix://\(socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socket)\(path)"
        case .statusPort(let base, let token):
            url = base + path
            headers.append(("Authorization", "Bearer \(token)"))
        }
        let bytes = body.flatMap { (value: any Encodable) in try? AdminWire.encoder.encode(value) }
        return await raw(method, url, headers: headers, body: bytes, unreachable: "cannot reach the node at \(endpoint.description)")
    }

    /// The status and the body bytes of one HTTP request.
    static func raw(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: Data? = nil, unreachable: String) async -> (Int, Data) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: Array(body))) }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let buffer = try await response.body.collect(upTo: 64 << 20)
            try? await client.shutdown()
            return (Int(response.status.code), Data(buffer.readableBytesView))
        } catch {
            try? await client.shutdown()
            fail("\(unreachable) (\(error)); is `hanaro serve` running?", code: 2)
        }
    }

    /// The error message of a failed answer.
    static func message(_ data: Data) -> String {
        (try? AdminWire.decoder.decode(AdminErrorBody.self, from: data))?.error ?? "unexpected answer (\(data.count) bytes)"
    }
}
