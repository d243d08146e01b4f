import Hummingbird

/// What the Agency API answers for a path it has no route for (404) or a method a path does not
/// take (405, with `Allow`): a problem document like every other error, instead of Hummingbird's
/// empty 404 — an integrator's client then reads one shape of error, and a wrong verb says which
/// verbs the path takes.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The API's paths (`:name` is one path segment) and the methods each takes; kept beside the
    /// routes in ``AgencyAPI/router()`` (`AgencyAPITests` checks a 405 for each).
    static var routes: [(pattern: [Substring], methods: [String])] {
        [
            (["openapi.json"], ["GET"]),
            (["v1", "programs"], ["GET"]),
            (["v1", "programs", ":agency", ":id"], ["GET"]),
            (["v1", "eligibility"], ["POST"]),
            (["v1", "referrals"], ["GET", "POST"]),
            (["v1", "referrals", ":id"], ["GET", "PATCH"]),
            (["v1", "subscriptions"], ["GET", "POST"]),
            (["v1", "subscriptions", ":id"], ["DELETE"]),
        ]
    }

    /// The methods the path takes, or nil when the API has no such path.
    static func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        return routes.first { route in
            route.pattern.count == segments.count
                && zip(route.pattern, segments).allSatisfy { pattern, segment in pattern.hasPrefix(":") ? !segment.isEmpty : pattern == segment }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let methods = Self.methods(for: request.uri.path) else {
                return Problem.notFound("no such path: the Agency API's paths are listed in GET /openapi.json").response
            }
            var response = Problem(405, "method-not-allowed", "This path does not take this method",
                                   "\(request.uri.path) takes \(methods.joined(separator: ", ")), not \(request.method.rawValue)").response
            response.headers[.allow] = methods.joined(separator: ", ")
            return response
        }
    }
}
