import AsyncHTTPClient
import Crypto
import Foundation
import HanaroCore
public import HanaroStore
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// Delivers the outbox's webhooks per the Standard Webhooks spec
/// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
/// `webhook-id` (the same on every retry), `webhook-timestamp`, `webhook-signature` with `v1,`
/// (HMAC-SHA256 under the subscription's `whsec_` secret) and `v1a,` (Ed25519 under the agency's
/// signing key, `hanaro keys public`), over `{id}.{timestamp}.{body}`. Thin payloads: the record's
/// key, version and API path, never its content. A 2xx delivers; 410 Gone disables the
/// subscription; anything else (or no answer within 15 s) retries after 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h and 10 h (±20 % jitter; 27.6 h in all), or after the receiver's `Retry-After` when later.
///
/// Written by hand because no kept Swift library sends Standard Webhooks; the HTTP is
/// AsyncHTTPClient's and the MAC swift-crypto's.
public struct WebhookService: Service {
    let replica: Replica
    let signer: AgencySigningKey?
    let http: HTTPClient
    let metrics: HanaroMetrics
    let logger: Logger
    /// Deliveries in flight at once.
    static let concurrency = 8
    static let timeout: TimeAmount = .seconds(15)
    /// Seconds to wait after the n-th failed attempt (n = 1...7); after the last, the delivery fails.
    static let schedule: [Double] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]

    public init(replica: Replica, signer: AgencySigningKey?, metrics: HanaroMetrics, logger: Logger) {
        self.replica = replica
        self.signer = signer
        var configuration = HTTPClient.Configuration()
        // A receiver may not bounce deliveries elsewhere (to an internal address, say).
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: Self.timeout)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // A pool that refills as each delivery ends, one delivery in flight per subscription:
            // a receiver that never answers holds one slot for its 15 s, never the others (a
            // batch that waited for its slowest request stalled every subscription behind it).
            enum Done: Sendable { case delivery(String), tick }
            await withTaskGroup(of: Done.self) { group in
                var busy = Set<String>()
                var ticking = false
                while !Task.isCancelled {
                    if busy.count < Self.concurrency {
                        let due: [WebhookDelivery]
                        do throws(StoreError) {
                            due = try await replica.dueDeliveries(limit: Self.concurrency - busy.count, excluding: busy)
                        } catch {
                            logger.warning("cannot read the webhook outbox", metadata: ["reason": "\(error.message)"])
                            due = []
                        }
                        var started = false
                        for delivery in due where !busy.contains(delivery.subscription) && busy.count < Self.concurrency {
                            busy.insert(delivery.subscription)
                            started = true
                            group.addTask { await deliver(delivery); return .delivery(delivery.subscription) }
                        }
                        if started { continue }
                    }
                    // Nothing more to start now: wake on a delivery's end, or on a commit or the next
                    // retry's time (at most 1 s), whichever comes first.
                    if !ticking {
                        ticking = true
                        let generation = replica.commitGeneration
                        group.addTask {
                            let next = (try? await replica.nextDeliveryDue())?.timeIntervalSinceNow ?? 1
                            await replica.waitForChange(since: generation, timeout: .milliseconds(Int64(min(1, max(0.02, next)) * 1000)))
                            return .tick
                        }
                    }
                    switch await group.next() {
                    case .delivery(let subscription)?: busy.remove(subscription)
                    case .tick?: ticking = false
                    case nil: break
                    }
                }
                group.cancelAll()
            }
        }
        try? await http.shutdown()
    }

    /// One attempt, and its result recorded.
    func deliver(_ delivery: WebhookDelivery) async {
        let timestamp = Int(Date().timeIntervalSince1970)
        let body = Self.payload(delivery)
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "hanaro-webhooks/1")
        request.headers.add(name: "webhook-id", value: delivery.eventID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: Self.signatures(id: delivery.eventID, timestamp: timestamp, body: body, secret: delivery.secret, signer: signer))
        request.body = .bytes(ByteBuffer(bytes: body))
        let result: DeliveryResult
        if let host = URL(string: delivery.url)?.host, let address = await WebhookAddress.forbidden(host) {
            // Resolved again before each attempt: a name that now points at a link-local or
            // metadata address is never contacted (AsyncHTTPClient resolves once more itself; a
            // resolver that changes its answer within these milliseconds is not caught).
            result = Self.retry(after: delivery.attempts + 1, status: nil, error: "the receiver's host resolves to \(address) (link-local, unspecified or metadata): not contacted", retryAfter: nil)
            logger.warning("webhook receiver resolves to a forbidden address; not contacted", metadata: ["subscription": "\(delivery.subscription)", "address": "\(address)"])
        } else {
            result = await send(request, attempts: delivery.attempts)
        }
        switch result {
        case .delivered: metrics.countWebhook(outcome: "delivered")
        case .retry: metrics.countWebhook(outcome: "retry")
        case .failed: metrics.countWebhook(outcome: "failed")
        case .gone: metrics.countWebhook(outcome: "gone")
        }
        if case .gone = result {
            logger.notice("webhook receiver answered 410 Gone; subscription disabled", metadata: ["subscription": "\(delivery.subscription)"])
        }
        do {
            try await replica.recordDelivery(delivery, result: result)
        } catch {
            logger.error("cannot record a webhook attempt", metadata: ["subscription": "\(delivery.subscription)", "reason": "\(error.message)"])
        }
    }

    /// Sends one attempt and reads its answer.
    func send(_ request: HTTPClientRequest, attempts: Int) async -> DeliveryResult {
        let result: DeliveryResult
        do {
            let response = try await http.execute(request, timeout: Self.timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            if (200..<300).contains(status) {
                result = .delivered(status: status)
            } else if status == 410 {
                result = .gone
            } else {
                result = Self.retry(after: attempts + 1, status: status, error: "HTTP \(status)", retryAfter: response.headers.first(name: "retry-after"))
            }
        } catch {
            result = Self.retry(after: attempts + 1, status: nil, error: "\(error)".prefix(200).description, retryAfter: nil)
        }
        return result
    }

    /// The next attempt after `attempts` failed ones: the schedule's delay with ±20 % jitter, or
    /// the receiver's `Retry-After` (seconds or an HTTP date) when later, at most 24 h away.
    static func retry(after attempts: Int, status: Int?, error: String, retryAfter: String?) -> DeliveryResult {
        guard attempts <= schedule.count else { return .failed(status: status, error: error) }
        var delay = schedule[attempts - 1] * Double.random(in: 0.8 ... 1.2)
        if let asked = retryAfter.flatMap(retryAfterSeconds) { delay = max(delay, min(asked, 86_400)) }
        return .retry(status: status, error: error, at: Date().addingTimeInterval(delay))
    }

    static func retryAfterSeconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: trimmed).map { max(0, $0.timeIntervalSinceNow) }
    }

    /// The thin payload: what changed and where to read it, nothing of its content.
    static func payload(_ delivery: WebhookDelivery) -> [UInt8] {
        let key = try? RecordKey(parsing: delivery.recordKey)
        let path: String = switch delivery.type {
        case .programMatched: "/v1/programs/\(key?.owner.rawValue ?? "")/\(key?.localID ?? "")"
        case .referralReceived: "/v1/referrals/\(key?.owner.rawValue ?? ""):\(key?.localID ?? "")"
        }
        let event = WebhookEvent(type: delivery.type.rawValue, timestamp: delivery.createdAt,
                                 data: .init(key: delivery.recordKey, agency: key?.owner.rawValue ?? "", id: key?.localID ?? "", version: delivery.version, url: path))
        return Array((try? APIWire.encoder.encode(event)) ?? Data())
    }

    /// `v1,<HMAC>` and, with a signing key, `v1a,<Ed25519>`, space-separated.
    static func signatures(id: String, timestamp: Int, body: [UInt8], secret: String, signer: AgencySigningKey?) -> String {
        let content = Array("\(id).\(timestamp).".utf8) + body
        var signatures: [String] = []
        if let key = AgencyAPI.secretKey(secret) {
            let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key))
            signatures.append("v1," + Data(mac).base64EncodedString())
        }
        if let signer { signatures.append("v1a," + Data(signer.signWebhook(content)).base64EncodedString()) }
        return signatures.joined(separator: " ")
    }
}

struct WebhookEvent: Encodable {
    struct Payload: Encodable {
        var key: String
        var agency: String
        var id: String
        var version: String
        var url: String
    }
    var type: String
    var timestamp: Date
    var data: Payload
}
