import Foundation
public import Hummingbird
import NIOCore

/// An RFC 9457 problem: what went wrong and how to fix it, as `application/problem+json`.
public struct Problem: Error, Sendable, Encodable {
    /// One field at fault, for a request with several problems.
    public struct FieldError: Sendable, Encodable {
        public var field: String
        public var reason: String
    }

    /// `urn:hanaro:problem:<slug>`.
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var errors: [FieldError]?
    /// Extra headers (`WWW-Authenticate`, `Retry-After`); not part of the body.
    var headers: HTTPFields = [:]

    private enum CodingKeys: String, CodingKey { case type, title, status, detail, errors }

    public init(_ status: Int, _ slug: String, _ title: String, _ detail: String, errors: [FieldError]? = nil) {
        self.type = "urn:hanaro:problem:\(slug)"
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func badRequest(_ detail: String, field: String? = nil) -> Problem {
        Problem(400, "bad-request", "The request is malformed", detail, errors: field.map { [FieldError(field: $0, reason: detail)] })
    }

    static func unprocessable(_ detail: String, field: String? = nil) -> Problem {
        Problem(422, "unprocessable", "The request cannot be carried out as it is", detail, errors: field.map { [FieldError(field: $0, reason: detail)] })
    }

    /// 503: the admission gate refused a search or an eligibility check; nothing was done.
    static func busy(_ refusal: RefusedAdmission) -> Problem {
        let why = switch refusal.outcome {
        case .waitedTooLong: "this call waited more than a second behind \(refusal.limit) running and up to \(refusal.queue) queued"
        default: "\(refusal.limit) searches or eligibility checks are running and \(refusal.queue) waiting"
        }
        var problem = Problem(503, "busy", "The node is busy", "\(why), the most this node allows (api.max_concurrent_searches, api.max_queued_searches); nothing was done, try again after Retry-After seconds")
        problem.headers = [.retryAfter: "1"]
        return problem
    }

    static func notFound(_ detail: String) -> Problem { Problem(404, "not-found", "No such resource", detail) }

    var response: Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(self)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: Array(body))))
    }
}
