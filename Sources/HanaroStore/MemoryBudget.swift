#if canImport(Glibc)
import Glibc
#endif

/// The process-wide half of a node's memory bound (peak RSS ≤ 150 MB; the page caches are the
/// other half, see ``Replica/Options/cacheKiB``).
public enum MemoryBudget {
    /// Caps glibc's malloc at two arenas. By default glibc gives threads that contend for the heap
    /// arenas of their own (up to eight per core), and memory freed in an arena stays with it: the
    /// pages decoded and verified in parallel on every core, then freed, left each arena holding
    /// its share. Measured with `hanaro-bench sync --records 300000 --updates 50000 --sync-only`
    /// (pages of 5,000): peak RSS source 148 → 127 MB, sink 146 → 131 MB, rate unchanged
    /// (docs/BENCHMARKS.md). Written by hand: no library sets allocator options. Call it first
    /// thing in a process that runs a node.
    /// - Returns: whether the allocator took the setting (false off glibc).
    @discardableResult
    public static func limitMallocArenas() -> Bool {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not import: it is looked
        // up by name. M_ARENA_MAX is -8 in glibc's <malloc.h>.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        return unsafeBitCast(symbol, to: Mallopt.self)(-8, 2) == 1
        #else
        return false
        #endif
    }
}
