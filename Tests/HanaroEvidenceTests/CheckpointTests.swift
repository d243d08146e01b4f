import HanaroEvidence
import Testing

/// Checkpoints per c2sp.org/tlog-checkpoint v1.0.0.
@Suite("Checkpoints")
struct CheckpointTests {
    /// The example of c2sp.org/tlog-checkpoint.
    static let example = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

    @Test("the spec's example parses and prints back byte for byte")
    func example() throws {
        let checkpoint = try Checkpoint(parsing: Self.example)
        #expect(checkpoint.origin == "example.com/behind-the-sofa")
        #expect(checkpoint.size == 20_852_163)
        #expect(checkpoint.rootHash == Vector.base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
        #expect(checkpoint.extensionLines.isEmpty)
        #expect(checkpoint.text == Self.example)
    }

    @Test("extension lines are kept in order")
    func extensionLines() throws {
        let text = Self.example + "extension one\nextension two\n"
        let checkpoint = try Checkpoint(parsing: text)
        #expect(checkpoint.extensionLines == ["extension one", "extension two"])
        #expect(checkpoint.text == text)
    }

    @Test("sizes: 0 and the UInt64 maximum are accepted")
    func sizeBounds() throws {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        #expect(try Checkpoint(parsing: "log\n0\n\(root)\n").size == 0)
        #expect(try Checkpoint(parsing: "log\n18446744073709551615\n\(root)\n").size == UInt64.max)
    }

    @Test("malformed checkpoints are refused", arguments: [
        "",
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",   // no final newline
        "example.com/behind-the-sofa\n20852163\n",                                              // no root
        "\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                            // empty origin
        "log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                        // leading zero
        "log\n00\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                               // leading zero
        "log\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                               // sign
        "log\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                               // sign
        "log\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                               // space
        "log\n5 \nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                               // space
        "log\n0x10\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                             // hex
        "log\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                                 // empty size
        "log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",             // UInt64 overflow
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",                                // unused base64 bits
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",                                 // no padding
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",                                    // not 32 bytes
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",                              // empty extension line
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next\n\n",                         // empty extension line
        "log\r\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                              // CR
        "log\n5\r\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                              // CR
    ])
    func malformed(text: String) {
        #expect { try Checkpoint(parsing: text) } throws: { ($0 as? EvidenceError)?.code == .malformedCheckpoint }
    }

    @Test("building refuses what parsing would refuse")
    func building() throws {
        let root = [UInt8](repeating: 0, count: 32)
        #expect(throws: EvidenceError.self) { try Checkpoint(origin: "", size: 1, rootHash: root) }
        #expect(throws: EvidenceError.self) { try Checkpoint(origin: "a\nb", size: 1, rootHash: root) }
        #expect(throws: EvidenceError.self) { try Checkpoint(origin: "log", size: 1, rootHash: [1, 2, 3]) }
        #expect(throws: EvidenceError.self) { try Checkpoint(origin: "log", size: 1, rootHash: root, extensionLines: [""]) }
        #expect(throws: EvidenceError.self) { try Checkpoint(origin: "log", size: 1, rootHash: root, extensionLines: ["a\nb"]) }
    }

    @Test("a log signs a checkpoint of its tree; a client opens, parses and checks it")
    func endToEnd() throws {
        // Given a log with a tree of 10 entries and a signing key
        var tree = MerkleTree()
        for index in 0 ..< 10 { tree.append(Array("entry \(index)".utf8)) }
        let logKey = try NoteSigner.generate(name: "hanaro.example/log")
        let checkpoint = try Checkpoint(origin: "hanaro.example/log", size: tree.size, rootHash: tree.rootHash)
        let note = try logKey.sign(checkpoint.text)

        // When a client opens the note with the log's verifier and parses the text
        let opened = try SignedNote.open(note, verifiers: [logKey.verifier])
        let received = try Checkpoint(parsing: opened.text)

        // Then it has the tree head, and an inclusion proof checks against it
        #expect(received == checkpoint)
        let proof = try tree.inclusionProof(leafIndex: 3, treeSize: received.size)
        #expect(MerkleProof.verifyInclusion(
            leafHash: MerkleHash.leaf(Array("entry 3".utf8)), index: 3, treeSize: received.size, proof: proof, root: received.rootHash))
    }
}
