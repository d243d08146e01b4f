public import AsyncHTTPClient
import Foundation
public import HanaroCore
import NIOCore
public import NIOHTTP1
public import NIOSSL

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
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        limiter = RateLimiter(perSecond: settings.requestsPerSecond, clock: clock)
        self.agency = agency
        timeout = .seconds(Int64(settings.timeoutSeconds))
    }

    public func shutdown() async { try? await client.shutdown() }

    /// Sends one request within the rate limit and reads the whole answer (at most 64 MiB).
    /// HTTP 429 and 503 with `Retry-After`, 401/403, other 4xx/5xx become ``AdapterError``s;
    /// 200 answers are returned for the format to judge (many agencies put errors in a 200 body).
    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws(AdapterError) -> Answer {
        await limiter.acquire()
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw classify(error, url: url)
        }
        // The body is read chunk by chunk so that an answer cut short says how much arrived.
        let expected = response.headers.first(name: "Content-Length").flatMap { Int($0) }
        var buffer = ByteBuffer()
        do {
            for try await chunk in response.body {
                guard buffer.readableBytes + chunk.readableBytes <= Self.maxBodyBytes else {
                    throw AdapterError(.schema, agency: agency, "the agency's answer is larger than \(Self.maxBodyBytes >> 20) MiB; lower adapter.page_size")
                }
                buffer.writeImmutableBuffer(chunk)
            }
        } catch let error as AdapterError {
            throw error
        } catch {
            throw AdapterError(.schema, agency: agency, Self.truncated(received: buffer.readableBytes, expected: expected, path: Self.path(of: url)))
        }
        if let expected, buffer.readableBytes < expected {
            throw AdapterError(.schema, agency: agency, Self.truncated(received: buffer.readableBytes, expected: expected, path: Self.path(of: url)))
        }
        let answer = Answer(status: Int(response.status.code), headers: response.headers,
                            body: Array(buffer.readableBytesView), date: response.headers.first(name: "Date").flatMap(Self.parseHTTPDate),
                            url: response.url?.absoluteString ?? url)
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
    static func origin(of url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return url }
        return "\(parsed.scheme ?? "https")://\(host)\(parsed.port.map { ":\($0)" } ?? "")"
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
