public import Foundation
import Crypto
import HanaroCore

/// A digest of a replica's whole merged state: equal on two replicas exactly when they hold the
/// same records with the same version vectors (up to SHA-256 collisions).
///
/// It is the XOR of one SHA-256 per record over the record's key, vector, body and the *shareable*
/// form of its personal register (each personal write's dot, never its value): every node holds
/// that form — the parties of a referral hold the fields, the others hold them withheld — so all
/// nodes compare, replicas with different encryption keys compare, and nothing derived from a
/// person's data is hashed. (Whether the two parties hold the same values is covered by the
/// register merge, which keeps one value per write; the convergence tests compare records in
/// full.) XOR makes it
/// order-independent and incrementally maintainable: each write XORs out the old record's hash and
/// XORs in the new one, in the same transaction, so reading it is O(1) on any size of replica.
/// XOR is a fine set hash here because keys are unique (no record is counted twice) and the
/// adversary model is bugs, not forgers.
public struct ReplicaDigest: Hashable, Sendable, CustomStringConvertible {
    public private(set) var bytes: [UInt8]

    /// The digest of an empty replica (all zero).
    public static let empty = ReplicaDigest(bytes: [UInt8](repeating: 0, count: 32))

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a replica digest is 32 bytes")
        self.bytes = bytes
    }

    /// Adds or removes (XOR is its own inverse) one record hash.
    mutating func toggle(_ recordHash: SHA256.Digest) {
        var index = 0
        recordHash.withUnsafeBytes { raw in
            for byte in raw {
                bytes[index] ^= byte
                index += 1
            }
        }
    }

    /// The hash of one record's state.
    static func recordHash(key: String, vector: [UInt8], body: [UInt8], personal: [UInt8]) -> SHA256.Digest {
        var hasher = SHA256()
        hasher.update(data: Data(key.utf8))
        hasher.update(data: [0])
        hasher.update(data: vector)
        hasher.update(data: body)
        hasher.update(data: personal)
        return hasher.finalize()
    }

    /// Lower-case hex.
    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}
