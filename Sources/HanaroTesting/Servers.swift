public import Hummingbird

/// Runs a server for the duration of `body`: `make` builds the application with the callback that
/// learns its port (bind to port 0: the kernel picks a free one, so no probe-then-release race);
/// `body` gets the port. The server is cancelled and awaited before this returns, also when
/// `body` throws — structured, so no server outlives its test.
public func withServer<App: ApplicationProtocol, T: Sendable>(
    _ make: (_ onRunning: @escaping @Sendable (Int) async -> Void) throws -> App,
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try make { port in continuation.yield(port) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
