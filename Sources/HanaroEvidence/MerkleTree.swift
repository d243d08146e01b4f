/// An append-only, in-memory RFC 6962 Merkle tree of leaf hashes.
///
/// Besides the leaves it keeps the hash of every complete subtree (every aligned run of 2^k
/// leaves), updated as leaves are appended. Every subtree hash that the RFC 6962 recursion asks
/// for is then either one of those or the right edge of the tree, so a root hash at any past size
/// costs O(log n) hashes and a proof O(log² n), with no cache to invalidate. Memory is about two
/// hashes per leaf.
///
/// Sizes and indexes are `UInt64`, as in checkpoints and proofs on the wire.
public struct MerkleTree: Sendable {
    /// `levels[k][i]` is the hash of the complete subtree of 2^k leaves that starts at leaf
    /// i·2^k; `levels[0]` are the leaf hashes.
    private var levels: [[[UInt8]]] = [[]]

    /// An empty tree.
    public init() {}

    /// The number of leaves.
    public var size: UInt64 { UInt64(levels[0].count) }

    /// Appends a leaf holding `entry` (hashed as an RFC 6962 leaf) and returns its index.
    @discardableResult
    public mutating func append(_ entry: [UInt8]) -> UInt64 {
        appendHash(MerkleHash.leaf(entry))
    }

    /// Appends a leaf by its already computed leaf hash and returns its index.
    ///
    /// - Throws: `invalidTreeRange` if `leafHash` is not 32 bytes.
    @discardableResult
    public mutating func append(leafHash: [UInt8]) throws(EvidenceError) -> UInt64 {
        guard leafHash.count == MerkleHash.size else {
            throw EvidenceError(.invalidTreeRange, "A leaf hash must be \(MerkleHash.size) bytes, not \(leafHash.count).")
        }
        return appendHash(leafHash)
    }

    /// The leaf hash at `index`.
    ///
    /// - Throws: `invalidTreeRange` if `index` is not below `size`.
    public func leafHash(at index: UInt64) throws(EvidenceError) -> [UInt8] {
        guard index < size else {
            throw EvidenceError(.invalidTreeRange, "No leaf \(index) in a tree of \(size) leaves.")
        }
        return levels[0][Int(index)]
    }

    /// The root hash of the whole tree (the empty-tree hash when there are no leaves).
    public var rootHash: [UInt8] {
        hash(of: 0 ..< levels[0].count)
    }

    /// The root hash the tree had when it held its first `size` leaves: MTH(D[0:size]).
    ///
    /// - Throws: `invalidTreeRange` if `size` is larger than the tree.
    public func rootHash(size: UInt64) throws(EvidenceError) -> [UInt8] {
        guard size <= self.size else {
            throw EvidenceError(.invalidTreeRange, "No root at size \(size): the tree has \(self.size) leaves.")
        }
        return hash(of: 0 ..< Int(size))
    }

    private mutating func appendHash(_ leafHash: [UInt8]) -> UInt64 {
        levels[0].append(leafHash)
        // Each time a level reaches an even count, its last two nodes complete a parent.
        var level = 0
        while levels[level].count % 2 == 0 {
            let count = levels[level].count
            let parent = MerkleHash.node(levels[level][count - 2], levels[level][count - 1])
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(parent)
            level += 1
        }
        return size - 1
    }

    /// MTH(D[range]) per RFC 6962 §2.1. Complete aligned subtrees come from `levels`; anything
    /// else is split at the largest power of two below its length, as the RFC defines.
    func hash(of range: Range<Int>) -> [UInt8] {
        let count = range.count
        if count == 0 { return MerkleHash.emptyTree }
        if count & (count - 1) == 0 && range.lowerBound % count == 0 {
            let level = count.trailingZeroBitCount
            return levels[level][range.lowerBound >> level]
        }
        let split = range.lowerBound + largestPowerOfTwo(below: count)
        return MerkleHash.node(hash(of: range.lowerBound ..< split), hash(of: split ..< range.upperBound))
    }
}

/// The largest power of two strictly less than `n` (n ≥ 2): the RFC 6962 split point k.
func largestPowerOfTwo(below n: Int) -> Int {
    1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
}
