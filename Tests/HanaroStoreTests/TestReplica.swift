import Foundation
import HanaroCore
import HanaroStore
import Testing

/// A temporary directory removed when the value goes away (tests run in parallel; each gets its own).
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "hanaro-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A wall clock the test moves by hand.
final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: UInt64

    init(_ start: UInt64 = 1_790_000_000_000) { now = start }

    func nowMilliseconds() -> UInt64 { lock.withLock { now } }
    func advance(_ ms: UInt64) { lock.withLock { now += ms } }
}

extension Replica {
    /// A replica in a fresh file with a fresh key (written to `dir/replica.key`).
    static func temporary(in dir: TemporaryDirectory, name: String = "replica.sqlite", clock: (any WallClock)? = nil, maxPageCount: Int? = nil) throws -> Replica {
        let keyPath = dir.file(name + ".key")
        let key = FileManager.default.fileExists(atPath: keyPath) ? try ReplicaKey.load(from: keyPath) : try ReplicaKey.create(at: keyPath)
        var options = Replica.Options()
        if let clock { options.clock = clock }
        options.maxPageCount = maxPageCount
        return try Replica(path: dir.file(name), key: key, options: options)
    }
}

func hlc(_ ms: UInt64) -> HLCTimestamp { HLCTimestamp(millisecondsSince1970: ms) }
