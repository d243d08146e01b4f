/// Inclusion and consistency proofs, transcribed from RFC 6962 §2.1.1 (PATH) and §2.1.2
/// (PROOF, SUBPROOF) over index ranges of the tree.
extension MerkleTree {
    /// The audit path that proves leaf `leafIndex` is in the tree of the first `treeSize` leaves:
    /// PATH(leafIndex, D[0:treeSize]), ordered from the leaf's sibling up to the root.
    ///
    /// - Throws: `invalidTreeRange` unless `leafIndex < treeSize <= size`.
    public func inclusionProof(leafIndex: UInt64, treeSize: UInt64) throws(EvidenceError) -> [[UInt8]] {
        guard treeSize <= size else {
            throw EvidenceError(.invalidTreeRange, "No proof at tree size \(treeSize): the tree has \(size) leaves.")
        }
        guard leafIndex < treeSize else {
            throw EvidenceError(.invalidTreeRange, "Leaf \(leafIndex) is not in a tree of \(treeSize) leaves.")
        }
        return path(Int(leafIndex), in: 0 ..< Int(treeSize))
    }

    /// The proof that the tree of the first `oldSize` leaves is a prefix of the tree of the first
    /// `newSize` leaves: PROOF(oldSize, D[0:newSize]). Empty when the sizes are equal.
    ///
    /// - Throws: `invalidTreeRange` unless `0 < oldSize <= newSize <= size` (RFC 6962 defines no
    ///   proof from the empty tree; every tree is trivially consistent with it).
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(EvidenceError) -> [[UInt8]] {
        guard newSize <= size else {
            throw EvidenceError(.invalidTreeRange, "No proof to tree size \(newSize): the tree has \(size) leaves.")
        }
        guard oldSize > 0, oldSize <= newSize else {
            throw EvidenceError(.invalidTreeRange, "No consistency proof from size \(oldSize) to \(newSize): need 0 < old size <= new size.")
        }
        return subproof(Int(oldSize), in: 0 ..< Int(newSize), isOldRoot: true)
    }

    /// PATH(m, D[range]), where m is relative to the range's start.
    private func path(_ m: Int, in range: Range<Int>) -> [[UInt8]] {
        guard range.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: range.count)
        let split = range.lowerBound + k
        if m < k {
            return path(m, in: range.lowerBound ..< split) + [hash(of: split ..< range.upperBound)]
        } else {
            return path(m - k, in: split ..< range.upperBound) + [hash(of: range.lowerBound ..< split)]
        }
    }

    /// SUBPROOF(m, D[range], b), where m is relative to the range's start and `isOldRoot` is b:
    /// whether the subtree is the old tree itself, whose root the verifier already has.
    private func subproof(_ m: Int, in range: Range<Int>, isOldRoot: Bool) -> [[UInt8]] {
        if m == range.count {
            return isOldRoot ? [] : [hash(of: range)]
        }
        let k = largestPowerOfTwo(below: range.count)
        let split = range.lowerBound + k
        if m <= k {
            return subproof(m, in: range.lowerBound ..< split, isOldRoot: isOldRoot) + [hash(of: split ..< range.upperBound)]
        } else {
            return subproof(m - k, in: split ..< range.upperBound, isOldRoot: false) + [hash(of: range.lowerBound ..< split)]
        }
    }
}
