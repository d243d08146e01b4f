/// One signature line of a signed note: `— <name> <base64(key ID || signature bytes)>`.
public struct NoteSignature: Sendable, Hashable {
    /// The signer's key name.
    public var name: String
    /// The signer's key ID (the first four bytes of the line's base64 payload).
    public var keyID: UInt32
    /// The signature after the key ID: 64 Ed25519 bytes, or for a cosignature/v1 the 8-byte
    /// big-endian timestamp followed by 64 Ed25519 bytes.
    public var bytes: [UInt8]

    /// A signature by the key `name`+`keyID`; `bytes` follow the key ID in the line.
    public init(name: String, keyID: UInt32, bytes: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.bytes = bytes
    }

    /// The signature line, with the em dash (U+2014) and final newline.
    public var line: String {
        let id: [UInt8] = [UInt8(keyID >> 24), UInt8(keyID >> 16 & 0xFF), UInt8(keyID >> 8 & 0xFF), UInt8(keyID & 0xFF)]
        return "\u{2014} \(name) \(Base64.encode(id + bytes))\n"
    }

    /// The UTF-8 of "— " that starts every signature line.
    static let linePrefix: [UInt8] = [0xE2, 0x80, 0x94, 0x20]

    /// Parses a signature line as `line` prints it (its final newline optional), or returns nil.
    public init?(line: String) {
        var bytes = Array(line.utf8)
        if bytes.last == 0x0A { bytes.removeLast() }
        self.init(line: bytes[...])
    }

    /// Parses a signature line without its newline, or returns nil.
    init?(line: ArraySlice<UInt8>) {
        guard line.starts(with: Self.linePrefix) else { return nil }
        let rest = line.dropFirst(Self.linePrefix.count)
        guard let space = rest.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let name = String(decoding: rest[..<space], as: UTF8.self)
        guard NoteKey.isValidName(name), let payload = Base64.decode(String(decoding: rest[(space + 1)...], as: UTF8.self)),
              payload.count > 4
        else { return nil }
        self.name = name
        self.keyID = payload.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
        self.bytes = Array(payload.dropFirst(4))
    }
}
