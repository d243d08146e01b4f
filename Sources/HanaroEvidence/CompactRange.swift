/// An RFC 6962 compact range of the leaves [0, size): the roots of the perfect subtrees that
/// make up the tree, largest (leftmost) first, one per set bit of `size`. Appending a leaf merges
/// equal-sized subtrees; the root folds them right to left. (transparency-dev/merkle's
/// compact.Range, for ranges that start at 0.)
public struct CompactRange: Sendable, Hashable {
    public private(set) var size: Int64 = 0
    public private(set) var hashes: [[UInt8]] = []

    public init() {}

    /// A range read back from its size and its hashes laid end to end (nil when they do not fit).
    public init?(size: Int64, hashes flat: [UInt8]) {
        guard size >= 0, flat.count == size.nonzeroBitCount * 32 else { return nil }
        self.size = size
        hashes = stride(from: 0, to: flat.count, by: 32).map { Array(flat[$0 ..< $0 + 32]) }
    }

    /// Appends a leaf by its leaf hash.
    public mutating func append(_ leafHash: [UInt8]) {
        var hash = leafHash, bits = size
        while bits & 1 == 1 {
            hash = MerkleHash.node(hashes.removeLast(), hash)
            bits >>= 1
        }
        hashes.append(hash)
        size += 1
    }

    /// The tree's root (the empty tree's hash for no leaves).
    public var root: [UInt8] {
        guard var root = hashes.last else { return MerkleHash.emptyTree }
        for hash in hashes.dropLast().reversed() { root = MerkleHash.node(hash, root) }
        return root
    }
}
