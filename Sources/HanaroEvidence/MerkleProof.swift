/// Verification of RFC 6962 inclusion and consistency proofs, independent of any tree.
///
/// These are the iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2. Every hash (leaf hash,
/// roots, proof elements) must be 32 bytes; anything else fails verification rather than being
/// hashed, so empty or truncated elements can never slip through.
///
/// The tree size is not itself hashed: a proof can also verify at another size whose tree has
/// the same shape along the proof's path. Take the size and root together from one authenticated
/// tree head (a checkpoint whose signature you verified), never from separate sources.
public enum MerkleProof {
    /// Whether `proof` shows that the leaf with `leafHash` is at `index` in the tree of
    /// `treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(
        leafHash: [UInt8], index: UInt64, treeSize: UInt64, proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard isHash(root), let computed = rootFromInclusion(leafHash: leafHash, index: index, treeSize: treeSize, proof: proof) else { return false }
        return computed == root
    }

    /// The root that an inclusion proof leads to from `leafHash` (RFC 9162 §2.1.3.2), or nil when
    /// the proof does not have the length a tree of `treeSize` gives for `index`. A batch of
    /// signed versions checks its signature against this root once, then each leaf against it.
    public static func rootFromInclusion(leafHash: [UInt8], index: UInt64, treeSize: UInt64, proof: [[UInt8]]) -> [UInt8]? {
        guard index < treeSize, isHash(leafHash), proof.allSatisfy(isHash) else { return nil }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return nil }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? r : nil
    }

    /// Whether `proof` shows that the tree of `oldSize` leaves with root `oldRoot` is a prefix of
    /// the tree of `newSize` leaves with root `newRoot` (RFC 9162 §2.1.4.2).
    ///
    /// Equal sizes need an empty proof and equal roots. A proof from size 0 is refused, as RFC 9162
    /// defines proofs only for 0 < oldSize: consistency with the empty tree needs no proof.
    public static func verifyConsistency(
        oldSize: UInt64, newSize: UInt64, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard oldSize > 0, oldSize <= newSize, isHash(oldRoot), isHash(newRoot), proof.allSatisfy(isHash) else {
            return false
        }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        guard !proof.isEmpty else { return false }

        // When the old tree is a complete subtree, its root is the proof's implicit first node.
        let path = oldSize & (oldSize - 1) == 0 ? [oldRoot] + proof : proof
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }

    private static func isHash(_ bytes: [UInt8]) -> Bool {
        bytes.count == MerkleHash.size
    }
}
