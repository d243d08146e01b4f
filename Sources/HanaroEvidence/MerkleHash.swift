import Crypto

/// The RFC 6962 §2.1 Merkle tree hash functions, over SHA-256.
///
/// Leaves and interior nodes are hashed with different one-byte prefixes so that a leaf can never
/// be passed off as an interior node (second-preimage resistance).
public enum MerkleHash {
    /// The size in bytes of every hash in the tree.
    public static let size = 32

    /// The root hash of the empty tree: SHA-256 of the empty string.
    public static let emptyTree: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// The hash of a leaf holding `entry`: SHA-256(0x00 || entry).
    public static func leaf(_ entry: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: entry)
        return Array(hasher.finalize())
    }

    /// The hash of an interior node: SHA-256(0x01 || left || right).
    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }
}
