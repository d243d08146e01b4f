#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The status port's own thread: its socket I/O and its request handlers run there, not on the
/// event loops that carry federation TLS and page inflation, nor on Swift's cooperative pool,
/// where a sync keeps both threads busy decoding, verifying and applying pages.
///
/// Under a 1M-record sync the probes' p99 was 48-67 ms (docs/BENCHMARKS.md, session 9): a probe's
/// handler, a trivial copy of a precomputed report, waited for a cooperative thread to come free.
/// Here it waits only for the kernel to schedule one more thread — and on two cores that a sync
/// keeps busy, the kernel let it wait 5-10 ms at the 99th percentile (session 11). So the thread
/// asks for a higher scheduling priority (``niceness``, -10): a probe that wakes it preempts the
/// sync's threads instead of queueing behind them. Lowering a nice value needs `CAP_SYS_NICE` or
/// an `RLIMIT_NICE` that allows it (`LimitNICE=-10` in ops/systemd/hanaro.service); without
/// either the thread keeps the process's priority, and ``priority`` says so (logged at start).
///
/// Written by hand because the swift-nio of this stack (2.x as mirrored here) does not yet offer
/// an event loop as a Swift `TaskExecutor`; this is the few lines newer NIO versions ship.
final class ProbeThread: TaskExecutor, @unchecked Sendable {
    /// One event loop on one thread (immutable after init, hence the unchecked Sendable).
    let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop

    /// The nice value the thread asks for.
    static let niceness: Int32 = -10

    /// What the thread got: nil when the priority was granted, else why not.
    let priority: String?

    /// Starts the thread and asks for ``niceness`` on it.
    init() async {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        // On Linux a nice value belongs to a thread (NPTL): `setpriority(PRIO_PROCESS, 0, …)`
        // changes the calling thread's only, which is why it runs on the loop.
        priority = try? await loop.submit { () -> String? in Self.raisePriority(to: Self.niceness) }.get()
    }

    /// The thread's nice value now (nil off Linux, or once the thread has stopped).
    func niceValue() async -> Int32? {
        #if canImport(Glibc)
        return try? await loop.submit { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }.get()
        #else
        return nil
        #endif
    }

    /// Sets the calling thread's nice value; nil on success, else the reason.
    static func raisePriority(to nice: Int32) -> String? {
        #if canImport(Glibc)
        guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 else {
            return "nice \(nice) refused (\(String(cString: strerror(errno)))): the status port gets no more CPU than the sync's threads; grant CAP_SYS_NICE or LimitNICE=\(nice) (ops/systemd/hanaro.service)"
        }
        return nil
        #else
        return "thread priorities are set on Linux only"
        #endif
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
