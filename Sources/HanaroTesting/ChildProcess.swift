public import Foundation
import Synchronization

/// A real child process (the `hanaro` executable, a simulator, openssl...) whose output is kept in
/// a log file and whose lines a test can wait for — readiness is awaited as an event (the line
/// the process prints when it listens), never slept for.
public final class ChildProcess: Sendable {
    private struct Waiter {
        var predicate: @Sendable (String) -> Bool
        var continuation: CheckedContinuation<String?, Never>
    }

    private struct State {
        var lines: [String] = []
        var partial = ""
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var finished = false
    }

    /// What the output and termination handlers share with the test.
    private final class Shared: Sendable {
        let state = Mutex(State())
        let exit = Mutex<(status: Int32, reason: Process.TerminationReason)?>(nil)
        let exitWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    }

    public let process: Process
    /// Where stdout and stderr go (kept for a failing test's message).
    public let logPath: String
    private let shared = Shared()

    /// Starts `executable` with `arguments`; output goes to `logPath` and to the line watchers.
    public init(_ executable: URL, _ arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        // A missing tool is a clear failure, not a dead test process (Foundation's Process took the
        // whole test run down when /usr/bin/faketime was not installed).
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ProcessFailure("\(executable.path) is not installed or not executable; .ci/run installs the tools the tests run")
        }
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        let log = FileHandle(forWritingAtPath: logPath)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let reader = pipe.fileHandleForReading
        let shared = self.shared
        reader.readabilityHandler = { handle in
            let data = handle.availableData
            log?.write(data)
            let ended = data.isEmpty
            let ready = shared.state.withLock { state -> [(CheckedContinuation<String?, Never>, String?)] in
                if ended {
                    state.finished = true
                    if !state.partial.isEmpty { state.lines.append(state.partial); state.partial = "" }
                } else {
                    state.partial += String(decoding: data, as: UTF8.self)
                    while let newline = state.partial.firstIndex(of: "\n") {
                        state.lines.append(String(state.partial[..<newline]))
                        state.partial = String(state.partial[state.partial.index(after: newline)...])
                    }
                }
                var out: [(CheckedContinuation<String?, Never>, String?)] = []
                for (id, waiter) in state.waiters {
                    if let line = state.lines.first(where: waiter.predicate) {
                        out.append((waiter.continuation, line))
                        state.waiters[id] = nil
                    } else if state.finished {
                        out.append((waiter.continuation, nil))
                        state.waiters[id] = nil
                    }
                }
                return out
            }
            for (continuation, line) in ready { continuation.resume(returning: line) }
            if ended { handle.readabilityHandler = nil }
        }
        process.terminationHandler = { process in
            shared.exit.withLock { $0 = (process.terminationStatus, process.terminationReason) }
            for waiter in shared.exitWaiters.withLock({ waiters in defer { waiters.removeAll() }; return waiters }) { waiter.resume() }
        }
        try process.run()
    }

    /// The first line (already printed or to come) that satisfies `predicate`, or nil when the
    /// process closed its output without printing one.
    public func line(where predicate: @escaping @Sendable (String) -> Bool) async -> String? {
        await withCheckedContinuation { continuation in
            let immediate = shared.state.withLock { state -> (Bool, String?) in
                if let line = state.lines.first(where: predicate) { return (true, line) }
                if state.finished { return (true, nil) }
                state.nextID += 1
                state.waiters[state.nextID] = Waiter(predicate: predicate, continuation: continuation)
                return (false, nil)
            }
            if immediate.0 { continuation.resume(returning: immediate.1) }
        }
    }

    /// Everything printed so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public var isRunning: Bool { shared.exit.withLock { $0 == nil } }

    /// Waits until the process exits; returns its status and how it ended.
    @discardableResult
    public func waitForExit() async -> (status: Int32, reason: Process.TerminationReason) {
        let shared = self.shared
        await withCheckedContinuation { continuation in
            let done = shared.exit.withLock { $0 != nil }
            if done { continuation.resume() } else {
                shared.exitWaiters.withLock { $0.append(continuation) }
                if shared.exit.withLock({ $0 != nil }) {
                    for waiter in shared.exitWaiters.withLock({ waiters in defer { waiters.removeAll() }; return waiters }) { waiter.resume() }
                }
            }
        }
        return shared.exit.withLock { $0! }
    }

    /// Sends a signal.
    public func signal(_ signal: Int32) {
        if isRunning { kill(process.processIdentifier, signal) }
    }

    /// A process a failing test left running is killed, never orphaned.
    deinit {
        if isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// SIGTERM, then waits for the exit; SIGKILL if it has not exited after `grace` (a child
    /// inherits the test runner's signal mask, in which SIGTERM may be blocked).
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) async -> (status: Int32, reason: Process.TerminationReason) {
        signal(SIGTERM)
        let pid = process.processIdentifier
        let outcome = await withTaskGroup(of: (status: Int32, reason: Process.TerminationReason)?.self) { group in
            group.addTask { await self.waitForExit() }
            group.addTask {
                try? await Task.sleep(for: grace)
                if !Task.isCancelled, self.isRunning { kill(pid, SIGKILL) }
                return nil
            }
            var result: (status: Int32, reason: Process.TerminationReason)?
            for await outcome in group {
                if let outcome {
                    result = outcome
                    group.cancelAll()
                    break
                }
            }
            return result
        }
        if let outcome { return outcome }
        return await waitForExit()
    }
}

/// A child process that did not do what the test needed (its output says why).
public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
