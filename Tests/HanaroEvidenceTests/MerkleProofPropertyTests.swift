import HanaroEvidence
import Testing

/// Properties of proofs over trees of random leaves: every proof the tree builds verifies, and
/// no single-byte change to a proof hash, leaf hash or root, nor a changed index, is accepted.
@Suite("Merkle proofs: properties")
struct MerkleProofPropertyTests {
    static let largest = 300

    /// A tree of `largest` random leaves of random length (a fixed seed, so runs are repeatable).
    static let tree: MerkleTree = {
        var generator = SeededGenerator(seed: 6962)
        var tree = MerkleTree()
        for _ in 0 ..< largest {
            let count = Int.random(in: 0 ... 40, using: &generator)
            tree.append((0 ..< count).map { _ in UInt8.random(in: 0 ... 255, using: &generator) })
        }
        return tree
    }()

    /// Every size up to 40, then sizes around powers of two and a random sample up to `largest`.
    static let sizes: [UInt64] = {
        var generator = SeededGenerator(seed: 9162)
        let sampled = (0 ..< 8).map { _ in UInt64.random(in: 41 ... UInt64(largest), using: &generator) }
        return Array(1 ... 40) + [63, 64, 65, 127, 128, 129, 255, 256, 257, UInt64(largest)] + sampled
    }()

    @Test("a root computed at a past size equals the root the tree had then")
    func pastRoots() throws {
        var growing = MerkleTree()
        for index in 0 ..< UInt64(Self.largest) {
            #expect(growing.rootHash == (try Self.tree.rootHash(size: index)))
            try growing.append(leafHash: try Self.tree.leafHash(at: index))
        }
        #expect(growing.rootHash == Self.tree.rootHash)
    }

    @Test("every inclusion proof verifies; tampered ones do not", arguments: sizes)
    func inclusion(size: UInt64) throws {
        var generator = SeededGenerator(seed: size)
        let root = try Self.tree.rootHash(size: size)
        // Exhaustive byte flips for small trees, one random byte per hash for large ones.
        let exhaustive = size <= 16
        for index in 0 ..< size {
            let leaf = try Self.tree.leafHash(at: index)
            let proof = try Self.tree.inclusionProof(leafIndex: index, treeSize: size)
            func verifies(leaf: [UInt8] = leaf, index: UInt64 = index, size: UInt64 = size, proof: [[UInt8]] = proof, root: [UInt8] = root) -> Bool {
                MerkleProof.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root)
            }
            // Given a proof the tree built, Then it verifies
            #expect(verifies(), "leaf \(index) of \(size)")

            // When any one byte of the leaf hash, the root or a proof hash changes, Then it fails
            for position in Self.positions(exhaustive: exhaustive, using: &generator) {
                let mask = UInt8.random(in: 1 ... 255, using: &generator)
                #expect(!verifies(leaf: leaf.flipping(position, with: mask)))
                #expect(!verifies(root: root.flipping(position, with: mask)))
                for element in proof.indices {
                    var tampered = proof
                    tampered[element] = proof[element].flipping(position, with: mask)
                    #expect(!verifies(proof: tampered), "leaf \(index) of \(size), proof[\(element)] byte \(position)")
                }
            }
            // When the index changes, Then it fails
            for other in [index &- 1, index + 1, index ^ 1, index ^ 2, size] where other != index {
                #expect(!verifies(index: other), "leaf \(index) claimed as \(other) of \(size)")
            }
            // When the proof is shortened, lengthened or reordered, Then it fails
            #expect(!verifies(proof: proof + [root]))
            #expect(!verifies(proof: [leaf] + proof))
            if !proof.isEmpty { #expect(!verifies(proof: Array(proof.dropLast()))) }
            if proof.count > 1 { #expect(!verifies(proof: Array(proof.reversed()))) }
            // When the size doubles, Then it fails (the path is one node longer)
            #expect(!verifies(size: size * 2))
        }
    }

    @Test("a proof for one tree never proves inclusion in another", arguments: [UInt64(5), 13, 32, 33, 100])
    func proofsDoNotTransfer(size: UInt64) throws {
        // The tree size is not hashed into the proof, so a proof may verify at another size whose
        // path has the same shape; but only when it is that size's real proof too.
        for index in 0 ..< size {
            let leaf = try Self.tree.leafHash(at: index)
            let proof = try Self.tree.inclusionProof(leafIndex: index, treeSize: size)
            for other in (index + 1) ... min(UInt64(Self.largest), 2 * size + 16) where other != size {
                let otherRoot = try Self.tree.rootHash(size: other)
                let accepted = MerkleProof.verifyInclusion(leafHash: leaf, index: index, treeSize: other, proof: proof, root: otherRoot)
                let isRealProof = try Self.tree.inclusionProof(leafIndex: index, treeSize: other) == proof
                #expect(accepted == isRealProof, "leaf \(index): proof at \(size) tried at \(other)")
            }
        }
    }

    @Test("every consistency proof verifies; tampered ones do not", arguments: sizes)
    func consistency(newSize: UInt64) throws {
        var generator = SeededGenerator(seed: newSize &* 31)
        let newRoot = try Self.tree.rootHash(size: newSize)
        // All old sizes for small trees; a sample for large ones.
        let oldSizes: [UInt64] = newSize <= 64
            ? Array(1 ... newSize)
            : [1, 2, newSize - 1, newSize] + (0 ..< 12).map { _ in UInt64.random(in: 1 ... newSize, using: &generator) }
        for oldSize in oldSizes {
            let oldRoot = try Self.tree.rootHash(size: oldSize)
            let proof = try Self.tree.consistencyProof(oldSize: oldSize, newSize: newSize)
            func verifies(old: UInt64 = oldSize, new: UInt64 = newSize, oldRoot: [UInt8] = oldRoot, newRoot: [UInt8] = newRoot, proof: [[UInt8]] = proof) -> Bool {
                MerkleProof.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            }
            #expect(verifies(), "\(oldSize) -> \(newSize)")

            for position in Self.positions(exhaustive: newSize <= 16, using: &generator) {
                let mask = UInt8.random(in: 1 ... 255, using: &generator)
                #expect(!verifies(oldRoot: oldRoot.flipping(position, with: mask)), "\(oldSize) -> \(newSize)")
                #expect(!verifies(newRoot: newRoot.flipping(position, with: mask)), "\(oldSize) -> \(newSize)")
                for element in proof.indices {
                    var tampered = proof
                    tampered[element] = proof[element].flipping(position, with: mask)
                    #expect(!verifies(proof: tampered), "\(oldSize) -> \(newSize), proof[\(element)] byte \(position)")
                }
            }
            #expect(!verifies(proof: proof + [newRoot]))
            #expect(!verifies(proof: [oldRoot] + proof))
            if !proof.isEmpty { #expect(!verifies(proof: Array(proof.dropLast()))) }
            if oldSize != newSize {
                // Swapped roots, and a changed size checked against that size's real root
                #expect(!verifies(oldRoot: newRoot, newRoot: oldRoot))
                for other in [oldSize - 1, oldSize + 1] where other != oldSize && other > 0 && other < newSize {
                    let accepted = verifies(old: other, oldRoot: try Self.tree.rootHash(size: other))
                    #expect(accepted == (try Self.tree.consistencyProof(oldSize: other, newSize: newSize) == proof))
                }
            }
            #expect(!verifies(old: 0))
            #expect(!verifies(old: newSize + 1))
        }
    }

    /// Byte positions to change in a 32-byte hash: all of them, or one at random.
    static func positions(exhaustive: Bool, using generator: inout SeededGenerator) -> [Int] {
        exhaustive ? Array(0 ..< MerkleHash.size) : [Int.random(in: 0 ..< MerkleHash.size, using: &generator)]
    }
}

@Suite("Compact ranges")
struct CompactRangeTests {
    @Test("a compact range's root equals the tree's root at every size up to 300, and survives being stored and read back")
    func rootsAgree() throws {
        var tree = MerkleTree()
        var range = CompactRange()
        #expect(range.root == tree.rootHash)
        for i in 0..<300 {
            let entry = Array("leaf \(i)".utf8)
            _ = tree.append(entry)
            range.append(MerkleHash.leaf(entry))
            #expect(range.root == tree.rootHash, "size \(i + 1)")
            #expect(range.hashes.count == (i + 1).nonzeroBitCount)
            let stored = try #require(CompactRange(size: range.size, hashes: Array(range.hashes.joined())))
            #expect(stored == range)
        }
        #expect(CompactRange(size: 3, hashes: [UInt8](repeating: 0, count: 32)) == nil, "3 leaves need two subtree hashes")
    }
}
