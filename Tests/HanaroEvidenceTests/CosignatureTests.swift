import HanaroEvidence
import Testing

/// Cosignatures per c2sp.org/tlog-cosignature (Ed25519 cosignature/v1, type 0x04).
///
/// No published cosignature comes with its public key, so no signature here is checked against
/// an outside one: the vectors below pin the key ID, the line layout and the timestamp, and the
/// signed message is checked against the spec's worked example.
@Suite("Cosignatures")
struct CosignatureTests {
    static let checkpointText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

    @Test("a published type 0x04 verifier key parses with a matching key ID")
    func witnessKey() throws {
        // A witness vkey from transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier).
        let key = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
        let verifier = try NoteVerifier(key)
        #expect(verifier.type == .cosignatureV1)
        #expect(verifier.keyID == 0xDA77_ADE7)
        #expect(verifier.encoded == key)
        // The same public key as an Ed25519 (0x01) key has another ID, so the two never match.
        #expect(try NoteVerifier(name: verifier.name, publicKey: verifier.publicKey, type: .ed25519).keyID != verifier.keyID)
    }

    @Test("the spec example's cosignature line: key ID, then the big-endian timestamp 1679315147")
    func specExampleLine() throws {
        // From the example of c2sp.org/tlog-cosignature.
        let note = try SignedNote(parsing: Self.checkpointText + "\n"
            + "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
            + "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")
        let cosignature = try #require(note.signatures.last)
        #expect(cosignature.name == "witness.example.com/w1")
        #expect(cosignature.keyID == 0x8D66_CF3F)
        #expect(cosignature.bytes.count == 8 + 64)
        #expect(cosignature.bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } == 1_679_315_147)
        #expect(note.signatures.first?.bytes.count == 64)
    }

    @Test("a transparency-dev/formats cosignature carries timestamp 1727964367")
    func formatsTimestamp() throws {
        // From transparency-dev/formats note/note_cosigv1_test.go (TestCosignatureTimestamp).
        let payload = Vector.base64("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
        #expect(payload.count == 4 + 8 + 64)
        #expect(payload[4 ..< 12].reduce(0) { $0 << 8 | UInt64($1) } == 1_727_964_367)
    }

    @Test("the signed message is the spec's worked example")
    func signedMessage() throws {
        // Given a cosigner, When it cosigns the example checkpoint at the example time
        let cosigner = try Cosigner(name: "witness.example.com/w1", seed: [UInt8](repeating: 9, count: 32))
        let checkpoint = try Checkpoint(parsing: Self.checkpointText)
        let cosignature = try cosigner.cosignature(for: checkpoint, timestamp: 1_679_315_147)
        // Then the 64 signature bytes verify over exactly the message the spec prints
        let message = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        let plain = try NoteVerifier(name: "witness.example.com/w1", publicKey: cosigner.verifier.publicKey, type: .ed25519)
        let asPlainNote = SignedNoteTestSupport.note(text: message, signature: NoteSignature(
            name: plain.name, keyID: plain.keyID, bytes: Array(cosignature.bytes.dropFirst(8))))
        #expect((try? SignedNote.open(asPlainNote, verifiers: [plain])) != nil)
        #expect(cosignature.bytes.prefix(8) == [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xCB])
    }

    @Test("a checkpoint signed by the log and cosigned by two witnesses opens with each key")
    func cosignedCheckpoint() throws {
        // Given a log key, two witnesses and a signed checkpoint
        let log = try NoteSigner.generate(name: "example.com/behind-the-sofa")
        let w1 = try Cosigner.generate(name: "witness.example.com/w1")
        let w2 = try Cosigner.generate(name: "witness.example.com/w2")
        let checkpoint = try Checkpoint(parsing: Self.checkpointText)
        var note = try SignedNote(parsing: try log.sign(checkpoint.text))

        // When the witnesses add their cosignatures
        try note.add(try w1.cosignature(for: checkpoint, timestamp: 1_700_000_000))
        try note.add(try w2.cosignature(for: checkpoint, timestamp: 1_700_000_060))

        // Then a client knowing all three keys sees all three, with the witnesses' times
        let opened = try SignedNote.open(note.encoded, verifiers: [log.verifier, w1.verifier, w2.verifier])
        #expect(opened.verifiers == [log.verifier, w1.verifier, w2.verifier])
        #expect(opened.verified.map(\.timestamp) == [nil, 1_700_000_000, 1_700_000_060])
        // And one knowing only a witness sees only it
        let witnessOnly = try SignedNote.open(note.encoded, verifiers: [w2.verifier])
        #expect(witnessOnly.verifiers == [w2.verifier])
        #expect(witnessOnly.unverified.map(\.name) == ["example.com/behind-the-sofa", "witness.example.com/w1"])
    }

    @Test("a cosignature does not verify as a plain note signature, nor the reverse")
    func typesDoNotMix() throws {
        let seed = [UInt8](repeating: 3, count: 32)
        let cosigner = try Cosigner(name: "w", seed: seed)
        let signer = try NoteSigner(name: "w", seed: seed)
        let checkpoint = try Checkpoint(parsing: Self.checkpointText)
        // The key IDs differ, so each signature is by an unknown key for the other verifier.
        let cosigned = SignedNoteTestSupport.note(text: checkpoint.text, signature: try cosigner.cosignature(for: checkpoint, timestamp: 1))
        #expect { try SignedNote.open(cosigned, verifiers: [signer.verifier]) } throws: { ($0 as? EvidenceError)?.code == .unverifiedNote }
        let signed = try signer.sign(checkpoint.text)
        #expect { try SignedNote.open(signed, verifiers: [cosigner.verifier]) } throws: { ($0 as? EvidenceError)?.code == .unverifiedNote }
        // And a cosignature moved to another time no longer verifies.
        var moved = try cosigner.cosignature(for: checkpoint, timestamp: 1)
        moved.bytes[7] = 2
        let movedNote = SignedNoteTestSupport.note(text: checkpoint.text, signature: moved)
        #expect { try SignedNote.open(movedNote, verifiers: [cosigner.verifier]) } throws: { ($0 as? EvidenceError)?.code == .invalidSignature }
    }

    @Test("every single-byte change to a cosigned note loses the changed signature")
    func singleByteChanges() throws {
        let log = try NoteSigner(name: "example.com/behind-the-sofa", seed: [UInt8](repeating: 1, count: 32))
        let witness = try Cosigner(name: "witness.example.com/w1", seed: [UInt8](repeating: 2, count: 32))
        let checkpoint = try Checkpoint(parsing: Self.checkpointText)
        var signed = try SignedNote(parsing: try log.sign(checkpoint.text))
        try signed.add(try witness.cosignature(for: checkpoint, timestamp: 1_679_315_147))
        let note = Array(signed.encoded.utf8)
        let verifiers = [log.verifier, witness.verifier]
        #expect(try SignedNote.open(note, verifiers: verifiers).verified.count == 2)

        for index in note.indices {
            let changes: [(UInt8) -> UInt8] = [{ $0 &+ 1 }, { $0 ^ 0x20 }, { $0 ^ 0x80 }]
            for change in changes {
                var changed = note
                changed[index] = change(note[index])
                // Either the note is refused, or the changed signature is no longer counted.
                if let opened = try? SignedNote.open(changed, verifiers: verifiers) {
                    #expect(opened.verified.count < 2, "byte \(index)")
                }
            }
        }
    }

    @Test("private keys round-trip and are checked")
    func privateKeys() throws {
        let cosigner = try Cosigner.generate(name: "witness.example.com/w1")
        let reparsed = try Cosigner(cosigner.encodedPrivateKey)
        #expect(reparsed.verifier == cosigner.verifier)
        #expect(cosigner.encodedPrivateKey.hasPrefix("PRIVATE+KEY+witness.example.com/w1+"))
        #expect(!"\(cosigner)".contains(cosigner.encodedPrivateKey.split(separator: "+").last!))
        // A note key is not a cosigner key, nor the reverse.
        let signer = try NoteSigner.generate(name: "witness.example.com/w1")
        #expect(throws: EvidenceError.self) { try Cosigner(signer.encodedPrivateKey) }
        #expect(throws: EvidenceError.self) { try NoteSigner(cosigner.encodedPrivateKey) }
        // Timestamps past 2^63 - 1 are refused.
        let checkpoint = try Checkpoint(parsing: Self.checkpointText)
        #expect(throws: EvidenceError.self) { try cosigner.cosignature(for: checkpoint, timestamp: UInt64(Int64.max) + 1) }
    }
}
