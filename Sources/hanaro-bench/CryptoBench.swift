import ArgumentParser
import Crypto
import Foundation
import HanaroCore
import HanaroFixtures
import HanaroEvidence
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
            print(label.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: " %8.1f µs/version  (%.0f versions/s)", seconds / Double(count) * 1e6, Double(count) / seconds))
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
        // Signed as an adapter's page is: in batches of 64, one Ed25519 signature each.
        var batchSignatures: [VersionSignature] = []
        time("sign in batches (envelopes + tree + Ed25519 per 64)") { batchSignatures = key.sign(versions) }
        let batchSigned = zip(versions, batchSignatures).map { SignedVersion($0, signature: $1) }
        let batchFrames = batchSigned.map(\.frame)
        time("decode a batch-signed frame") { for frame in batchFrames { _ = try? SignedVersion(frame: frame) } }
        try time("verify batch-signed (head checked once per batch)") {
            var seen = VerifiedBatches()
            for version in batchSigned { try ring.verify(version, batches: &seen) }
        }
        print(String(format: "signature bytes per version: %.1f alone, %.1f in batches",
                     Double(signatures.map(\.canonicalBytes.count).reduce(0, +)) / Double(count),
                     Double(batchSignatures.map(\.canonicalBytes.count).reduce(0, +)) / Double(count)))
        let envelope = SignedVersion.envelope(key: versions[0].key, vector: versions[0].vector, author: signatures[0].author,
                                              bodyHash: Array(SHA256.hash(data: versions[0].bodyBytes)), personalHash: signatures[0].personalHash)
        let publicKey = key.verifier
        var valid = 0
        time("Ed25519 verify alone (swift-crypto/BoringSSL)") { for _ in 0..<count { if publicKey.isValidSignature(signatures[0].signature, for: envelope) { valid += 1 } } }
        // A referral's personal part sealed to its other party (HPKE X25519/ChaCha20-Poly1305), as
        // every referral version an agency authors carries it, and opened by that party.
        let target = try NoteSigner(AgencySigningKey(agency: .kamco).text)
        let recipient = target.verifier.sealingPublicKey!
        let referrals = versions.filter { $0.key.kind == .referral }
        let suite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly, info = Data("hanaro/personal/v1".utf8)
        var sealed: [(Data, Data)] = []
        let sealStart = monotonicSeconds()
        for version in referrals {
            var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: suite, info: info)
            sealed.append((sender.encapsulatedKey, try sender.seal(version.personalBytes, authenticating: envelope)))
        }
        let sealSeconds = monotonicSeconds() - sealStart
        var opened = 0
        let openStart = monotonicSeconds()
        for (encapsulated, ciphertext) in sealed {
            var receiver = try HPKE.Recipient(privateKey: target.sealingPrivateKey, ciphersuite: suite, info: info, encapsulatedKey: encapsulated)
            opened += try receiver.open(ciphertext, authenticating: envelope).count
        }
        let openSeconds = monotonicSeconds() - openStart
        let extra = sealed.map { 1 + 1 + 5 + 33 + $0.1.count + 2 }.reduce(0, +) / max(1, sealed.count)
        print("seal the personal part to the target (HPKE)".padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: " %8.1f µs/referral version", sealSeconds / Double(referrals.count) * 1e6))
        print("open it at the target (HPKE)".padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: " %8.1f µs/referral version", openSeconds / Double(referrals.count) * 1e6))
        print("sealed part on the wire: ~\(extra) B per referral version (\(referrals.count) referral versions, \(opened) bytes opened)")
        print("(checks: \(valid == count ? "every signature valid" : "INVALID SIGNATURES"), \(hashes & 1))")
    }
}
