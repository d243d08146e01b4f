public import Crypto

// An agency's one Ed25519 key also serves as its X25519 key for sealing personal fields to it
// (HPKE), as age's `ssh-ed25519` recipients and libsodium's `crypto_sign_ed25519_pk_to_curve25519`
// do: the X25519 private scalar is the Ed25519 one (SHA-512 of the seed, first half), and the
// public key is the Edwards point's Montgomery u-coordinate, u = (1 + y) / (1 - y) mod 2^255 - 19.
// So every node that lists an agency's signing key can seal to it, with no second key to publish.
//
// Written by hand because swift-crypto has no Edwards-to-Montgomery conversion. The arithmetic
// runs on public keys only (no secret-dependent timing to hide); `SealingKeyTests` checks it
// against swift-crypto's own X25519 public key of the same scalar for random keys.

extension NoteSigner {
    /// The X25519 private key of this Ed25519 key (its clamped scalar; X25519 clamps again).
    public var sealingPrivateKey: Curve25519.KeyAgreement.PrivateKey {
        seedForSealing { seed in
            let scalar = Array(SHA512.hash(data: seed).prefix(32))
            // 32 bytes are always a valid X25519 private key.
            return try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: scalar)
        }
    }
}

extension NoteVerifier {
    /// The X25519 public key of this Ed25519 key (nil for a key that is not a valid point encoding).
    public var sealingPublicKey: Curve25519.KeyAgreement.PublicKey? {
        guard let u = Field25519.montgomeryU(ofEdwardsY: publicKey) else { return nil }
        return try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: u)
    }
}

/// Just enough arithmetic modulo p = 2^255 - 19 for the conversion: four little-endian 64-bit limbs,
/// every value kept below p.
enum Field25519 {
    typealias Element = [UInt64]

    static let p: Element = [0xFFFF_FFFF_FFFF_FFED, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF]
    static let one: Element = [1, 0, 0, 0]

    /// u = (1 + y) / (1 - y) for the 32-byte Ed25519 public key `key` (y little-endian, sign bit
    /// dropped), as 32 little-endian bytes; nil when y is not below p or y = 1.
    static func montgomeryU(ofEdwardsY key: [UInt8]) -> [UInt8]? {
        guard key.count == 32 else { return nil }
        var y: Element = (0..<4).map { limb in (0..<8).reduce(UInt64(0)) { $0 | UInt64(key[limb * 8 + $1]) << (8 * UInt64($1)) } }
        y[3] &= 0x7FFF_FFFF_FFFF_FFFF
        guard !isAtLeast(y, p), y != one else { return nil }
        let u = multiply(add(one, y), power(subtract(one, y), exponent: subtractRaw(p, [2, 0, 0, 0])))
        return u.flatMap { limb in (0..<8).map { UInt8(truncatingIfNeeded: limb >> (8 * UInt64($0))) } }
    }

    static func isAtLeast(_ a: Element, _ b: Element) -> Bool {
        for i in stride(from: 3, through: 0, by: -1) where a[i] != b[i] { return a[i] > b[i] }
        return true
    }

    /// a - b for a ≥ b.
    static func subtractRaw(_ a: Element, _ b: Element) -> Element {
        var result = a, borrow: UInt64 = 0
        for i in 0..<4 {
            let (d1, o1) = a[i].subtractingReportingOverflow(b[i])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            result[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return result
    }

    /// a + b without reduction (a, b < p, so no carry out of 256 bits).
    static func addRaw(_ a: Element, _ b: Element) -> Element {
        var result = a, carry: UInt64 = 0
        for i in 0..<4 {
            let (s1, o1) = a[i].addingReportingOverflow(b[i])
            let (s2, o2) = s1.addingReportingOverflow(carry)
            result[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return result
    }

    static func add(_ a: Element, _ b: Element) -> Element {
        let sum = addRaw(a, b)
        return isAtLeast(sum, p) ? subtractRaw(sum, p) : sum
    }

    static func subtract(_ a: Element, _ b: Element) -> Element {
        isAtLeast(a, b) ? subtractRaw(a, b) : subtractRaw(addRaw(a, p), b)
    }

    static func multiply(_ a: Element, _ b: Element) -> Element {
        var wide = [UInt64](repeating: 0, count: 8)
        for i in 0..<4 {
            var carry: UInt64 = 0
            for j in 0..<4 {
                let (high, low) = a[i].multipliedFullWidth(by: b[j])
                let (s1, o1) = wide[i + j].addingReportingOverflow(low)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                wide[i + j] = s2
                carry = high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            wide[i + 4] = carry
        }
        // 2^256 ≡ 38 (mod p): fold the high half onto the low one.
        var result = Array(wide[0..<4]), carry: UInt64 = 0
        for i in 0..<4 {
            let (high, low) = wide[i + 4].multipliedFullWidth(by: 38)
            let (s1, o1) = result[i].addingReportingOverflow(low)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            result[i] = s2
            carry = high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
        }
        while carry != 0 {
            var add = carry &* 38
            carry = 0
            for i in 0..<4 {
                let (sum, overflow) = result[i].addingReportingOverflow(add)
                result[i] = sum
                add = overflow ? 1 : 0
                if add == 0 { break }
            }
            carry = add
        }
        while isAtLeast(result, p) { result = subtractRaw(result, p) }
        return result
    }

    static func power(_ base: Element, exponent: Element) -> Element {
        var result = one
        for i in stride(from: 255, through: 0, by: -1) {
            result = multiply(result, result)
            if exponent[i / 64] >> UInt64(i % 64) & 1 == 1 { result = multiply(result, base) }
        }
        return result
    }
}
