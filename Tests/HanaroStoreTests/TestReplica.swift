import Foundation
import HanaroCore
import HanaroStore
import HanaroTesting
import Testing


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
