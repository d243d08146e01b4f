import AsyncHTTPClient
import Foundation
public import HanaroStore
public import NIOCore
import NIOHTTP1
import NIOHTTPCompression

/// What a pull returned.
public enum PulledPage: Sendable {
    /// One page of a peer's feed.
    public struct Page: Sendable {
        /// The peer replica's epoch.
        public var epoch: String
        /// Canonically encoded versions, in feed order.
        public var frames: [[UInt8]]
        /// The last sequence the peer scanned: where the next page starts.
        public var next: Int64
        /// Whether more changes follow.
        public var more: Bool
        /// The size of the response body as it crossed the wire (compressed, when it was).
        public var bodyBytes: Int
        /// How far the peer has read this node's own feed, if it has.
        public var yourCursor: PeerCursor?
        /// The peer's own view of how fresh each agency is.
        public var freshness: RelayFreshness? = nil
        /// The frames decoded and verified ahead of storing (``PeerLink``'s prefetch), or nil.
        public var prepared: Replica.PreparedPage? = nil
    }

    /// Versions after the cursor.
    case page(Page)
    /// The peer's replica was recreated (new epoch) or restored (our cursor is ahead of its
    /// head): start again from the beginning of its feed under `epoch`.
    case reset(epoch: String)
}

/// The client side of the federation port: AsyncHTTPClient with this node's certificate, one
/// connection pool shared by all peers (connections are reused).
public final class PeerClient: Sendable {
    let http: HTTPClient
    let requestTimeout: TimeAmount
    /// This node's TLS material (the identity check makes its own handshake with it).
    let tls: TLSMaterial
    /// Whether pulls ask for gzip pages (`federation.compress_pages`).
    let compressPages: Bool
    /// The largest page body accepted, before or after inflating.
    static let maxBodyBytes = 64 << 20

    /// - Parameters:
    ///   - connectTimeout: how long to wait for a TCP+TLS connection.
    ///   - requestTimeout: the longest a request may take, long-poll included.
    ///   - compressPages: ask peers for gzip pages (they answer gzip only for a page worth it).
    public init(tls: TLSMaterial, connectTimeout: TimeAmount = .seconds(5), requestTimeout: TimeAmount = .seconds(70), compressPages: Bool = true) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration())
        configuration.timeout = .init(connect: connectTimeout, read: requestTimeout)
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        // Inflates gzip pages (PageCompression), never past what an uncompressed page may be.
        configuration.decompression = .enabled(limit: .size(Self.maxBodyBytes))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.requestTimeout = requestTimeout
        self.tls = tls
        self.compressPages = compressPages
    }

    /// Shuts the connection pool down. Call once, last.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Pulls the changes after `cursor` from the peer at `baseURL`, holding the request open up
    /// to `waitMilliseconds` when there is nothing yet (long-poll).
    /// - Throws: ``FederationError``: `.unreachable` (connect/TLS/timeout), `.refused` (401/403),
    ///   `.rateLimited` (429/503, with Retry-After), `.protocolError`.
    /// A `full` cursor makes the peer send everything, including what this node sent it (after a restore).
    public func pull(from baseURL: String, after cursor: PeerCursor, limit: Int, waitMilliseconds: Int) async throws(FederationError) -> PulledPage {
        var url = "\(baseURL)/v1/changes?after=\(cursor.seq)&limit=\(limit)&wait_ms=\(waitMilliseconds)"
        if cursor.full { url += "&echo=0" }
        if let epoch = cursor.epoch { url += "&epoch=\(epoch)" }
        var request = HTTPClientRequest(url: url)
        // Said either way: AsyncHTTPClient's decompressor would otherwise offer "deflate, gzip".
        request.headers.add(name: "Accept-Encoding", value: compressPages ? "gzip" : "identity")
        let (status, headers, body) = try await send(request)
        switch status.code {
        case 200:
            // What crossed the wire: the compressed length when the page came gzipped (AsyncHTTPClient
            // hands over the inflated body).
            let wireBytes = headers.first(name: "Content-Encoding") == nil ? body.readableBytes
                : headers.first(name: "Content-Length").flatMap(Int.init) ?? body.readableBytes
            guard let epoch = headers.first(name: "Hanaro-Epoch"), let next = headers.first(name: "Hanaro-Next").flatMap(Int64.init) else {
                throw FederationError(.protocolError, "\(baseURL) answered without Hanaro-Epoch/Hanaro-Next headers; is it a Hanaro node?")
            }
            return .page(.init(epoch: epoch, frames: try WireFrames.decode(body), next: next, more: headers.first(name: "Hanaro-More") == "1",
                               bodyBytes: wireBytes, yourCursor: headers.first(name: "Hanaro-Your-Cursor").flatMap(PeerCursor.init(text:)),
                               freshness: headers.first(name: "Hanaro-Freshness").map(RelayFreshness.init(header:))))
        case 409:
            guard let epoch = headers.first(name: "Hanaro-Epoch") else {
                throw FederationError(.protocolError, "\(baseURL) answered 409 without Hanaro-Epoch")
            }
            return .reset(epoch: epoch)
        default:
            throw Self.failure(status: status, headers: headers, body: body, peer: baseURL)
        }
    }

    /// Pushes a batch of encoded versions to the peer at `baseURL`.
    public func push(_ frames: [[UInt8]], to baseURL: String) async throws(FederationError) {
        var request = HTTPClientRequest(url: "\(baseURL)/v1/push")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: WireFrames.contentType)
        request.body = .bytes(WireFrames.encode(frames))
        let (status, headers, body) = try await send(request)
        guard status.code == 200 else { throw Self.failure(status: status, headers: headers, body: body, peer: baseURL) }
    }

    func send(_ request: HTTPClientRequest) async throws(FederationError) -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        do {
            let response = try await http.execute(request, timeout: requestTimeout)
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            return (response.status, response.headers, body)
        } catch let error as FederationError {
            throw error
        } catch let error as NIOHTTPDecompression.DecompressionError {
            let reason = error == .limit ? "inflates past the \(Self.maxBodyBytes)-byte limit" : "does not inflate (\(error))"
            throw FederationError(.protocolError, "\(request.url): a gzip answer \(reason); refused")
        } catch let error as NIOHTTPDecompression.ExtraDecompressionError {
            throw FederationError(.protocolError, "\(request.url): a gzip answer is broken (\(error)); refused")
        } catch {
            // The reason first (status tables truncate), then where.
            let origin = URL(string: request.url).map { "\($0.host ?? ""):\($0.port ?? 443)" } ?? request.url
            throw FederationError(.unreachable, "\(Self.describe(error)) (peer node \(origin))")
        }
    }

    static func failure(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, peer: String) -> FederationError {
        let reason = String(buffer: body).prefix(300)
        switch status.code {
        case 401, 403:
            return FederationError(.refused, "\(peer) refused this node (\(status.code)): \(reason)")
        case 429, 503:
            let retryAfter = headers.first(name: "Retry-After").flatMap(Double.init)
            return FederationError(.rateLimited, "\(peer) asked to slow down (\(status.code))", retryAfterSeconds: retryAfter)
        default:
            return FederationError(.protocolError, "\(peer) answered \(status.code): \(reason)")
        }
    }

    /// A one-line reason for a transport error (in TLS 1.3 a refused client certificate surfaces here, on the first read, not at connect).
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_REQUIRED") { return "the peer requires a client certificate (TLS alert certificate_required)" }
        if text.contains("UNKNOWN_CA") || text.contains("unknownCA") { return "TLS: certificate not signed by the federation CA" }
        if text.contains("CERTIFICATE_EXPIRED") || text.contains("certificateExpired") { return "TLS: certificate expired" }
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if text.contains("connectTimeout") { return "connect timed out" }
        if text.contains("deadlineExceeded") || text.contains("readTimeout") { return "no answer in time" }
        return text
    }
}
