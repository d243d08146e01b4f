import ServiceLifecycle

/// Recomputes the status report and the metrics once a second.
struct StatusRefresher: Service {
    let status: NodeStatus

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await status.refresh()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
