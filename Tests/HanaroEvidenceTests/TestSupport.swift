import Foundation
import HanaroEvidence

/// Hex and base64 for test vectors, decoded with Foundation so that the module's own base64 is
/// checked against an independent implementation.
enum Vector {
    static func hex(_ text: String) -> [UInt8] {
        precondition(text.count % 2 == 0, "odd hex length")
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index ..< next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func base64(_ text: String) -> [UInt8] {
        [UInt8](Data(base64Encoded: text)!)
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// A small deterministic generator (SplitMix64), so that a failing property test fails the
/// same way on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    /// A copy with byte `index` XORed with `mask` (non-zero, so the byte always changes).
    func flipping(_ index: Int, with mask: UInt8 = 0x01) -> [UInt8] {
        var copy = self
        copy[index] ^= mask
        return copy
    }
}

/// Builds signed-note text around one signature.
enum SignedNoteTestSupport {
    /// `text`, the blank line, and the signature line.
    static func note(text: String, signature: NoteSignature) -> String {
        text + "\n" + signature.line
    }
}
