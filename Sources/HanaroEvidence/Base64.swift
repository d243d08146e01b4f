/// Standard base64 with padding (RFC 4648 §4), as signed notes, verifier keys and checkpoints use.
///
/// Written here rather than taken from Foundation for two reasons: the library stays free of
/// Foundation, and decoding must be *canonical*. A lenient decoder (Foundation's, Go's
/// `StdEncoding`) ignores the unused low bits of the last character, so two different strings
/// decode to the same bytes and a one-character change to a signature or root hash could go
/// unnoticed. This decoder accepts exactly the strings `encode` produces.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The value of each ASCII byte in the alphabet, or 0xFF.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 0x3F)])
            out.append(alphabet[Int(group >> 12 & 0x3F)])
            out.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical padded base64, or returns nil: wrong length, a character outside the
    /// alphabet, misplaced padding, or non-zero unused bits.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var index = 0
        while index < chars.count {
            // Only the last group may end in one or two "=".
            var padding = 0
            if index + 4 == chars.count && chars[index + 3] == UInt8(ascii: "=") {
                padding = chars[index + 2] == UInt8(ascii: "=") ? 2 : 1
            }
            var group: UInt32 = 0
            for offset in 0 ..< 4 - padding {
                let value = values[Int(chars[index + offset])]
                guard value != 0xFF else { return nil }
                group |= UInt32(value) << (18 - 6 * offset)
            }
            switch padding {
            case 0:
                out += [UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF), UInt8(group & 0xFF)]
            case 1:
                guard group & 0xFF == 0 else { return nil }
                out += [UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF)]
            default:
                guard group & 0xFFFF == 0 else { return nil }
                out.append(UInt8(group >> 16 & 0xFF))
            }
            index += 4
        }
        return out
    }
}
