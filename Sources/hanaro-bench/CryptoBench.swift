import ArgumentParser
import Crypto
import Foundation
import HanaroCore
import HanaroFixtures
import HanaroStore

/// `hanaro-bench crypto`: what one version's signature costs, piece by piece, on one core — the
/// figures that bound a sync with signatures on (docs/BENCHMARKS.md).
struct CryptoBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crypto", abstract: "Per-version cost of signing and verifying, on one core.")
    @Option(help: "Versions to sign and verify.") var count = 20_000

    func run() throws {
        print("# hanaro-bench crypto --count \(count)")
        let key = AgencySigningKey(agency: .kodit)
        let ring = VersionAuthentication(signer: nil, keys: [key.verifier])
        var data = SyntheticData(seed: 5)
        let versions = (0..<count).map { i in
            i % 5 == 4 ? data.referralVersion(origin: .kodit, referralID: "r\(i)", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000 + UInt64(i)))
                : data.programVersion(owner: .kodit, nativeID: "p\(i)", at: HLCTimestamp(millisecondsSince1970: 1_790_000_000_000 + UInt64(i)))
        }
        func time(_ label: String, _ body: () throws -> Void) rethrows {
            let start = monotonicSeconds()
            try body()
            let seconds = monotonicSeconds() - start
            print(String(format: "%-52@ %8.1f µs/version  (%.0f versions/s)", label as NSString, seconds / Double(count) * 1e6, Double(count) / seconds))
        }
        var hashes = 0
        time("SHA-256 of the body (re-encoded)") { for version in versions { hashes &+= Int(SHA256.hash(data: version.bodyBytes).withUnsafeBytes { $0[0] }) } }
        var signatures: [VersionSignature] = []
        signatures.reserveCapacity(count)
        time("sign (envelope + Ed25519)") { for version in versions { signatures.append(key.sign(version)) } }
        let signed = zip(versions, signatures).map { SignedVersion($0, signature: $1) }
        let frames = signed.map(\.frame)
        time("decode a frame (SignedVersion(frame:))") { for frame in frames { _ = try? SignedVersion(frame: frame) } }
        try time("verify (checks + envelope + Ed25519)") { for version in signed { try ring.verify(version) } }
        let envelope = SignedVersion.envelope(key: versions[0].key, vector: versions[0].vector, author: signatures[0].author,
                                              bodyHash: Array(SHA256.hash(data: versions[0].bodyBytes)), personalHash: signatures[0].personalHash)
        let publicKey = key.verifier
        var valid = 0
        time("Ed25519 verify alone (swift-crypto/BoringSSL)") { for _ in 0..<count { if publicKey.isValidSignature(signatures[0].signature, for: envelope) { valid += 1 } } }
        print("(checks: \(valid == count ? "every signature valid" : "INVALID SIGNATURES"), \(hashes & 1))")
    }
}
