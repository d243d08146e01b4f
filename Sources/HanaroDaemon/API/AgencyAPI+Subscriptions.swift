import Foundation
import HanaroCore
import HanaroStore
import Hummingbird

extension AgencyAPI {
    /// `POST /v1/subscriptions`: a saved profile and keywords with a webhook URL. The answer holds
    /// the signing secret, the only time it is shown.
    func createSubscription(_ body: SubscriptionCreateRequest, client: APIToken) async throws -> Response {
        var errors: [Problem.FieldError] = []
        if let problem = Self.webhookURLProblem(body.url, allowHTTP: allowHTTPWebhooks) {
            errors.append(.init(field: "url", reason: problem))
        } else if let host = URL(string: body.url)?.host, let address = await WebhookAddress.forbidden(host) {
            // The host as the resolver reads it (hex, decimal, IPv4 in IPv6, a name): checked
            // again before every delivery, since a name may later resolve elsewhere.
            errors.append(.init(field: "url", reason: "its host \(host.prefix(60)) resolves to \(address), a link-local, unspecified or metadata-service address"))
        }
        var events = Set<WebhookEventType>()
        for name in body.events {
            guard let event = WebhookEventType(rawValue: name) else {
                errors.append(.init(field: "events", reason: "\"\(name.prefix(40))\" is no event; \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            events.insert(event)
        }
        if body.events.isEmpty { errors.append(.init(field: "events", reason: "name at least one event")) }
        let secret = body.secret ?? "whsec_" + Data((0 ..< 32).map { _ in UInt8.random(in: 0 ... 255) }).base64EncodedString()
        if Self.secretKey(secret) == nil {
            errors.append(.init(field: "secret", reason: "must be whsec_ followed by the base64 of 24 to 64 random bytes (or omit it: one is made)"))
        }
        let keywords = body.keywords ?? []
        if keywords.count > 20 || keywords.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.count > 50 }) {
            errors.append(.init(field: "keywords", reason: "at most 20 keywords of 1 to 50 characters"))
        }
        var profile: BusinessProfile?
        if let request = body.profile {
            do { profile = try Self.profile(request) } catch let problem as Problem { errors += problem.errors ?? [] }
        }
        var agencyFilter: AgencyID?, category: SupportCategory?
        do {
            agencyFilter = try body.agency.map { try Self.agency($0, field: "agency") }
            category = try body.category.map { try Self.category($0, field: "category") }
        } catch let problem as Problem { errors += problem.errors ?? [] }
        guard errors.isEmpty else {
            throw Problem(422, "invalid-subscription", "The subscription has invalid values", errors.map { "\($0.field): \($0.reason)" }.joined(separator: "; "), errors: errors)
        }
        let filter = SubscriptionFilter(events: events, profile: profile, keywords: keywords, agency: agencyFilter, category: category)
        let note = AuditNote(actor: "api:\(client.name)", action: "api.subscription.create", target: "", outcome: "ok",
                             detail: "events \(events.map(\.rawValue).sorted().joined(separator: ",")) to \(Self.origin(of: body.url))")
        let subscription = try await replica.createSubscription(client: client.name, url: body.url, secret: secret, filter: filter, audit: note)
        return Self.json(201, SubscriptionView(subscription, secret: secret), headers: [.location: "/v1/subscriptions/\(subscription.id)"])
    }

    /// Why a webhook URL is refused, or nil: HTTPS, or HTTP to loopback (a receiver on the same
    /// host) unless `api.allow_http_webhooks`; no credentials in the URL.
    static func webhookURLProblem(_ text: String, allowHTTP: Bool) -> String? {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            return "must be an absolute http(s) URL of at most 2048 characters"
        }
        if url.user != nil || url.password != nil { return "must not carry credentials; sign deliveries with the secret instead" }
        if isLinkLocal(host) {
            // Cloud metadata services answer there (169.254.169.254): a subscription must not
            // turn the node into a client of them. Agencies' receivers on private networks stay allowed.
            return "must not name a link-local or unspecified address (169.254.0.0/16, fe80::/10, 0.0.0.0) or a metadata service"
        }
        switch scheme {
        case "https": return nil
        case "http":
            let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
            return loopback || allowHTTP ? nil : "must be https (http only to a receiver on this host, or with api.allow_http_webhooks)"
        default: return "must be an http(s) URL"
        }
    }

    /// Whether a URL's host is a link-local, unspecified or metadata-service address, as written.
    static func isLinkLocal(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if ["metadata", "metadata.google.internal", "instance-data", "0.0.0.0", "::", "0"].contains(name) { return true }
        if name.hasPrefix("::ffff:") { name = String(name.dropFirst(7)) }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return octets[0] == "169" && octets[1] == "254" || octets[0] == "0" }
        if name.contains(":"), let first = name.split(separator: ":").first, first.count == 4, let word = UInt16(first, radix: 16) {
            return word & 0xFFC0 == 0xFE80
        }
        return false
    }

    /// The key bytes of a `whsec_` secret (Standard Webhooks), when it has 24 to 64 of them.
    static func secretKey(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))), (24...64).contains(data.count) else { return nil }
        return Array(data)
    }

    /// `https://host:port`: what the audit log says of a webhook URL (paths may carry tokens).
    static func origin(of text: String) -> String {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host else { return "?" }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }
}
