import Foundation
import HanaroEvidence
import Testing

/// Signed notes against golang.org/x/mod sumdb/note/note_test.go (commit
/// fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db) and the example of c2sp.org/signed-note v1.0.0.
@Suite("Signed notes")
struct SignedNoteTests {
    // From golang.org/x/mod sumdb/note/note_test.go.
    static let peterPrivateKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let peterKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let enochKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterSig = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let enochSig = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    static var peter: NoteVerifier { try! NoteVerifier(peterKey) }
    static var enoch: NoteVerifier { try! NoteVerifier(enochKey) }

    @Test("verifier and signer keys parse, agree, and encode back")
    func keys() throws {
        let verifier = try NoteVerifier(Self.peterKey)
        #expect(verifier.name == "PeterNeumann")
        #expect(verifier.keyID == 0xC74F_20A3)
        #expect(verifier.type == .ed25519)
        #expect(verifier.encoded == Self.peterKey)

        let signer = try NoteSigner(Self.peterPrivateKey)
        #expect(signer.name == "PeterNeumann")
        #expect(signer.keyID == 0xC74F_20A3)
        #expect(signer.verifier == verifier)
        #expect(signer.encodedPrivateKey == Self.peterPrivateKey)
        #expect(!"\(signer)".contains("AYEKFAL"), "a signer's description must not print its key")
        var dumped = ""
        dump(signer, to: &dumped)
        #expect(dumped.contains("PeterNeumann") && !dumped.contains("129"), "dump must not show the seed bytes (first is 129)")
    }

    @Test("every mangling of the keys is refused (note_test.go TestNewVerifier, TestNewSigner)")
    func mangledKeys() {
        for (key, parse) in [
            (Self.peterKey, { (text: String) in _ = try NoteVerifier(text) }),
            (Self.peterPrivateKey, { (text: String) in _ = try NoteSigner(text) }),
        ] as [(String, (String) throws -> Void)] {
            let bytes = Array(key.utf8)
            // Every proper substring
            for start in 0 ... bytes.count {
                for end in start ..< bytes.count + 1 where !(start == 0 && end == bytes.count) {
                    let text = String(decoding: bytes[start ..< end], as: UTF8.self)
                    #expect(throws: EvidenceError.self, "\(text)") { try parse(text) }
                }
            }
            // Every single-byte increment
            for index in bytes.indices {
                var changed = bytes
                changed[index] &+= 1
                let text = String(decoding: changed, as: UTF8.self)
                #expect(throws: EvidenceError.self, "\(text)") { try parse(text) }
            }
        }
        // Wrong key length with an adjusted key ID, and an unknown algorithm with an adjusted ID.
        #expect(throws: EvidenceError.self) { try NoteVerifier("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==") }
        #expect(throws: EvidenceError.self) { try NoteVerifier("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW") }
    }

    @Test("signing reproduces note_test.go TestSign")
    func sign() throws {
        let signer = try NoteSigner(Self.peterPrivateKey)
        let signed = try signer.sign(Self.text)
        // Ed25519 (RFC 8032) is deterministic and swift-crypto signs with BoringSSL off Apple
        // platforms, so the bytes match Go's. CryptoKit adds randomness, so there only the
        // signature's validity is checked.
        #if !canImport(Darwin)
        #expect(signed == Self.text + "\n" + Self.peterSig)
        #endif
        let opened = try SignedNote.open(signed, verifiers: [Self.peter])
        #expect(opened.text == Self.text)

        #expect(throws: EvidenceError.self) { try signer.sign("abc") }
        #expect(throws: EvidenceError.self) { try signer.sign("a\u{01}b\n") }
    }

    @Test("open with one known and one unknown key (note_test.go TestOpen)")
    func openOneKnown() throws {
        let opened = try SignedNote.open(Self.text + "\n" + Self.peterSig + Self.enochSig, verifiers: [Self.peter])
        #expect(opened.text == Self.text)
        #expect(opened.verifiers == [Self.peter])
        #expect(opened.unverified.map(\.name) == ["EnochRoot"])
        #expect(opened.unverified.first?.keyID == 0xAF0C_FE78)
        #expect(opened.verified.first?.timestamp == nil)
    }

    @Test("open with both keys known")
    func openBothKnown() throws {
        let opened = try SignedNote.open(Self.text + "\n" + Self.peterSig + Self.enochSig, verifiers: [Self.peter, Self.enoch])
        #expect(opened.verifiers == [Self.peter, Self.enoch])
        #expect(opened.unverified.isEmpty)
        // Duplicated lines count once.
        let repeated = try SignedNote.open(Self.text + "\n" + Self.peterSig + Self.peterSig + Self.enochSig + Self.enochSig, verifiers: [Self.peter])
        #expect(repeated.verifiers == [Self.peter])
        #expect(repeated.unverified.count == 1)
    }

    @Test("open fails when no known key signed")
    func openUnverified() {
        #expect { try SignedNote.open(Self.text + "\n" + Self.peterSig + Self.enochSig, verifiers: []) } throws: {
            ($0 as? EvidenceError)?.code == .unverifiedNote
        }
        #expect { try SignedNote.open(Self.text + "\n" + Self.enochSig, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .unverifiedNote
        }
    }

    @Test("a key with the same name but another ID, or the same ID but another name, is unknown")
    func nameAndIDMustBothMatch() throws {
        let other = try NoteSigner.generate(name: "PeterNeumann")
        #expect { try SignedNote.open(Self.text + "\n" + Self.peterSig, verifiers: [other.verifier]) } throws: {
            ($0 as? EvidenceError)?.code == .unverifiedNote
        }
        let renamed = Self.peterSig.replacingOccurrences(of: "PeterNeumann", with: "CarmenSandiego")
        #expect { try SignedNote.open(Self.text + "\n" + renamed, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .unverifiedNote
        }
    }

    @Test("a bad signature by a known key rejects the note")
    func invalidSignature() {
        let index = Self.peterSig.index(Self.peterSig.startIndex, offsetBy: 60)
        let bad = Self.peterSig[..<index] + "ABCD" + Self.peterSig[index...]
        #expect { try SignedNote.open(Self.text + "\n" + bad, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .invalidSignature
        }
    }

    @Test("two different verifiers with one name and key ID are ambiguous when used")
    func ambiguous() throws {
        // Identical verifiers given twice are one verifier.
        let copy = try NoteVerifier(name: "PeterNeumann", publicKey: Self.peter.publicKey)
        _ = try SignedNote.open(Self.text + "\n" + Self.peterSig, verifiers: [Self.peter, copy, Self.enoch])

        // Given two keys under one name whose 32-bit key IDs collide (a birthday search over
        // random keys; the verifier only checks a key's length until it verifies)
        var generator = SeededGenerator(seed: 32)
        var seen: [UInt32: NoteVerifier] = [:]
        var pair: (NoteVerifier, NoteVerifier)?
        for _ in 0 ..< 1_000_000 where pair == nil {
            let key = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            let verifier = try NoteVerifier(name: "collide", publicKey: key)
            if let earlier = seen[verifier.keyID] { pair = (earlier, verifier) }
            seen[verifier.keyID] = verifier
        }
        let (first, second) = try #require(pair)
        let line = NoteSignature(name: "collide", keyID: first.keyID, bytes: [UInt8](repeating: 1, count: 64)).line
        // When a note signed under that name and ID is opened with both, Then it is refused
        #expect { try SignedNote.open(Self.text + "\n" + line, verifiers: [first, second]) } throws: {
            ($0 as? EvidenceError)?.code == .ambiguousKey
        }
        // But unused, the clash does not matter
        _ = try SignedNote.open(Self.text + "\n" + Self.peterSig, verifiers: [first, second, Self.peter])
    }

    @Test("malformed notes are refused (note_test.go badMsgs)", arguments: [
        text,
        text + "\n",
        text + "\n" + String(peterSig.dropLast()),
        "\u{01}" + text + "\n" + peterSig,
        text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        text + "\n" + peterSig + "Unexpected line.\n",
        text + "\n" + "- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        text + "\n" + "— PeterNeumann x08g\n",
        text + "\n" + "— PeterNeumann \n",
        text + "\n" + "—  PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        text + "\r\n" + peterSig,
        text + "\n" + peterSig + "\n",
    ])
    func malformed(note: String) {
        #expect { try SignedNote.open(note, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .malformedNote
        }
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        let note = [0xFF] + Array((Self.text + "\n" + Self.peterSig).utf8)
        #expect { try SignedNote.open(note, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .malformedNote
        }
    }

    @Test("more than 100 signatures are refused")
    func tooManySignatures() {
        let note = Self.text + "\n" + String(repeating: Self.peterSig, count: 101)
        #expect { try SignedNote.open(note, verifiers: [Self.peter]) } throws: {
            ($0 as? EvidenceError)?.code == .malformedNote
        }
        #expect((try? SignedNote.open(Self.text + "\n" + String(repeating: Self.peterSig, count: 100), verifiers: [Self.peter])) != nil)
    }

    @Test("the c2sp.org/signed-note example verifies")
    func c2spExample() throws {
        let verifier = try NoteVerifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        let opened = try SignedNote.open(note, verifiers: [verifier])
        #expect(opened.text == "This is an example message.\n")
        #expect(opened.verifiers == [verifier])
    }

    @Test("a note text may hold blank lines; the last one separates the signatures")
    func blankLinesInText() throws {
        let signer = try NoteSigner.generate(name: "example.com/log")
        let text = "first\n\nsecond\n\n"
        let opened = try SignedNote.open(try signer.sign(text), verifiers: [signer.verifier])
        #expect(opened.text == text)
    }

    @Test("every single-byte change to a signed note fails to open")
    func singleByteChanges() throws {
        // Given Go's signed note
        let note = Array((Self.text + "\n" + Self.peterSig).utf8)
        _ = try SignedNote.open(note, verifiers: [Self.peter])
        // When any one byte changes in any of several ways, Then the note does not open
        for index in note.indices {
            let changes: [(UInt8) -> UInt8] = [{ $0 &+ 1 }, { $0 &- 1 }, { $0 ^ 0x20 }, { $0 ^ 0x80 }, { _ in UInt8(ascii: "A") }]
            for change in changes {
                var changed = note
                changed[index] = change(note[index])
                guard changed != note else { continue }
                #expect(throws: EvidenceError.self, "byte \(index)") { try SignedNote.open(changed, verifiers: [Self.peter]) }
            }
        }
        // And dropping any one byte fails too
        for index in note.indices {
            var shorter = note
            shorter.remove(at: index)
            #expect(throws: EvidenceError.self, "without byte \(index)") { try SignedNote.open(shorter, verifiers: [Self.peter]) }
        }
    }

    @Test("parsing keeps every signature; adding replaces one by the same key")
    func parseAndAdd() throws {
        var note = try SignedNote(parsing: Self.text + "\n" + Self.peterSig + Self.enochSig)
        #expect(note.text == Self.text)
        #expect(note.signatures.map(\.name) == ["PeterNeumann", "EnochRoot"])
        #expect(note.encoded == Self.text + "\n" + Self.peterSig + Self.enochSig)

        let fresh = try NoteSigner(Self.peterPrivateKey).signature(for: Self.text)
        try note.add(fresh)
        #expect(note.signatures.map(\.name) == ["EnochRoot", "PeterNeumann"])
        _ = try SignedNote.open(note.encoded, verifiers: [Self.peter])
    }

    @Test("generated keys round-trip through their strings")
    func generated() throws {
        let signer = try NoteSigner.generate(name: "hanaro.example/log")
        let reparsed = try NoteSigner(signer.encodedPrivateKey)
        #expect(reparsed.verifier == signer.verifier)
        #expect(try NoteVerifier(signer.verifier.encoded) == signer.verifier)
        #expect(throws: EvidenceError.self) { try NoteSigner.generate(name: "has space") }
        #expect(throws: EvidenceError.self) { try NoteSigner.generate(name: "has+plus") }
        #expect(throws: EvidenceError.self) { try NoteSigner.generate(name: "") }
        #expect(throws: EvidenceError.self) { try NoteSigner.generate(name: "nbsp\u{00A0}name") }
    }
}
