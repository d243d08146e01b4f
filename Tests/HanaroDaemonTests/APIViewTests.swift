import Foundation
import HanaroCore
@testable import HanaroDaemon
import HanaroFixtures
import Testing

/// The Agency API's hand-written JSON (``JSONText``) against Foundation's `JSONEncoder` with the
/// API's settings (`APIWire.encoder`), which the rest of the API still uses.
@Suite("Agency API views")
struct APIViewTests {
    /// Strings a program may carry after an adapter's normalisation, and some it should not but
    /// might: quotes, backslashes, slashes, every C0 control, DEL, U+2028, emoji, combining marks.
    static let oddStrings: [String] = [
        "", "창업", "\"quoted\"", "back\\slash", "https://a.example/b/c?d=1&e=2", "tab\there", "line\nbreak", "cr\r\nlf",
        "\u{08}\u{0C}", "nul\u{00}byte", "\u{01}\u{1F}\u{7F}", "sep\u{2028}para\u{2029}", "이모지 🧾👩🏽‍💼", "한\u{0301}글 e\u{0301}",
        "<script>&amp;</script>", String(repeating: "가", count: 300), "\u{FEFF}bom", "'single'", "ends with \\",
    ] + (0 ..< 0x20).map { "c\(Character(Unicode.Scalar(UInt8($0))))x" }

    @Test("a page of programs is written byte for byte as APIWire.encoder writes it")
    func programPageJSON() throws {
        var data = SyntheticData(seed: 2026)
        var random = SplitMix64(seed: 12)
        func odd() -> String { Self.oddStrings[Int(random.next() % UInt64(Self.oddStrings.count))] }
        func maybe<T>(_ value: T) -> T? { random.next() % 3 == 0 ? nil : value }
        let scores: [Double] = [0, -0.0, 1, -3, 3.25, -7.123456789012345, 1e-7, -2.5e-12, 1e21, 123456789.5, .leastNonzeroMagnitude, -Double.greatestFiniteMagnitude]
        var compared = 0
        for round in 0 ..< 300 {
            let count = Int(random.next() % 22)
            var items: [ProgramSummaryView] = []
            for index in 0 ..< count {
                var program = data.program(owner: AgencyID.allCases[index % 6], nativeID: round % 4 == 0 ? odd() : "P-\(round)-\(index)")
                if random.next() % 2 == 0 {
                    program.title = odd()
                    program.summary = odd() + odd()
                    program.institution = maybe(odd())
                    program.url = maybe(odd())
                    program.category = maybe(SupportCategory.allCases[Int(random.next() % UInt64(SupportCategory.allCases.count))])
                    program.period = ApplicationPeriod(start: maybe(program.period.start).flatMap { $0 }, end: maybe(program.period.end).flatMap { $0 }, text: maybe(odd()))
                    program.supportAmountKRW = BoundedRange(min: maybe(Int64(random.next() % 1_000_000_000)), max: maybe(Int64.max - Int64(random.next() % 10)))
                    program.status = [.unknown, .upcoming, .open, .closed][Int(random.next() % 4)]
                }
                let score: Nullable<Double>? = switch random.next() % 4 {
                case 0: nil
                case 1: Nullable(nil)
                case 2: Nullable(scores[Int(random.next() % UInt64(scores.count))])
                default: Nullable(-Double(random.next() % 1_000_000) / 997.0)
                }
                items.append(ProgramSummaryView(program, score: score))
            }
            let page = ProgramPageView(items: items, nextCursor: Nullable(random.next() % 2 == 0 ? nil : odd()))
            let expected = try APIWire.encoder.encode(page)
            let written = page.jsonBytes
            #expect(written == Array(expected), "round \(round): \(String(decoding: written, as: UTF8.self).prefix(400)) vs \(String(decoding: expected, as: UTF8.self).prefix(400))")
            // And it parses: the text is JSON, not only the encoder's twin.
            #expect((try? JSONSerialization.jsonObject(with: Data(written))) != nil)
            compared += count
        }
        #expect(compared > 2_000)
    }
}

@Suite("Webhook URLs")
struct WebhookURLTests {
    @Test("link-local, unspecified and metadata addresses are refused; agencies' own hosts are not", arguments: [
        ("https://169.254.169.254/latest/meta-data", false), ("https://[fe80::1]/hook", false), ("https://0.0.0.0/hook", false),
        ("https://metadata.google.internal/computeMetadata/v1/", false), ("https://[::ffff:169.254.169.254]/x", false),
        ("https://10.0.0.1/hook", true), ("https://crm.semas.or.kr/hooks/hanaro", true), ("http://127.0.0.1:9000/hook", true),
        ("https://[2001:db8::1]/hook", true), ("https://169.255.0.1/hook", true),
    ])
    func linkLocal(url: String, accepted: Bool) {
        #expect((AgencyAPI.webhookURLProblem(url, allowHTTP: false) == nil) == accepted, "\(url): \(AgencyAPI.webhookURLProblem(url, allowHTTP: false) ?? "accepted")")
    }

    /// The bypasses an outside review used (session 16): URL parsing sees other hosts, the C
    /// library's resolver — which AsyncHTTPClient connects through — reads 169.254.169.254 or a
    /// metadata address. The system resolver itself is asked, as at create and before each delivery.
    @Test("the host as the resolver reads it: hex, decimal, IPv4-mapped and NAT64 forms of 169.254.169.254, AWS's IPv6 and Alibaba's metadata addresses are forbidden; loopback, private and public ones are not", arguments: [
        ("0xa9fea9fe", "169.254.169.254"), ("2852039166", "169.254.169.254"), ("0251.0376.0251.0376", "169.254.169.254"), ("169.254.43518", "169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "0:0:0:0:0:ffff:a9fe:a9fe"), ("::ffff:169.254.169.254", "0:0:0:0:0:ffff:a9fe:a9fe"), ("64:ff9b::a9fe:a9fe", "64:ff9b:0:0:0:0:a9fe:a9fe"),
        ("[fd00:ec2::254]", "fd00:ec2:0:0:0:0:0:254"), ("169.254.169.254.", "169.254.169.254"), ("[2002:a9fe:a9fe::1]", "2002:a9fe:a9fe:0:0:0:0:1"), ("100.100.100.200", "100.100.100.200"), ("0", "0.0.0.0"), ("[fe80::1]", "fe80:0:0:0:0:0:0:1"),
        ("127.0.0.1", nil), ("2130706433", nil), ("[::1]", nil), ("10.0.0.1", nil), ("192.168.0.10", nil), ("100.100.100.201", nil), ("[2001:db8::1]", nil), ("169.255.0.1", nil),
    ] as [(String, String?)])
    func resolvedForms(host: String, forbidden: String?) async {
        let found = await WebhookAddress.forbidden(host)
        let resolved = await WebhookAddress.resolve(host) ?? []
        #expect(found == forbidden, "\(host): \(resolved)")
        #expect(!resolved.isEmpty, "\(host) does not resolve")
    }
}
