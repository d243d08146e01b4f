public import Foundation
import Crypto

/// What an Agency API token may do.
public enum APIScope: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Program search, one program, eligibility.
    case read
    /// Referrals: create, list, read, change status, add notes.
    case refer
    /// Webhook subscriptions.
    case subscribe

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One client of the Agency API: its name (the audit log's actor), its scopes and the SHA-256 of
/// its bearer token. The token itself is never stored: `api.tokens_file` holds lines
/// `<name> <scope,scope> sha256:<hex>` (`hanaro tokens add` writes them).
public struct APIToken: Sendable, Hashable {
    public var name: String
    public var scopes: Set<APIScope>
    public var sha256: [UInt8]

    public init(name: String, scopes: Set<APIScope>, sha256: [UInt8]) {
        self.name = name
        self.scopes = scopes
        self.sha256 = sha256
    }

    /// A new random token (`hnr_` and 32 random bytes, base64url): what a client presents.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        return "hnr_" + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The file line for a client holding `secret`.
    public static func line(name: String, scopes: Set<APIScope>, secret: String) -> String {
        "\(name) \(scopes.sorted().map(\.rawValue).joined(separator: ",")) sha256:\(hex(Array(SHA256.hash(data: Data(secret.utf8)))))"
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Parses a tokens file; every bad line is a problem naming the file and line.
    public static func parse(_ text: String, file: String) -> (tokens: [APIToken], problems: [String]) {
        var tokens: [APIToken] = []
        var problems: [String] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let at = "\(file):\(index + 1)"
            guard fields.count == 3 else {
                problems.append("\(at): expected `<name> <scope,scope> sha256:<hex>`; `hanaro tokens add` writes such lines")
                continue
            }
            guard fields[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), fields[0].count <= 64 else {
                problems.append("\(at): client name \"\(fields[0].prefix(64))\" may hold only letters, digits, '-', '_' and '.' (at most 64)")
                continue
            }
            var scopes = Set<APIScope>()
            for name in fields[1].split(separator: ",") {
                guard let scope = APIScope(rawValue: String(name)) else {
                    problems.append("\(at): unknown scope \"\(name)\"; scopes are \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                scopes.insert(scope)
            }
            let hash = fields[2]
            guard hash.hasPrefix("sha256:"), hash.count == 7 + 64, let digest = bytes(hex: String(hash.dropFirst(7))) else {
                problems.append("\(at): the third field must be sha256:<64 hex digits> (the hash of the token, never the token)")
                continue
            }
            if tokens.contains(where: { $0.name == fields[0] }) {
                problems.append("\(at): client \(fields[0]) is listed twice")
                continue
            }
            tokens.append(APIToken(name: fields[0], scopes: scopes, sha256: digest))
        }
        return (tokens, problems)
    }

    static func bytes(hex: String) -> [UInt8]? {
        var result: [UInt8] = []
        var iterator = hex.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let byte = UInt8(String([high, low]), radix: 16) else { return nil }
            result.append(byte)
        }
        return result
    }

    /// The client whose token this is, comparing hashes in constant time over every client (so
    /// the answer's timing does not tell which names exist).
    public static func authenticate(_ presented: String, among tokens: [APIToken]) -> APIToken? {
        let digest = Array(SHA256.hash(data: Data(presented.utf8)))
        var found: APIToken?
        for token in tokens {
            var difference: UInt8 = 0
            for (a, b) in zip(digest, token.sha256) { difference |= a ^ b }
            if difference == 0 && token.sha256.count == digest.count { found = token }
        }
        return found
    }
}
