import Hummingbird

/// What the Agency API answers for a path it has no route for (404) or a method a path does not
/// take (405, with `Allow`): a problem document like every other error, instead of Hummingbird's
/// empty 404 — an integrator's client then reads one shape of error, and a wrong verb says which
/// verbs the path takes.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The API's paths (`{name}` components match one segment) and the methods each takes.
    let routes: [(pattern: [String], methods: [String])]

    /// From the router's own table (`Router.routes`), once its routes are all added: the list
    /// cannot drift from the routes (`AgencyAPITests` checks a 405 for each).
    init(routes described: [Router<Context>.RouteDescription]) {
        var byPath: [String: (pattern: [String], methods: [String])] = [:]
        for route in described {
            let pattern = route.path.components.map(\.description)
            byPath["/" + pattern.joined(separator: "/"), default: (pattern, [])].methods.append(route.method.rawValue)
        }
        routes = byPath.keys.sorted().map { byPath[$0]! }
    }

    /// The methods the path takes, or nil when the API has no such path.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        return routes.first { route in
            route.pattern.count == segments.count
                && zip(route.pattern, segments).allSatisfy { pattern, segment in pattern.hasPrefix("{") ? !segment.isEmpty : pattern == segment }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let methods = methods(for: request.uri.path) else {
                return Problem.notFound("no such path: the Agency API's paths are listed in GET /openapi.json").response
            }
            var response = Problem(405, "method-not-allowed", "This path does not take this method",
                                   "\(request.uri.path) takes \(methods.joined(separator: ", ")), not \(request.method.rawValue)").response
            response.headers[.allow] = methods.joined(separator: ", ")
            return response
        }
    }
}
