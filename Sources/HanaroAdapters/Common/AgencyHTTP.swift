public import AsyncHTTPClient
import Foundation
public import HanaroCore
import NIOCore
public import NIOHTTP1
public import NIOSSL
import Synchronization

/// The HTTPS transport of one agency's adapter: AsyncHTTPClient with the agency's trust roots,
/// a per-request timeout, the agency's rate limit, and every failure turned into an
/// ``AdapterError`` that says what to do.
public final class AgencyHTTP: Sendable {
    /// One answer: status, headers, the whole body, the agency's clock (`Date`) and the URL that
    /// answered (after redirects: what relative references in the body resolve against).
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        public var date: AgencyTimestamp?
        public var url: String
        /// Whether the protocol proved the body whole: a `Content-Length` it matched, chunked
        /// encoding's last chunk, or HTTP/2's end of stream. An HTTP/1 body without either ends
        /// where the connection closed, which a connection dropped early looks like too.
        public var framed: Bool
    }

    let client: HTTPClient
    let limiter: RateLimiter
    let agency: AgencyID
    let timeout: TimeAmount

    /// - Throws: ``AdapterError`` `.tls` when the CA file cannot be read.
    public init(agency: AgencyID, settings: AdapterSettings, clock: any MonotonicClock = SystemMonotonicClock()) throws(AdapterError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caPath = settings.caPath {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caPath))]
            } catch {
                throw AdapterError(.tls, agency: agency, "cannot read adapter.ca \(caPath): \(error); give the PEM file of the CA that signed the agency's certificate")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(Int64(settings.timeoutSeconds)))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 4)
        // Redirects are followed by `send` itself, only within the agency's origin: AsyncHTTPClient
        // would follow them anywhere and strip only `Authorization` and `Cookie`, so an agency's
        // own credential (`X-KAMCO-Key`, a `serviceKey`) would reach whatever host a redirect named.
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        limiter = RateLimiter(perSecond: settings.requestsPerSecond, clock: clock)
        self.agency = agency
        timeout = .seconds(Int64(settings.timeoutSeconds))
    }

    public func shutdown() async { try? await client.shutdown() }

    /// Sends one request within the rate limit and reads the whole answer (at most 64 MiB), all
    /// within `adapter.timeout`: the status, the headers and the last byte of the body (a body
    /// dripping a byte a second fails at the deadline with what had arrived, rather than holding
    /// the read for minutes). Redirects (301, 302, 303, 307, 308) are followed up to
    /// ``maxRedirects`` times within the origin of `url` only (same scheme, host and port), as the
    /// agency's credentials travel in its headers and query; a redirect to another origin fails
    /// and names it. HTTP 429 and 503 with `Retry-After`, 401/403, other 4xx/5xx become
    /// ``AdapterError``s; 200 answers are returned for the format to judge (many agencies put
    /// errors in a 200 body).
    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws(AdapterError) -> Answer {
        await limiter.acquire()
        let progress = Progress()
        let deadline = NIODeadline.now() + timeout
        let outcome: Result<Answer, AdapterError> = await withTaskGroup(of: Result<Answer, AdapterError>?.self) { group in
            group.addTask {
                do throws(AdapterError) {
                    return .success(try await self.exchange(method, url, headers: headers, body: body, deadline: deadline, progress: progress))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // The whole answer's deadline: nil when it passed first. A moment after the
                // client's own deadline, so that a connection it could not make reports why.
                try? await Task.sleep(for: .nanoseconds(self.timeout.nanoseconds) + .milliseconds(250))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(self.overdue(url: url, progress: progress))
        }
        let answer = try outcome.get()
        let retryAfter = answer.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch answer.status {
        case 200..<300:
            return answer
        case 429:
            throw AdapterError(.rateLimited, agency: agency, "the agency answered 429 Too Many Requests; waiting \(retryAfter ?? 0) s before trying again (lower adapter.rate_limit if it persists)", retryAfterSeconds: retryAfter)
        case 401, 403:
            throw AdapterError(.unauthorized, agency: agency, "the agency refused the credentials (HTTP \(answer.status)); check adapter.service_key")
        case 500...:
            throw AdapterError(.envelope, agency: agency, "the agency answered HTTP \(answer.status) (\(Self.snippet(answer.body))); retrying with backoff", retryAfterSeconds: retryAfter)
        default:
            var error = AdapterError(.envelope, agency: agency, "the agency answered HTTP \(answer.status) to \(Self.path(of: url)) (\(Self.snippet(answer.body))); check adapter.base_url and the path")
            error.httpStatus = answer.status
            throw error
        }
    }

    /// The most redirects one request follows.
    static let maxRedirects = 5

    /// How far an answer had come, for the message of one that missed its deadline.
    final class Progress: Sendable {
        struct State {
            var url: String?
            var headersArrived = false
            var received = 0
            var expected: Int?
        }
        let state = Mutex(State())
    }

    /// The request and its redirects within the origin, and the whole body of the last answer.
    private func exchange(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?, deadline: NIODeadline,
                          progress: Progress) async throws(AdapterError) -> Answer {
        var current = url, method = method, body = body, headers = headers
        var redirects = 0
        while true {
            progress.state.withLock { $0 = Progress.State(url: current) }
            var request = HTTPClientRequest(url: current)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, deadline: deadline)
            } catch {
                throw classify(error, url: current)
            }
            let expected = response.headers.first(name: "Content-Length").flatMap { Int($0) }
            progress.state.withLock { $0.headersArrived = true; $0.expected = expected }
            let status = Int(response.status.code)
            if [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "Location") {
                _ = try await readBody(response, url: current, expected: expected, progress: progress)
                guard let target = URL(string: location, relativeTo: URL(string: current))?.absoluteURL.absoluteString, URL(string: target)?.host != nil else {
                    throw AdapterError(.schema, agency: agency, "the agency answered \(Self.path(of: current)) with HTTP \(status) to a Location that is not a URL; check adapter.base_url and the path")
                }
                guard Self.origin(of: target) == Self.origin(of: current) else {
                    var error = AdapterError(.envelope, agency: agency, "the agency answered \(Self.path(of: current)) with HTTP \(status) to another origin, \(Self.origin(of: target)); the agency's credentials are not sent there — if the agency moved, set adapter.base_url to its new address")
                    error.httpStatus = status
                    throw error
                }
                redirects += 1
                guard redirects <= Self.maxRedirects else {
                    throw AdapterError(.envelope, agency: agency, "the agency redirected \(Self.path(of: url)) more than \(Self.maxRedirects) times; check adapter.base_url and the path")
                }
                // As browsers do (and AsyncHTTPClient did): 303, and 301/302 after a POST, go on as a GET without the body.
                if status == 303 || (method == .POST && (status == 301 || status == 302)), method != .HEAD {
                    method = .GET
                    body = nil
                    headers.removeAll { ["content-type", "content-length"].contains($0.0.lowercased()) }
                }
                current = target
                continue
            }
            let bytes = try await readBody(response, url: current, expected: expected, progress: progress)
            let framed = expected != nil || response.version.major >= 2
                || response.headers[canonicalForm: "Transfer-Encoding"].contains { $0.lowercased() == "chunked" }
            return Answer(status: status, headers: response.headers, body: bytes,
                          date: response.headers.first(name: "Date").flatMap(Self.parseHTTPDate), url: current, framed: framed)
        }
    }

    /// The whole body of an answer, read chunk by chunk so that an answer cut short says how much arrived.
    private func readBody(_ response: HTTPClientResponse, url: String, expected: Int?, progress: Progress) async throws(AdapterError) -> [UInt8] {
        var buffer = ByteBuffer()
        do {
            for try await chunk in response.body {
                guard buffer.readableBytes + chunk.readableBytes <= Self.maxBodyBytes else {
                    throw AdapterError(.schema, agency: agency, "the agency's answer is larger than \(Self.maxBodyBytes >> 20) MiB; lower adapter.page_size")
                }
                buffer.writeImmutableBuffer(chunk)
                let received = buffer.readableBytes
                progress.state.withLock { $0.received = received }
            }
        } catch let error as AdapterError {
            throw error
        } catch {
            throw AdapterError(.schema, agency: agency, Self.truncated(received: buffer.readableBytes, expected: expected, path: Self.path(of: url)))
        }
        if let expected, buffer.readableBytes < expected {
            throw AdapterError(.schema, agency: agency, Self.truncated(received: buffer.readableBytes, expected: expected, path: Self.path(of: url)))
        }
        return Array(buffer.readableBytesView)
    }

    /// The error of an answer that did not end within `adapter.timeout`: how far it had come.
    private func overdue(url: String, progress: Progress) -> AdapterError {
        let state = progress.state.withLock { $0 }
        let seconds = timeout.nanoseconds / 1_000_000_000
        let path = Self.path(of: state.url ?? url)
        guard state.headersArrived else {
            return AdapterError(.unreachable, agency: agency, "the agency did not answer \(path) within \(seconds) s (adapter.timeout); check adapter.base_url and the network if it persists")
        }
        return AdapterError(.unreachable, agency: agency, "the agency's answer to \(path) was still arriving after \(seconds) s (adapter.timeout): \(state.received) of \(state.expected.map(String.init) ?? "an unknown number of") bytes had come; retrying with backoff")
    }

    /// The most an answer may hold.
    static let maxBodyBytes = 64 << 20

    /// Says that an answer was cut short, and how much of it arrived.
    static func truncated(received: Int, expected: Int?, path: String) -> String {
        "truncated response (\(received) of \(expected.map(String.init) ?? "an unknown number of") bytes) to \(path): the agency or a proxy closed the connection before the answer ended; retrying with backoff"
    }

    private func classify(_ error: any Error, url: String) -> AdapterError {
        let text = String(describing: error)
        if error is NIOSSLError || text.contains("SSL") || text.contains("TLS") || text.contains("certificate") {
            return AdapterError(.tls, agency: agency, "TLS with the agency failed (\(text)); check the agency's certificate and adapter.ca")
        }
        if let client = error as? HTTPClientError, client == .deadlineExceeded || client == .readTimeout {
            return AdapterError(.unreachable, agency: agency, "the agency did not answer within \(timeout.nanoseconds / 1_000_000_000) s (adapter.timeout)")
        }
        if let client = error as? HTTPClientError, client == .remoteConnectionClosed || client == .bodyLengthMismatch {
            return AdapterError(.schema, agency: agency, Self.truncated(received: 0, expected: nil, path: Self.path(of: url)))
        }
        if text.contains("responseBodyTooLarge") || text.contains("TooMany") {
            return AdapterError(.schema, agency: agency, "the agency's answer is larger than 64 MiB; lower adapter.page_size")
        }
        return AdapterError(.unreachable, agency: agency, "cannot reach \(Self.origin(of: url)) (\(text)); check adapter.base_url and the network")
    }

    static func path(of url: String) -> String { URL(string: url)?.path ?? url }
    /// The scheme, host and port of a URL (the port left out where it is the scheme's default),
    /// lowercased: two URLs of one origin give the same text.
    static func origin(of url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return url }
        let scheme = (parsed.scheme ?? "https").lowercased()
        let port = parsed.port.flatMap { port in (scheme == "https" && port == 443) || (scheme == "http" && port == 80) ? nil : port }
        return "\(scheme)://\(host.lowercased())\(port.map { ":\($0)" } ?? "")"
    }

    /// What a body was, for error messages: its size and how it starts (`<`, `{`...), never its
    /// text — a referral feed's body may hold a person's name and phone, and error messages
    /// reach logs and the status port.
    /// An agency's own error text as logs, `/status` and `hanaro status` may show it: a fixed
    /// token (`SERVICE_KEY_IS_NOT_REGISTERED_ERROR`, `NODATA_ERROR`, `Unauthorized`) as it is;
    /// anything else only by its length. An agency's message may echo what it was asked about —
    /// a referral feed's answered `신청인 홍길동(010-…) 건 처리 중 오류` — and personal data is never
    /// logged; the code beside it, and the fix we name, are what the operator acts on.
    public static func agencyMessage(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "" }
        let token = trimmed.utf8.count <= 80 && trimmed.utf8.allSatisfy { byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: " ") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        } && !ContactDetector.containsContact(trimmed) && !ResidentNumberDetector.containsResidentNumber(trimmed)
        return token ? trimmed : "(a message of \(trimmed.count) characters, not shown: an agency's text may name a person)"
    }

    static func snippet(_ body: [UInt8]) -> String {
        guard let first = body.first(where: { $0 > 0x20 }) else { return "an empty body" }
        let kind: String = switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["): "JSON"
        case UInt8(ascii: "<"): body.starts(with: Array("<html".utf8)) || body.starts(with: Array("<!DOCTYPE".utf8)) ? "an HTML page" : "XML"
        default: "text"
        }
        return "\(body.count) bytes of \(kind)"
    }

    /// RFC 9110 IMF-fixdate (`Sat, 28 Nov 2026 02:15:54 GMT`).
    static func parseHTTPDate(_ text: String) -> AgencyTimestamp? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month + 1
        components.day = day
        components.hour = clock[0]
        components.minute = clock[1]
        components.second = clock[2]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: components) else { return nil }
        return AgencyTimestamp(secondsSince1970: Int64(date.timeIntervalSince1970))
    }
}

/// A token bucket: at most `perSecond` requests per second on average, bursts of one second.
/// Pure: it is told the time, so tests drive it without waiting.
public struct TokenBucket: Sendable, Hashable {
    public let perSecond: Double
    private var tokens: Double
    private var last: Duration?

    public init(perSecond: Double) {
        self.perSecond = max(0.01, perSecond)
        tokens = max(1, perSecond)
    }

    /// Takes a token at `now` (monotonic time) if one is there.
    /// - Returns: nil when taken, else how long to wait before asking again.
    public mutating func take(now: Duration) -> Duration? {
        let elapsed = last.map { now - $0 } ?? .zero
        last = now
        let (seconds, attoseconds) = elapsed.components
        tokens = min(max(1, perSecond), tokens + perSecond * (Double(seconds) + Double(attoseconds) / 1e18))
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return .nanoseconds(Int64(((1 - tokens) / perSecond * 1e9).rounded(.up)))
    }
}

/// The token bucket of one agency, shared by its requests, sleeping on the given clock.
actor RateLimiter {
    var bucket: TokenBucket
    let clock: any MonotonicClock

    init(perSecond: Double, clock: any MonotonicClock) {
        bucket = TokenBucket(perSecond: perSecond)
        self.clock = clock
    }

    func acquire() async {
        while let wait = bucket.take(now: clock.now) {
            try? await clock.sleep(until: clock.now + wait)
        }
    }
}
