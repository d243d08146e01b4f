import ArgumentParser
import AsyncHTTPClient
import Foundation
import HanaroDaemon
import NIOCore
import NIOHTTP1

/// `hanaro tokens add` / `remove`: the clients of the Agency API. A token is printed once; the file
/// keeps only its SHA-256 (`api.tokens_file`; a running node reads it again within a second of a
/// change, so neither needs a restart).
struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Agency API clients: bearer tokens with scopes (read, refer, subscribe).", subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a client to a tokens file (created 0600) and print its token, the only time it is shown.")
        @Option(help: "The tokens file (api.tokens_file).") var file: String
        @Option(help: "The client's name: the audit log's actor (api:<name>).") var name: String
        @Option(help: "Comma-separated scopes: read, refer, subscribe.") var scopes: String

        func run() throws {
            var set = Set<APIScope>()
            for text in scopes.split(separator: ",") {
                guard let scope = APIScope(rawValue: String(text)) else { fail("unknown scope \(text); scopes are read, refer, subscribe", code: 2) }
                set.insert(scope)
            }
            guard !set.isEmpty else { fail("give at least one scope", code: 2) }
            let existing = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            let secret = APIToken.generateSecret()
            let line = APIToken.line(name: name, scopes: set, secret: secret)
            let (tokens, problems) = APIToken.parse(existing + "\n" + line + "\n", file: file)
            guard problems.isEmpty, tokens.contains(where: { $0.name == name }) else { fail(problems.first ?? "cannot add \(name)", code: 2) }
            // Started with standard output closed (now /dev/null): the token could not be seen.
            guard !Output.standardOutputClosedAtStart else {
                fail("standard output is closed, so the token could not be shown; nothing was added to \(file)")
            }
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { fail("cannot open \(file): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            // The token is shown once: printed first, and the client added only when it was —
            // a closed or full standard output adds nothing (exit 1) rather than a client whose
            // token nobody saw.
            let shown = Array((secret + "\n").utf8)
            guard shown.withUnsafeBytes({ write(STDOUT_FILENO, $0.baseAddress, $0.count) }) == shown.count else {
                fail("could not print the token (\(String(cString: strerror(errno)))); nothing was added to \(file) — run it again with standard output open")
            }
            // A file whose last line lacks its newline keeps that line whole.
            let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
            let bytes = Array((separator + line + "\n").utf8)
            guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { fail("cannot write \(file)") }
            FileHandle.standardError.write(Data("hanaro tokens: added \(name) (\(set.sorted().map(\.rawValue).joined(separator: ","))) to \(file); the token above is shown only now; a running node takes it within a second\n".utf8))
        }
    }
}

extension Tokens {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client from a tokens file: its token stops working within a second on a running node (exit 1 when no such client).")
        @Option(help: "The tokens file (api.tokens_file).") var file: String
        @Option(help: "The client's name, as `hanaro tokens add --name` gave it.") var name: String

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { fail("cannot read \(file)", code: 2) }
            var removed = 0
            let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                let match = !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") && fields.first.map(String.init) == name
                if match { removed += 1 }
                return !match
            }
            guard removed > 0 else { fail("\(file) lists no client \(name)") }
            // Written beside the file and renamed over it: a node reading it sees the old or the new file, never half of one.
            let temporary = file + ".tmp-\(getpid())"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { fail("cannot write \(temporary): \(String(cString: strerror(errno)))") }
            let bytes = Array(kept.joined(separator: "\n").utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd) == 0
            close(fd)
            guard written == bytes.count, synced, rename(temporary, file) == 0 else {
                unlink(temporary)
                fail("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            FileHandle.standardError.write(Data("hanaro tokens: removed \(name) from \(file); a running node refuses its token within a second\n".utf8))
        }
    }
}

/// What the API client commands share: where the API is and the token.
struct APIOptions: ParsableArguments {
    /// Every byte but the unreserved ones as `%XX`, so that a value holding `&`, `=`, `+`, `/` or
    /// `#` stays one value (the API reads query strings as forms).
    static func escaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    static func query(_ items: [(String, String)]) -> String {
        items.map { "\(escaped($0.0))=\(escaped($0.1))" }.joined(separator: "&")
    }

    @Option(help: "The Agency API's address.") var api = "http://127.0.0.1:8080"
    @Option(help: "A file holding the bearer token (default: $HANARO_API_TOKEN).") var tokenFile: String?
    @Flag(help: "Print the API's JSON answer as it is.") var json = false

    var token: String {
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { fail("cannot read --token-file \(tokenFile)", code: 2) }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let token = ProcessInfo.processInfo.environment["HANARO_API_TOKEN"], !token.isEmpty else {
            fail("give --token-file or set HANARO_API_TOKEN (`hanaro tokens add` makes a token)", code: 2)
        }
        return token
    }

    /// Calls the API; exits 1 with the problem's title and detail on an error answer, 2 when the
    /// API cannot be reached.
    func call(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async -> [String: Any] {
        var request = HTTPClientRequest(url: api + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data())))
        }
        let client = HTTPClient.shared
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 16 << 20)
            let data = Data(bytes.readableBytesView)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            guard (200..<300).contains(Int(response.status.code)) else {
                fail("\(response.status.code) \(object["title"] as? String ?? "error"): \(object["detail"] as? String ?? String(decoding: data, as: UTF8.self))")
            }
            if json { Output.line(String(decoding: data, as: UTF8.self)) }
            return object
        } catch {
            fail("cannot reach the Agency API at \(api): \(error)", code: 2)
        }
    }
}

/// `hanaro search`: programs of every agency.
struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Search every agency's programs through the node's Agency API (scope read).")
    @OptionGroup var options: APIOptions
    @Argument(help: "Korean or other text (창업, 소상공인 정책자금).") var query: String?
    @Option(help: "Region code (2 or 5 digits; 42 and 45 are accepted).") var region: String?
    @Option(help: "KSIC code or prefix.") var ksic: String?
    @Option(help: "지원분야 code or name.") var category: String?
    @Option(help: "One agency.") var agency: String?
    @Option(help: "Open on this day (YYYY-MM-DD).") var openOn: String?
    @Option(help: "Results (1-100).") var limit = 20
    @Option(help: "The next page: the cursor the previous search printed.") var cursor: String?

    func run() async throws {
        var items: [(String, String)] = [("q", query ?? ""), ("region", region ?? ""), ("ksic", ksic ?? ""), ("category", category ?? ""),
                                         ("agency", agency ?? ""), ("open_on", openOn ?? ""), ("limit", String(limit))]
        items.removeAll { $0.1.isEmpty }
        if let cursor { items.append(("cursor", cursor)) }
        let answer = await options.call(.GET, "/v1/programs?" + APIOptions.query(items))
        guard !options.json else { return }
        let programs = answer["items"] as? [[String: Any]] ?? []
        for program in programs {
            Output.line("\(program["agency"] as? String ?? "")/\(program["id"] as? String ?? "")  \(program["title"] as? String ?? "")  [\(program["status"] as? String ?? "")]")
        }
        Output.line("\(programs.count) program(s)\((answer["next_cursor"] as? String).map { " (more: --cursor \($0))" } ?? "")")
    }
}

/// `hanaro referrals`: this agency's referrals.
struct Referrals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List this agency's referrals through the Agency API (scope refer).")
    @OptionGroup var options: APIOptions
    @Option(help: "incoming or outgoing (default: both).") var direction: String?
    @Option(help: "Only this status.") var status: String?
    @Option(help: "The next page: the cursor the previous listing printed.") var cursor: String?

    func run() async throws {
        let items = [("limit", "100")] + [("direction", direction), ("status", status), ("cursor", cursor)].compactMap { name, value in value.map { (name, $0) } }
        let answer = await options.call(.GET, "/v1/referrals?" + APIOptions.query(items))
        guard !options.json else { return }
        let referrals = answer["items"] as? [[String: Any]] ?? []
        for referral in referrals {
            Output.line("\(referral["id"] as? String ?? "")  \(referral["direction"] as? String ?? "")  \(referral["origin"] as? String ?? "")→\(referral["target"] as? String ?? "")  \(referral["status"] as? String ?? "")")
        }
        Output.line("\(referrals.count) referral(s)\((answer["next_cursor"] as? String).map { " (more: --cursor \($0))" } ?? "")")
    }
}

/// `hanaro subscriptions`: the webhook subscriptions and their deliveries.
struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List webhook subscriptions and their deliveries, or delete one (scope subscribe).")
    @OptionGroup var options: APIOptions
    @Option(help: "Delete this subscription.") var delete: String?

    func run() async throws {
        if let delete {
            _ = await options.call(.DELETE, "/v1/subscriptions/\(APIOptions.escaped(delete))")
            Output.line("deleted \(delete)")
            return
        }
        let answer = await options.call(.GET, "/v1/subscriptions")
        guard !options.json else { return }
        let items = answer["items"] as? [[String: Any]] ?? []
        for item in items {
            let delivery = item["delivery"] as? [String: Any] ?? [:]
            Output.line("\(item["id"] as? String ?? "")  \(item["state"] as? String ?? "")  \(item["url"] as? String ?? "")  pending \(delivery["pending"] as? Int ?? 0), delivered \(delivery["delivered"] as? Int ?? 0)")
        }
        Output.line("\(items.count) subscription(s)")
    }
}
