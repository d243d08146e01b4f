import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which addresses a webhook may never reach, and the addresses a receiver's host name or number
/// resolves to. Written by hand: AsyncHTTPClient has no hook on the addresses it connects to, and
/// URL parsing sees `0xa9fea9fe`, `2852039166` or `[::ffff:a9fe:a9fe]` as hosts that are not
/// 169.254.169.254, while the system resolver (which AsyncHTTPClient uses) connects there.
enum WebhookAddress {
    /// The addresses `host` resolves to (numeric forms as the C library reads them: dotted, hex,
    /// decimal, IPv4-mapped IPv6, or a name through the system resolver), as 4- or 16-byte
    /// arrays; nil when it does not resolve. Blocking: call it off the cooperative pool
    /// (``resolve(_:)``).
    static func addressesBlocking(_ host: String) -> [[UInt8]]? {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        // A fully qualified name's final dot (`169.254.169.254.`) is the same host.
        if name.hasSuffix("."), name.count > 1 { name.removeLast() }
        guard !name.isEmpty, name.utf8.count < 256 else { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            if let address = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { socket in
                        var bytes = socket.pointee.sin_addr
                        addresses.append(withUnsafeBytes(of: &bytes) { Array($0) })
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { socket in
                        var bytes = socket.pointee.sin6_addr
                        addresses.append(withUnsafeBytes(of: &bytes) { Array($0) })
                    }
                default: break
                }
            }
            next = info.pointee.ai_next
        }
        return addresses
    }

    /// ``addressesBlocking(_:)`` on a thread of its own (a name may take the resolver seconds).
    static func resolve(_ host: String) async -> [[UInt8]]? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: addressesBlocking(host)) }
        }
    }

    /// Whether a webhook must never reach `address` (4 or 16 bytes): link-local (169.254.0.0/16,
    /// fe80::/10, where cloud metadata services answer), unspecified (0.0.0.0/8, ::), or a known
    /// metadata address (AWS's fd00:ec2::254, Alibaba's 100.100.100.200); IPv4 inside IPv6
    /// (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged as IPv4. Private networks stay allowed:
    /// agencies' receivers live there.
    static func isForbidden(_ address: [UInt8]) -> Bool {
        if address.count == 4 {
            return address[0] == 169 && address[1] == 254 || address[0] == 0 || address == [100, 100, 100, 200]
        }
        guard address.count == 16 else { return true }
        if address.allSatisfy({ $0 == 0 }) { return true }
        if address[0] == 0xFE && address[1] & 0xC0 == 0x80 { return true }
        if address == [0xFD, 0x00, 0x0E, 0xC2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54] { return true }
        let embedded = Array(address[12...])
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF { return isForbidden(embedded) }
        if address[0..<12].allSatisfy({ $0 == 0 }) && embedded != [0, 0, 0, 1] { return isForbidden(embedded) }
        if address[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isForbidden(embedded) }
        // 6to4 (2002::/16) carries an IPv4 address in its next four bytes.
        if address[0] == 0x20 && address[1] == 0x02 { return isForbidden(Array(address[2..<6])) }
        return false
    }

    /// The first forbidden address `host` resolves to, written out, or nil.
    static func forbidden(_ host: String) async -> String? {
        guard let found = await resolve(host)?.first(where: isForbidden) else { return nil }
        return text(found)
    }

    static func text(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: address.count, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}
