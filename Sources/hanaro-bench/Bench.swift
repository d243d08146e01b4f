import ArgumentParser
import Foundation

/// `hanaro-bench`: performance figures, measured by hand in a release build and recorded in
/// docs/BENCHMARKS.md (never a timed test). Each figure is printed beside a baseline measured in
/// the same run, with the command that produced it.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hanaro-bench",
        abstract: "Hanaro benchmarks (run in release: swift run -c release hanaro-bench ...).",
        subcommands: [ApplyBench.self, ApplyPhase.self, SyncBench.self, SyncSeed.self, SyncUpdate.self, IngestBench.self, CryptoBench.self, APIBench.self]
    )

    /// As `hanaro`'s: what a benchmark creates (replicas, their WAL and SHM, keys, the nodes'
    /// files it starts) is owner-only whatever the umask it was started with; its children
    /// (`apply-phase`, the `hanaro serve` nodes) inherit the mask.
    static func main() async {
        umask(0o077)
        await main(nil)  // ArgumentParser's own entry point: parse, run, exit with the error
    }
}

/// Prints and flushes at once (stdout to a file is block-buffered; a long run must not lose lines).
func print(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Peak resident set size of this process, in bytes (VmHWM).
func peakRSSBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    return kb * 1024
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    // ContinuousClock (CLOCK_MONOTONIC on Linux), not timespec: whether `timespec`'s members are
    // visible depends on which other files of the module import what (MemberImportVisibility).
    let elapsed = ContinuousClock.now - benchEpoch
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// CPU seconds this process has used, on every thread (user and system): beside a wall-clock
/// interval it tells whether a phase kept both cores busy or waited.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// The bench's origin on the monotonic clock.
let benchEpoch = ContinuousClock.now
