import Foundation
import HanaroCore
import HanaroStore
import HanaroTesting
import Testing

/// The Agency API from outside, on real `hanaro serve` processes: curl for the calls, the OpenAPI
/// document checked by openapi-spec-validator and the live answers against it (Python, written
/// apart from the node), a Python webhook receiver that verifies the Standard Webhooks signature,
/// and sqlite3 reading the audit log.
@Suite("Agency API", .serialized)
struct AgencyAPITests {
    static let apiSection = "api:\n  listen: 127.0.0.1:0\n  tokens_file: api-tokens"
    static let ownerName = "홍길동"

    /// Adds a client with `hanaro tokens add` and returns its token.
    static func addClient(_ dir: String, name: String, scopes: String) throws -> String {
        let result = try Hanaro.run(["tokens", "add", "--file", "\(dir)/api-tokens", "--name", name, "--scopes", scopes])
        #expect(result.status == 0, "tokens add: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Programs of five agencies written into a node's replica before it starts.
    static func seedPrograms(_ federation: Federation, on agency: AgencyID) async throws {
        let key = try ReplicaKey.create(at: federation.keyPath(agency))
        let replica = try Replica(path: federation.replicaPath(agency), key: key)
        func program(_ owner: AgencyID, _ id: String, _ title: String, _ summary: String, _ eligibility: Eligibility, period: ApplicationPeriod = ApplicationPeriod()) -> ProgramRecord {
            ProgramRecord(owner: owner, nativeID: id, title: title, summary: summary, eligibility: eligibility, period: period, status: .open)
        }
        let programs = [
            program(.semas, "S-1", "예비창업자 창업지원 패키지", "소상공인정책자금 연계 지원", Eligibility(regions: [try RegionCode("42")], businessAgeMonths: BoundedRange(max: 36))),
            program(.kodit, "K-1", "소상공인 정책자금 특별보증", "도소매업 보증", Eligibility(industries: [try KSICCode("G47")], employees: BoundedRange(max: 10))),
            program(.kamco, "M-1", "재기 지원 프로그램", "채무조정 이후 재창업", Eligibility(regions: [try RegionCode("11")], ownerAge: BoundedRange(min: 40, max: 60))),
            program(.kinfa, "F-1", "서민금융 햇살론", "저신용 소상공인 자금", Eligibility()),
            program(.ewpc, "E-1", "고용장려금", "청년 채용 지원", Eligibility(),
                    period: ApplicationPeriod(start: try LocalDate(year: 2020, month: 1, day: 1), end: try LocalDate(year: 2020, month: 12, day: 31))),
        ]
        for item in programs {
            try await replica.author([AuthoredEdit(key: item.key, edit: .publishProgram(item))], by: item.owner)
        }
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func ids(_ body: String) -> [String] {
        (json(body)["items"] as? [[String: Any]] ?? []).map { "\($0["agency"] as? String ?? "")/\($0["id"] as? String ?? "")" }
    }

    @Test("search, eligibility, scopes and the OpenAPI document, on a live node")
    func searchAndEligibility() async throws {
        let federation = try Federation(agencies: [.semas], nodeExtra: Self.apiSection)
        defer { federation.remove() }
        let full = try Self.addClient(federation.dir, name: "crm", scopes: "read,refer,subscribe")
        let reader = try Self.addClient(federation.dir, name: "portal", scopes: "read")
        try FileManager.default.createDirectory(atPath: "\(federation.dir)/data-semas", withIntermediateDirectories: true)
        try await Self.seedPrograms(federation, on: .semas)
        let node = try await federation.start(.semas)
        defer { node.signal(SIGKILL) }
        let api = federation.apiURL(.semas)
        let auth = ["Authorization": "Bearer \(reader)"]
        func search(_ query: String) throws -> [String] {
            let (status, body) = try http("GET", api + "/v1/programs?" + query, headers: auth)
            #expect(status == 200, "\(query): \(body)")
            return Self.ids(body)
        }
        let q = { (text: String) in "q=" + text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        // Two syllables inside a longer word, one syllable, and words across spacing.
        #expect(try search(q("창업")).contains("semas/S-1"))
        #expect(try search(q("창")).contains("semas/S-1"))
        let spaced = try search(q("소상공인 정책자금"))
        #expect(spaced.contains("kodit/K-1") && spaced.contains("semas/S-1"), "\(spaced)")
        #expect(try search(q("소상공인정책자금")).contains("kodit/K-1"))
        // As HTML forms, Python's urlencode and requests send it: a space as `+`.
        let plus = "q=" + "소상공인".addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "+" + "정책자금".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(try search(plus) == spaced, "\(plus)")
        let (malformed, malformedBody) = try http("GET", api + "/v1/programs?q=%E2%82", headers: auth)
        #expect(malformed == 400 && malformedBody.contains("\"field\":\"q\""), "\(malformedBody)")
        // A decomposed (NFD) query is the same word.
        #expect(try search(q("창업".decomposedStringWithCanonicalMapping)).contains("semas/S-1"))
        #expect(try search(q("햇살론")) == ["kinfa/F-1"])
        // The title weighs more than the summary: 소상공인 in K-1's title ranks above F-1's summary.
        let ranked = try search(q("소상공인"))
        #expect(ranked.firstIndex(of: "kodit/K-1")! < ranked.firstIndex(of: "kinfa/F-1")!, "\(ranked)")
        // Legacy 강원 42 finds the program for 51 and the nationwide ones, not Seoul's.
        let gangwon = try search("region=42")
        #expect(gangwon.contains("semas/S-1") && gangwon.contains("kinfa/F-1") && !gangwon.contains("kamco/M-1"), "\(gangwon)")
        #expect(try search("ksic=G47121").contains("kodit/K-1"))
        #expect(!(try search("open_on=2026-12-01").contains("ewpc/E-1")))
        #expect(try search("agency=kodit") == ["kodit/K-1"])
        // Cursor paging: every program once.
        var seen: [String] = []
        var cursor: String?
        repeat {
            let (status, body) = try http("GET", api + "/v1/programs?limit=2" + (cursor.map { "&cursor=" + $0 } ?? ""), headers: auth)
            #expect(status == 200)
            seen += Self.ids(body)
            cursor = Self.json(body)["next_cursor"] as? String
        } while cursor != nil && seen.count < 20
        #expect(seen.sorted() == ["ewpc/E-1", "kamco/M-1", "kinfa/F-1", "kodit/K-1", "semas/S-1"])
        // Bad parameters: 400 problems that name the parameter.
        let (badStatus, badBody) = try http("GET", api + "/v1/programs?region=99", headers: auth)
        #expect(badStatus == 400 && (Self.json(badBody)["errors"] as? [[String: Any]])?.first?["field"] as? String == "region", "\(badBody)")
        #expect(try http("GET", api + "/v1/programs?cursor=bogus", headers: auth).0 == 400)
        // Every field sent, the unset ones empty (a form, a data.go.kr-style client): no filter, not 400.
        let (emptyStatus, emptyBody) = try http("GET", api + "/v1/programs?q=&region=&ksic=&category=&agency=&open_on=&limit=&cursor=", headers: auth)
        let unfiltered = try http("GET", api + "/v1/programs", headers: auth).1
        #expect(emptyStatus == 200 && Self.ids(emptyBody) == Self.ids(unfiltered), "\(emptyBody)")
        #expect(try http("GET", api + "/v1/programs/kodit/K-1", headers: auth).0 == 200)
        #expect(try http("GET", api + "/v1/programs/kodit/nope", headers: auth).0 == 404)
        // Unknown paths and wrong methods: problem documents, 405 naming the methods the path takes.
        let (missing, missingBody) = try http("GET", api + "/v1/nope", headers: auth)
        #expect(missing == 404 && missingBody.contains("urn:hanaro:problem:not-found"), "\(missingBody)")
        for (method, path, allowed) in [("PUT", "/v1/programs", "GET"), ("DELETE", "/v1/programs/kodit/K-1", "GET"), ("GET", "/v1/eligibility", "POST"),
                                        ("DELETE", "/v1/referrals", "GET, POST"), ("POST", "/v1/referrals/x", "GET, PATCH"),
                                        ("PATCH", "/v1/subscriptions", "GET, POST"), ("GET", "/v1/subscriptions/x", "DELETE"), ("POST", "/openapi.json", "GET")] {
            let (status, body) = try http(method, api + path, headers: auth)
            #expect(status == 405 && body.contains("takes \(allowed),") && body.contains("method-not-allowed"), "\(method) \(path): \(status) \(body)")
        }
        let headersOnly = Process()
        headersOnly.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        headersOnly.arguments = ["-s", "-o", "/dev/null", "-D", "-", "-X", "PUT", api + "/v1/referrals/x", "-H", "Authorization: Bearer \(reader)"]
        let headerPipe = Pipe()
        headersOnly.standardOutput = headerPipe
        try headersOnly.run()
        let headerText = String(decoding: headerPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).lowercased()
        headersOnly.waitUntilExit()
        #expect(headerText.contains("allow: get, patch") && headerText.contains("content-type: application/problem+json"), "\(headerText)")
        // Status as of today: E-1 was published open for 2020; S-1 has no dates and keeps its own.
        #expect(Self.json(try http("GET", api + "/v1/programs/ewpc/E-1", headers: auth).1)["status"] as? String == "closed")
        #expect(Self.json(try http("GET", api + "/v1/programs/semas/S-1", headers: auth).1)["status"] as? String == "open")

        // Eligibility: all three outcomes, with reasons and the rules version.
        let profile = #"{"profile":{"region":"51","business_age_months":12,"owner_age":30},"include":"all"}"#
        let (status, body) = try http("POST", api + "/v1/eligibility", headers: auth.merging(["Content-Type": "application/json"]) { $1 }, body: profile)
        #expect(status == 200, "\(body)")
        let answer = Self.json(body)
        #expect(answer["rules_version"] as? String == Eligibility.rulesVersion)
        let items = Dictionary(uniqueKeysWithValues: (answer["items"] as? [[String: Any]] ?? []).map { ("\($0["agency"]!)/\($0["id"]!)", $0) })
        #expect(items["semas/S-1"]?["outcome"] as? String == "eligible")
        #expect(items["kinfa/F-1"]?["outcome"] as? String == "eligible")
        #expect(items["kodit/K-1"]?["outcome"] as? String == "unknown")
        #expect(Set(items["kodit/K-1"]?["missing"] as? [String] ?? []) == ["ksic", "employees"])
        #expect(items["kamco/M-1"]?["outcome"] as? String == "ineligible")
        #expect(Set((items["kamco/M-1"]?["failed"] as? [[String: Any]] ?? []).compactMap { $0["criterion"] as? String }) == ["region", "owner_age"])
        let (invalid, invalidBody) = try http("POST", api + "/v1/eligibility", headers: auth, body: #"{"profile":{"region":"99"}}"#)
        #expect(invalid == 422, "\(invalidBody)")

        // Authentication and scopes: 401 without a token, 403 for a missing scope (audited).
        let (unauthenticated, problem) = try http("GET", api + "/v1/programs")
        #expect(unauthenticated == 401 && problem.contains("urn:hanaro:problem:unauthenticated"))
        #expect(try http("GET", api + "/v1/programs", headers: ["Authorization": "Bearer hnr_not-a-token"]).0 == 401)
        #expect(try http("GET", api + "/v1/referrals", headers: auth).0 == 403)
        #expect(try http("POST", api + "/v1/subscriptions", headers: auth, body: "{}").0 == 403)
        let refused = try sqlite(federation.replicaPath(.semas), "SELECT count(*) FROM audit WHERE actor = 'api:portal' AND action = 'api.referral.list' AND outcome = 'refused'")
        #expect(refused == "1")

        // Clients added and removed while the node runs: no restart.
        let late = try Self.addClient(federation.dir, name: "late", scopes: "read")
        let lateAuth = ["Authorization": "Bearer \(late)"]
        #expect(try await eventually(10) { try http("GET", api + "/v1/programs", headers: lateAuth).0 == 200 })
        let removed = try Hanaro.run(["tokens", "remove", "--file", "\(federation.dir)/api-tokens", "--name", "late"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try await eventually(10) { try http("GET", api + "/v1/programs", headers: lateAuth).0 == 401 })
        #expect(try http("GET", api + "/v1/programs", headers: auth).0 == 200)
        #expect(try Hanaro.run(["tokens", "remove", "--file", "\(federation.dir)/api-tokens", "--name", "late"]).status == 1)
        let mode = (try FileManager.default.attributesOfItem(atPath: "\(federation.dir)/api-tokens")[.posixPermissions] as? Int) ?? 0
        #expect(mode & 0o077 == 0, "the tokens file is \(String(mode, radix: 8)) after a removal")

        // The document, by an outside validator; the live answers, against it.
        let tokenFile = "\(federation.dir)/crm.token"
        try full.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let spec = try python(["ops/api/check_openapi.py", "spec", "docs/openapi.json"])
        #expect(spec.status == 0, "\(spec.output)")
        let live = try python(["ops/api/check_openapi.py", "live", api, tokenFile, "--spec", "docs/openapi.json"])
        #expect(live.status == 0, "\(live.output)")
    }

    @Test("referrals across two nodes, with a webhook receiver: retry with the same id, 410 stops deliveries")
    func referralsAndWebhooks() async throws {
        let federation = try Federation(agencies: [.semas, .kamco], nodeExtra: Self.apiSection)
        defer { federation.remove() }
        let full = try Self.addClient(federation.dir, name: "crm", scopes: "read,refer,subscribe")
        let reader = try Self.addClient(federation.dir, name: "portal", scopes: "read")
        let semasNode = try await federation.start(.semas)
        defer { semasNode.signal(SIGKILL) }
        let kamcoNode = try await federation.start(.kamco)
        defer { kamcoNode.signal(SIGKILL) }
        let semas = federation.apiURL(.semas), kamco = federation.apiURL(.kamco)
        let auth = ["Authorization": "Bearer \(full)", "Content-Type": "application/json"]

        // The receiver: answers 503 to the first delivery, then 200.
        let secret = "whsec_" + Data((0 ..< 32).map { _ in UInt8.random(in: 0 ... 255) }).base64EncodedString()
        let log = "\(federation.dir)/deliveries.jsonl", answers = "\(federation.dir)/answers.txt"
        try "503".write(toFile: answers, atomically: true, encoding: .utf8)
        let receiver = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", repositoryRoot + "/ops/api/webhook_receiver.py", "--secret", secret, "--log", log, "--answers", answers],
                                        logPath: "\(federation.dir)/receiver.log")
        defer { receiver.signal(SIGKILL) }
        guard let line = await receiver.line(where: { $0.hasPrefix("listening") }), let port = line.firstMatch(of: /:(\d+)/).map({ String($0.1) }) else {
            Issue.record("the receiver did not start: \(receiver.output)")
            return
        }
        let subscribe = #"{"url":"http://127.0.0.1:\#(port)/hook","secret":"\#(secret)","events":["referral.received"]}"#
        let (created, subscriptionBody) = try http("POST", kamco + "/v1/subscriptions", headers: auth, body: subscribe)
        #expect(created == 201, "\(subscriptionBody)")
        #expect(Self.json(subscriptionBody)["secret"] as? String == secret)
        // Another client of the node neither sees nor deletes it.
        let other = try Self.addClient(federation.dir, name: "other-system", scopes: "subscribe")
        let otherAuth = ["Authorization": "Bearer \(other)"]
        #expect(try await eventually(10) { try http("GET", kamco + "/v1/subscriptions", headers: otherAuth).0 == 200 })
        #expect((Self.json(try http("GET", kamco + "/v1/subscriptions", headers: otherAuth).1)["items"] as? [Any])?.count == 0)
        let subscriptionID = Self.json(subscriptionBody)["id"] as? String ?? "-"
        #expect(try http("DELETE", kamco + "/v1/subscriptions/\(subscriptionID)", headers: otherAuth).0 == 404)
        #expect((Self.json(try http("GET", kamco + "/v1/subscriptions", headers: auth).1)["items"] as? [Any])?.count == 1)
        // A receiver that takes the connection and never answers (a socket that listens and never
        // accepts): it holds one delivery slot for the 15 s timeout, never the others.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) } }
        _ = listen(silent, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) } }
        let silentPort = UInt16(bigEndian: address.sin_port)
        let (silentCreated, silentBody) = try http("POST", kamco + "/v1/subscriptions", headers: auth,
                                                   body: #"{"url":"http://127.0.0.1:\#(silentPort)/hook","events":["referral.received"]}"#)
        #expect(silentCreated == 201, "\(silentBody)")
        let (refusedURL, _) = try http("POST", kamco + "/v1/subscriptions", headers: auth, body: #"{"url":"http://example.org/hook","events":["referral.received"]}"#)
        #expect(refusedURL == 422)
        // 169.254.169.254 written as the resolver reads it, not as a URL parser does (outside review, session 16).
        for host in ["0xa9fea9fe", "2852039166", "[::ffff:a9fe:a9fe]", "[fd00:ec2::254]", "100.100.100.200"] {
            let (status, body) = try http("POST", kamco + "/v1/subscriptions", headers: auth, body: #"{"url":"https://\#(host)/hook","events":["referral.received"]}"#)
            #expect(status == 422 && body.contains("metadata"), "\(host): \(status) \(body)")
        }

        // No consent: 422, nothing created. A read-only client: 403.
        let business = #""business":{"trade_name":"하나로상회","business_number":"220-81-62517","region":"11"}"#
        let consent = #""consent":{"scope":["contact","business"],"recipient":"kamco","purpose":"채무조정 상담","retain_until":"2027-12-31"}"#
        let (noConsent, noConsentBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: #"{"id":"R-1","target":"kamco","centre":"서울중부센터",\#(business)}"#)
        #expect(noConsent == 422 && noConsentBody.contains("consent"), "\(noConsentBody)")
        // A consent missing a part is as none (422 consent-missing, naming it); a body that is no object, or a wrong type, says what to fix.
        let partial = #"{"id":"R-1","target":"kamco","centre":"서울중부센터",\#(business),"consent":{"scope":["business"],"recipient":"kamco","retain_until":"2027-12-31"}}"#
        let (partialStatus, partialBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: partial)
        #expect(partialStatus == 422 && partialBody.contains("consent-missing") && partialBody.contains("consent.purpose"), "\(partialBody)")
        let (arrayStatus, arrayBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: "[]")
        #expect(arrayStatus == 400 && arrayBody.contains("must be a JSON object") && !arrayBody.contains("Dictionary"), "\(arrayBody)")
        let (typeStatus, typeBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: #"{"id":"R-1","target":"kamco","centre":7}"#)
        #expect(typeStatus == 400 && typeBody.contains("centre has the wrong type: a string expected"), "\(typeBody)")
        #expect(try http("POST", semas + "/v1/referrals", headers: ["Authorization": "Bearer \(reader)"], body: "{}").0 == 403)
        // With consent: 201; the same create again: 200, still one referral.
        let create = #"{"id":"R-1","target":"kamco","centre":"서울중부센터",\#(business),\#(consent),"contact":{"owner_name":"\#(Self.ownerName)","phone":"010-1234-5678"}}"#
        let (first, firstBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: create)
        #expect(first == 201, "\(firstBody)")
        #expect(Self.json(firstBody)["id"] as? String == "semas:R-1")
        #expect(try http("POST", semas + "/v1/referrals", headers: auth, body: create).0 == 200)
        // The same id with other content: 409, and the first stays as it was.
        let altered = create.replacingOccurrences(of: "서울중부센터", with: "부산센터")
        let (taken, takenBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: altered)
        #expect(taken == 409 && takenBody.contains("id-taken"), "\(takenBody)")
        #expect(Self.json(try http("GET", semas + "/v1/referrals/semas:R-1", headers: auth).1)["centre"] as? String == "서울중부센터")
        #expect((Self.json(try http("GET", semas + "/v1/referrals?direction=outgoing", headers: auth).1)["items"] as? [Any])?.count == 1)

        // It arrives on kamco's incoming list, with the contact kamco is entitled to.
        var incoming: [String: Any] = [:]
        let arrived = try await eventually(30) {
            let items = Self.json(try http("GET", kamco + "/v1/referrals?direction=incoming", headers: auth).1)["items"] as? [[String: Any]] ?? []
            incoming = items.first ?? [:]
            return items.count == 1
        }
        #expect(arrived)
        #expect(incoming["id"] as? String == "semas:R-1" && incoming["status"] as? String == "sent")
        #expect((incoming["contact"] as? [String: Any])?["owner_name"] as? String == Self.ownerName)

        // The webhook: 503, then the same webhook-id again after the backoff, signed.
        var deliveries: [[String: Any]] = []
        let retried = await eventually(40) {
            deliveries = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { Self.json(String($0)) }
            return deliveries.count >= 2
        }
        #expect(retried, "\(deliveries)")
        if deliveries.count >= 2 {
            #expect(deliveries[0]["answered"] as? Int == 503 && deliveries[1]["answered"] as? Int == 200)
            #expect(deliveries[0]["id"] as? String == deliveries[1]["id"] as? String)
            // The retry comes on its 5 s schedule, not after the silent receiver's 15 s timeout.
            let gap = (deliveries[1]["received_at"] as? Double ?? 0) - (deliveries[0]["received_at"] as? Double ?? 0)
            #expect(gap < 12, "the retry came \(gap) s after the 503")
            #expect(deliveries.allSatisfy { $0["signature_ok"] as? Bool == true && $0["has_v1a"] as? Bool == true })
            let payload = deliveries[1]["payload"] as? [String: Any] ?? [:]
            #expect(payload["type"] as? String == "referral.received")
            #expect((payload["data"] as? [String: Any])?["url"] as? String == "/v1/referrals/semas:R-1")
            #expect(!(deliveries[1]["raw"] as? String ?? "").contains(Self.ownerName))
        }

        // kamco moves it within its role; the change comes back to semas. Outside the role: refused.
        let (patched, patchedBody) = try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"received","note":"접수했습니다"}"#)
        #expect(patched == 200, "\(patchedBody)")
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"withdrawn"}"#).0 == 403)
        // Forward, then back to a status kamco set before: 409, the status stays.
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"in_consultation"}"#).0 == 200)
        let (backwards, backwardsBody) = try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"received"}"#)
        #expect(backwards == 409 && backwardsBody.contains("invalid-transition"), "\(backwardsBody)")
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"in_consultation"}"#).0 == 200)
        #expect(try http("PATCH", kamco + "/v1/referrals/R-1", headers: auth, body: #"{"status":"closed"}"#).0 == 409)
        let cameBack = try await eventually(30) {
            Self.json(try http("GET", semas + "/v1/referrals/semas:R-1", headers: auth).1)["status"] as? String == "in_consultation"
        }
        #expect(cameBack)

        // 410 Gone disables the subscription: the next referral is announced once, the one after never.
        try "410".write(toFile: answers, atomically: true, encoding: .utf8)
        for id in ["R-2", "R-3"] {
            let body = create.replacingOccurrences(of: "\"R-1\"", with: "\"\(id)\"")
            #expect(try http("POST", semas + "/v1/referrals", headers: auth, body: body).0 == 201)
            if id == "R-2" {
                let disabled = try await eventually(30) {
                    (Self.json(try http("GET", kamco + "/v1/subscriptions", headers: auth).1)["items"] as? [[String: Any]])?.first { $0["id"] as? String == subscriptionID }?["state"] as? String == "disabled"
                }
                #expect(disabled)
            }
        }
        let allThree = try await eventually(30) {
            (Self.json(try http("GET", kamco + "/v1/referrals?direction=incoming", headers: auth).1)["items"] as? [Any])?.count == 3
        }
        #expect(allThree)
        try await Task.sleep(for: .seconds(2))
        let finalCount = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(finalCount == 3, "deliveries after the 410: \(finalCount)")

        // Audited, without personal data; the node's log holds none either.
        let audited = try sqlite(federation.replicaPath(.semas), "SELECT count(*) FROM audit WHERE actor = 'api:crm' AND action = 'api.referral.create'")
        #expect(Int(audited) ?? 0 >= 4)
        // A created referral is audited under its own path.
        let createdAudit = try sqlite(federation.replicaPath(.semas), "SELECT count(*) FROM audit WHERE action = 'api.referral.create' AND outcome = 'ok' AND target = '/v1/referrals/semas:R-2'")
        #expect(createdAudit == "1")
        for agency in [AgencyID.semas, .kamco] {
            let leaked = try sqlite(federation.replicaPath(agency), "SELECT count(*) FROM audit WHERE detail LIKE '%\(Self.ownerName)%' OR target LIKE '%\(Self.ownerName)%'")
            #expect(leaked == "0")
        }
        #expect(!semasNode.output.contains(Self.ownerName) && !kamcoNode.output.contains(Self.ownerName))

        // Without an id, an Idempotency-Key names the referral: a retry finds it, other content is refused.
        let keyed = create.replacingOccurrences(of: #""id":"R-1","#, with: "")
        let idempotent = auth.merging(["Idempotency-Key": "7f1c2a9e-retry-test"]) { $1 }
        let (keyedFirst, keyedBody) = try http("POST", semas + "/v1/referrals", headers: idempotent, body: keyed)
        let (keyedAgain, keyedAgainBody) = try http("POST", semas + "/v1/referrals", headers: idempotent, body: keyed)
        #expect(keyedFirst == 201 && keyedAgain == 200, "\(keyedBody) \(keyedAgainBody)")
        #expect(Self.json(keyedBody)["id"] as? String != nil && Self.json(keyedBody)["id"] as? String == Self.json(keyedAgainBody)["id"] as? String)
        #expect(try http("POST", semas + "/v1/referrals", headers: idempotent, body: keyed.replacingOccurrences(of: "서울중부센터", with: "부산센터")).0 == 409)
        // A consent whose retention already ended: 422.
        let expired = create.replacingOccurrences(of: "R-1", with: "R-OLD").replacingOccurrences(of: "2027-12-31", with: "2020-01-01")
        let (expiredStatus, expiredBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: expired)
        #expect(expiredStatus == 422 && expiredBody.contains("consent.retain_until"), "\(expiredBody)")
        // A 주민등록번호 as the id, in the consent or in a note (any dash): 422, and never stored or echoed.
        let resident = "800101–1234567"
        for body in [create.replacingOccurrences(of: "\"R-1\"", with: "\"900101-1234567\""),
                     create.replacingOccurrences(of: "R-1", with: "R-RRN").replacingOccurrences(of: "채무조정 상담", with: "상담 \(resident)"),
                     create.replacingOccurrences(of: "R-1", with: "R-RRN2").replacingOccurrences(of: #""contact","#, with: #""contact","\#(resident)","#)] {
            let (status, answer) = try http("POST", semas + "/v1/referrals", headers: auth, body: body)
            #expect(status == 422 && !answer.contains("1234567"), "\(answer)")
        }
        // Named by the API's field names.
        let (tradeStatus, tradeAnswer) = try http("POST", semas + "/v1/referrals", headers: auth,
                                                  body: create.replacingOccurrences(of: "R-1", with: "R-T").replacingOccurrences(of: "하나로상회", with: "하나로 \(resident)"))
        #expect(tradeStatus == 422 && tradeAnswer.contains(#""field":"business.trade_name""#) && !tradeAnswer.contains("1234567"), "\(tradeAnswer)")
        let (blank, blankAnswer) = try http("POST", semas + "/v1/referrals", headers: auth, body: create.replacingOccurrences(of: "R-1", with: "R-B").replacingOccurrences(of: "서울중부센터", with: " "))
        #expect(blank == 422 && blankAnswer.contains(#""field":"centre""#), "\(blankAnswer)")
        let (noteStatus, noteAnswer) = try http("PATCH", semas + "/v1/referrals/semas:R-1", headers: auth, body: #"{"note":"주민 800101－1234567"}"#)
        #expect(noteStatus == 422 && !noteAnswer.contains("1234567"), "\(noteAnswer)")
        // Nowhere in either replica (the WAL included: nodes still run) nor in the nodes' logs.
        for agency in [AgencyID.semas, .kamco] {
            for path in [federation.replicaPath(agency), federation.replicaPath(agency) + "-wal"] {
                let file = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
                #expect(file.range(of: Data("1234567".utf8)) == nil, "a 주민등록번호's digits are in \(path)")
            }
        }
        #expect(!semasNode.output.contains("1234567") && !kamcoNode.output.contains("1234567"))

        #expect(try http("GET", semas + "/v1/referrals?direction=&status=&limit=&cursor=", headers: auth).0 == 200)
        // A cursor pages only the query that issued it: outgoing's cursor on incoming is 400, saying so.
        let outgoingPage = Self.json(try http("GET", semas + "/v1/referrals?direction=outgoing&limit=1", headers: auth).1)
        let outgoingCursor = try #require(outgoingPage["next_cursor"] as? String)
        #expect(try http("GET", semas + "/v1/referrals?direction=outgoing&limit=1&cursor=" + outgoingCursor, headers: auth).0 == 200)
        let (crossed, crossedBody) = try http("GET", semas + "/v1/referrals?direction=incoming&cursor=" + outgoingCursor, headers: auth)
        #expect(crossed == 400 && crossedBody.contains("another query"), "\(crossedBody)")
        // The current status again is a no-op (200) for either party, whoever set it.
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"supported"}"#).0 == 200)
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"closed"}"#).0 == 200)
        let closedOnSemas = try await eventually(30) {
            Self.json(try http("GET", semas + "/v1/referrals/semas:R-1", headers: auth).1)["status"] as? String == "closed"
        }
        #expect(closedOnSemas)
        let (closedAgain, closedAgainBody) = try http("PATCH", semas + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"closed"}"#)
        #expect(closedAgain == 200, "\(closedAgainBody)")
        #expect(try http("PATCH", kamco + "/v1/referrals/semas:R-1", headers: auth, body: #"{"status":"closed"}"#).0 == 200)
        // Ids in paths are percent-decoded (outside review, session 16): `semas%3AR-1` and a Korean id.
        #expect(try http("GET", semas + "/v1/referrals/semas%3AR-1", headers: auth).0 == 200)
        // Answers that may hold the owner's contact are never cached.
        let headers = try curlHeaders(semas + "/v1/referrals/semas:R-1", token: full)
        #expect(headers.lowercased().contains("cache-control: no-store"), "\(headers)")
        let korean = create.replacingOccurrences(of: "\"R-1\"", with: "\"의뢰-2026-001\"")
        #expect(try http("POST", semas + "/v1/referrals", headers: auth, body: korean).0 == 201)
        let escaped = "의뢰-2026-001".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(try http("GET", semas + "/v1/referrals/semas%3A" + escaped, headers: auth).0 == 200)
        #expect(try http("PATCH", semas + "/v1/referrals/" + escaped, headers: auth, body: #"{"note":"경로 확인"}"#).0 == 200)
        #expect(try http("GET", semas + "/v1/referrals/semas%3A%ZZ", headers: auth).0 == 400)
        #expect(try http("GET", semas + "/v1/referrals/semas%3AR-1%00zz", headers: auth).0 == 400)
        // The id the API answered with, sent back, names the same referral; ids that cannot live in a path are refused.
        let (resent, resentBody) = try http("POST", semas + "/v1/referrals", headers: auth, body: create.replacingOccurrences(of: "\"R-1\"", with: "\"semas:R-1\""))
        #expect(resent == 200 && Self.json(resentBody)["id"] as? String == "semas:R-1", "\(resentBody)")
        for id in ["a/b", "R?x=1#f", "kodit:R-9", " R-9", "50%"] {
            let (status, answer) = try http("POST", semas + "/v1/referrals", headers: auth, body: create.replacingOccurrences(of: "\"R-1\"", with: "\"\(id)\""))
            #expect(status == 422 && answer.contains(#""field":"id""#), "\(id): \(status) \(answer)")
        }
        // A control character in the needs: 422, nothing created.
        let control = create.replacingOccurrences(of: "\"R-1\"", with: "\"R-CTL\"").replacingOccurrences(of: #""contact":{"#, with: #""needs":{"categories":["금융"],"summary":"상담\u0001요약"},"contact":{"#)
        let (controlStatus, controlAnswer) = try http("POST", semas + "/v1/referrals", headers: auth, body: control)
        #expect(controlStatus == 422 && controlAnswer.contains("control character"), "\(controlAnswer)")
    }
}

/// The repository's root (for its scripts), from this file's place.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Runs sqlite3 (read-only) on a replica file and returns its output.
func sqlite(_ path: String, _ query: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sqlite3", "-readonly", path, query]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs a Python script of the repository (from its root) and returns its status and output.
func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
