import CompressNIO
import Foundation
public import NIOCore

/// gzip for the federation's feed pages, negotiated the plain HTTP way: a puller that can inflate
/// sends `Accept-Encoding: gzip`; the node answers `Content-Encoding: gzip` (and `Vary:
/// Accept-Encoding`) for a page worth compressing, and the identity encoding otherwise. A node that
/// does not ask gets the page as before, so old and new nodes mix. The codec is zlib through
/// compress-nio (a kept library); nothing here is hand-written compression.
///
/// The puller inflates with AsyncHTTPClient's own decompression (swift-nio-extras), bounded: a
/// page that inflates past the cap of an uncompressed body, is truncated, or carries bytes after
/// the gzip member is refused as a protocol error (``PeerClient``), so a "zip bomb" costs the
/// cap, not memory.
public enum PageCompression {
    /// Pages smaller than this are sent as they are (the gzip header and a deflate block would
    /// cost more than they save, and long-poll answers are mostly empty).
    public static let minimumBytes = 1_024
    /// zlib level 6 (zlib's default). Level 1, the fastest, was the first choice: the serving
    /// node compresses on its request path. Measured side by side (docs/BENCHMARKS.md, session 9),
    /// level 6 sends 11 % fewer bytes (172 vs 194 B a signed record, 73 vs 93 unsigned: deflate's
    /// lazy matching finds the records' repeats around each signature's random bytes) and no
    /// slower pull on these two cores.
    static let level: Int32 = 6

    /// Whether an `Accept-Encoding` value allows gzip (RFC 9110 §12.5.3: a `q=0` refuses it; `*`
    /// allows it unless gzip is refused by name).
    public static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var wildcard = false
        for member in header.split(separator: ",") {
            let parts = member.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first else { continue }
            let refused = parts.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
            if coding == "gzip" || coding == "x-gzip" { return !refused }
            if coding == "*" { wildcard = !refused }
        }
        return wildcard
    }

    /// The page gzipped, or nil when it is too small to gain or zlib failed (the caller then sends
    /// it uncompressed: compression is an optimisation, never a reason to fail a pull).
    public static func gzip(_ body: ByteBuffer) -> ByteBuffer? {
        guard body.readableBytes >= minimumBytes else { return nil }
        var input = body
        do {
            let compressed = try input.compress(with: .gzip(configuration: .init(compressionLevel: level)))
            return compressed.readableBytes < body.readableBytes ? compressed : nil
        } catch {
            return nil
        }
    }
}
