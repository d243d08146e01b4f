import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import HanaroTesting
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

/// gzip pages between nodes (`federation.compress_pages`): negotiated with `Accept-Encoding`,
/// checked against tools nobody on this project wrote (curl asks for the page, gzip inflates it),
/// and bounded when a peer sends a page that inflates without end.
@Suite("Compressed pages")
struct PageCompressionTests {
    @Test("Accept-Encoding: gzip is taken when offered, refused with q=0, allowed by * unless refused by name")
    func negotiation() {
        #expect(PageCompression.acceptsGzip("gzip"))
        #expect(PageCompression.acceptsGzip("deflate, GZIP;q=0.5"))
        #expect(PageCompression.acceptsGzip("br, *"))
        #expect(!PageCompression.acceptsGzip(nil))
        #expect(!PageCompression.acceptsGzip("identity"))
        #expect(!PageCompression.acceptsGzip("gzip;q=0"))
        #expect(!PageCompression.acceptsGzip("gzip; q=0.000"))
        #expect(!PageCompression.acceptsGzip("*, gzip;q=0"))
        #expect(!PageCompression.acceptsGzip("*;q=0"))
    }

    @Test("A peer's gzip page that inflates past 64 MiB, is truncated, has trailing bytes or is not gzip is refused as a protocol error; a small page is sent as it is")
    func hostileGzip() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        #expect(PageCompression.gzip(ByteBuffer(string: "short")) == nil, "too small to gain: sent as it is")
        // 80 MiB of zeros gzip to ~80 KiB: a small "bomb".
        let bomb = try #require(PageCompression.gzip(ByteBuffer(repeating: 0, count: 80 << 20)))
        #expect(bomb.readableBytes < 1 << 20)
        var truncated = try #require(PageCompression.gzip(ByteBuffer(repeating: 7, count: 1 << 20)))
        truncated.moveWriterIndex(to: truncated.writerIndex - 16)
        var trailing = try #require(PageCompression.gzip(ByteBuffer(repeating: 7, count: 1 << 20)))
        trailing.writeString("trailing bytes")
        let answers: [String: ByteBuffer] = ["bomb": bomb, "truncated": truncated, "trailing": trailing, "garbage": ByteBuffer(string: String(repeating: "not gzip ", count: 200))]

        // A hostile "kodit": the federation's CA and kodit's certificate, answering pages in gzip.
        let tls = try TLSMaterial(certificatePath: dir.file("kodit.pem"), keyPath: dir.file("kodit-key.pem"), caPath: dir.file("federation-ca.pem"))
        let router = Router()
        router.get("/{kind}/v1/changes") { _, context -> Response in
            let kind = context.parameters.get("kind") ?? ""
            return Response(status: .ok, headers: [.contentType: WireFrames.contentType, .contentEncoding: "gzip",
                                                   HTTPField.Name("Hanaro-Epoch")!: "e", HTTPField.Name("Hanaro-Next")!: "1"],
                            body: .init(byteBuffer: answers[kind] ?? ByteBuffer()))
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, server: try ConnectionGuard(listener: "hostile").serverBuilder(tls: tls.serverConfiguration()),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.run() }
        var ports = stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        let semasTLS = try TLSMaterial(certificatePath: dir.file("semas.pem"), keyPath: dir.file("semas-key.pem"), caPath: dir.file("federation-ca.pem"))
        let client = PeerClient(tls: semasTLS, requestTimeout: .seconds(20))
        for kind in answers.keys.sorted() {
            do {
                _ = try await client.pull(from: "https://127.0.0.1:\(port)/\(kind)", after: PeerCursor(epoch: nil, seq: 0), limit: 10, waitMilliseconds: 0)
                Issue.record("the \(kind) answer was taken")
            } catch {
                #expect(error.code == .protocolError, "\(kind): \(error.message)")
                #expect(error.message.contains("gzip"), "\(kind): \(error.message)")
            }
        }
        await client.shutdown()
        server.cancel()
        _ = try? await server.value
    }

    @Test("Over mutual TLS: a puller that asks gets a gzip page with the same frames, fewer bytes on the wire; curl and gzip from outside agree")
    func overTLS() async throws {
        let dir = TemporaryDirectory()
        try DevelopmentPKI.createCA(in: dir.path)
        for agency in [AgencyID.semas, .kodit] { try DevelopmentPKI.issue(for: agency, in: dir.path) }
        let kodit = try await TestNode(agency: .kodit, dir: dir, peers: [.semas])
        let semas = try await TestNode(agency: .semas, dir: dir, peers: [.kodit])
        var data = SyntheticData(seed: 77)
        let programs = (0..<300).map { data.program(owner: .kodit, nativeID: "P-\($0)") }
        try await kodit.replica.author(programs.map { AuthoredEdit(key: $0.key, edit: .publishProgram($0)) }, by: .kodit)

        let plainClient = PeerClient(tls: semas.tls, requestTimeout: .seconds(20), compressPages: false)
        guard case .page(let plain) = try await plainClient.pull(from: kodit.url, after: PeerCursor(epoch: nil, seq: 0), limit: 500, waitMilliseconds: 0),
              case .page(let compressed) = try await semas.client.pull(from: kodit.url, after: PeerCursor(epoch: nil, seq: 0), limit: 500, waitMilliseconds: 0) else {
            Issue.record("expected pages")
            return
        }
        await plainClient.shutdown()
        #expect(plain.frames.count == 300)
        #expect(compressed.frames == plain.frames, "the same versions, byte for byte")
        let decodedBytes = WireFrames.encode(plain.frames).readableBytes
        #expect(plain.bodyBytes == decodedBytes)
        #expect(compressed.bodyBytes < decodedBytes / 2, "\(compressed.bodyBytes) bytes on the wire for \(decodedBytes) of frames")

        // The same page through curl, asking for gzip: the node answers Content-Encoding: gzip,
        // and gzip(1) inflates it to exactly the frames the uncompressed answer carries.
        let headers = dir.file("headers.txt"), body = dir.file("page.gz")
        let curl = try tool("/usr/bin/curl", [
            "-sS", "--cacert", dir.file("federation-ca.pem"), "--cert", dir.file("semas.pem"), "--key", dir.file("semas-key.pem"),
            "-H", "Accept-Encoding: gzip", "-D", headers, "-o", body, "\(kodit.url)/v1/changes?after=0&limit=500"])
        #expect(curl.status == 0, "\(curl.stderr)")
        let head = try String(contentsOfFile: headers, encoding: String.Encoding.utf8).lowercased()
        #expect(head.contains("content-encoding: gzip"))
        #expect(head.contains("vary: accept-encoding"))
        let gunzip = try tool("/bin/sh", ["-c", "gzip -dc < '\(body)'"])
        #expect(gunzip.status == 0, "\(gunzip.stderr)")
        #expect(Array(gunzip.stdout) == Array(WireFrames.encode(plain.frames).readableBytesView))

        // A puller that does not ask gets the identity encoding.
        let plainCurl = try tool("/usr/bin/curl", [
            "-sS", "--cacert", dir.file("federation-ca.pem"), "--cert", dir.file("semas.pem"), "--key", dir.file("semas-key.pem"),
            "-D", "-", "-o", "/dev/null", "\(kodit.url)/v1/changes?after=0&limit=500"])
        #expect(!String(decoding: plainCurl.stdout, as: UTF8.self).lowercased().contains("content-encoding"))

        // And the link applies a compressed page like any other: both replicas converge.
        try await settle([semas.link(to: kodit)])
        #expect(try await semas.replica.digest() == kodit.replica.digest())
        await semas.stop()
        await kodit.stop()
    }
}

/// An outside tool run to its end (HanaroTesting's `runToEnd`), its standard error as text.
private func tool(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
    let (status, stdout, stderr) = try runToEnd(URL(fileURLWithPath: path), arguments)
    return (status, stdout, String(decoding: stderr, as: UTF8.self))
}
