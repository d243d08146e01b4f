import Foundation
@testable import HanaroEvidence
import Testing

@Suite("Base64")
struct Base64Tests {
    /// RFC 4648 §10 test vectors.
    @Test("RFC 4648 vectors", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("agrees with Foundation on random bytes")
    func foundation() {
        var generator = SeededGenerator(seed: 4648)
        for count in 0 ..< 200 {
            let bytes = (0 ..< count).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString())
            #expect(Base64.decode(encoded) == bytes)
        }
    }

    @Test("non-canonical or malformed text is refused", arguments: [
        "Zh==",      // unused bits set ("f" is Zg==)
        "Zm9=",      // unused bits set ("fo" is Zm8=)
        "Zg",        // no padding
        "Zg=",       // short padding
        "Zg===",     // too much padding
        "Z===",      // one character is never a whole byte
        "Zg==Zg==",  // padding in the middle
        "Zm 9v",     // space
        "Zm9v\n",    // newline
        "Zm-_",      // URL alphabet
        "=Zm9",      // padding first
    ])
    func refused(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
