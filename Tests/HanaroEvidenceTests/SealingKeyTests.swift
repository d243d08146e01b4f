import Crypto
import Foundation
import HanaroEvidence
import Testing

@Suite("Sealing keys (Ed25519 as X25519)")
struct SealingKeyTests {
    @Test("the public key converted from Edwards to Montgomery form is swift-crypto's X25519 public key of the same scalar, for 200 random keys")
    func conversionAgreesWithSwiftCrypto() throws {
        for _ in 0..<200 {
            let signer = try NoteSigner.generate(name: "semas")
            let converted = try #require(signer.verifier.sealingPublicKey)
            #expect(converted.rawRepresentation == signer.sealingPrivateKey.publicKey.rawRepresentation)
        }
    }

    @Test("HPKE to the converted key opens with the derived private key, and only with it")
    func hpkeRoundTrip() throws {
        let target = try NoteSigner.generate(name: "kamco"), other = try NoteSigner.generate(name: "kodit")
        let recipient = try #require(target.verifier.sealingPublicKey)
        let suite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: suite, info: Data("test".utf8))
        let sealed = try sender.seal(Data("홍길동 010-1234-5678".utf8), authenticating: Data("aad".utf8))
        var opener = try HPKE.Recipient(privateKey: target.sealingPrivateKey, ciphersuite: suite, info: Data("test".utf8), encapsulatedKey: sender.encapsulatedKey)
        #expect(String(decoding: try opener.open(sealed, authenticating: Data("aad".utf8)), as: UTF8.self) == "홍길동 010-1234-5678")
        var stranger = try HPKE.Recipient(privateKey: other.sealingPrivateKey, ciphersuite: suite, info: Data("test".utf8), encapsulatedKey: sender.encapsulatedKey)
        #expect(throws: (any Error).self) { try stranger.open(sealed, authenticating: Data("aad".utf8)) }
    }

    @Test("the RFC 8032 test 1 key converts to the X25519 key of its scalar; malformed encodings convert to nothing")
    func vectors() throws {
        // RFC 8032 section 7.1, TEST 1.
        let seed = Vector.hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let signer = try NoteSigner(name: "test", seed: seed)
        #expect(signer.verifier.publicKey == Vector.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let converted = try #require(signer.verifier.sealingPublicKey)
        #expect(converted.rawRepresentation == signer.sealingPrivateKey.publicKey.rawRepresentation)
        // y = 1 (the identity) and y ≥ p have no Montgomery form.
        let identity = try NoteVerifier(name: "x", publicKey: [1] + [UInt8](repeating: 0, count: 31))
        #expect(identity.sealingPublicKey == nil)
        let beyond = try NoteVerifier(name: "x", publicKey: [0xEE] + [UInt8](repeating: 0xFF, count: 30) + [0x7F])
        #expect(beyond.sealingPublicKey == nil)
    }
}
