import NIOCore
import NIOPosix
import ServiceLifecycle

/// The status port's own thread: its socket I/O and its request handlers run there, not on the
/// event loops that carry federation TLS and page inflation, nor on Swift's cooperative pool,
/// where a sync keeps both threads busy decoding, verifying and applying pages.
///
/// Under a 1M-record sync the probes' p99 was 48-67 ms (docs/BENCHMARKS.md, session 9): a probe's
/// handler, a trivial copy of a precomputed report, waited for a cooperative thread to come free.
/// Here it waits only for the kernel to schedule one more thread.
///
/// Written by hand because the swift-nio of this stack (2.x as mirrored here) does not yet offer
/// an event loop as a Swift `TaskExecutor`; this is the few lines newer NIO versions ship.
final class ProbeThread: TaskExecutor, @unchecked Sendable {
    /// One event loop on one thread (immutable after init, hence the unchecked Sendable).
    let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop

    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Stops the thread once the services that ran on it have returned.
    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}

/// Runs a service with its tasks (and every child task it starts, such as a server's
/// per-connection handlers) preferring `thread`.
struct OnProbeThread<Wrapped: Service>: Service {
    let service: Wrapped
    let thread: ProbeThread

    func run() async throws {
        try await withTaskExecutorPreference(thread) { try await service.run() }
    }
}
