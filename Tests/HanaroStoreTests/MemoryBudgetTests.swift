import HanaroStore
import Testing

/// The allocator half of a node's memory bound (its effect is measured by `hanaro-bench sync`,
/// docs/BENCHMARKS.md: it cannot be seen from inside one test process, whose threads made their
/// arenas long before).
@Suite("Memory budget")
struct MemoryBudgetTests {
    @Test("glibc takes the two-arena cap that `hanaro serve` sets first thing")
    func arenasCapped() {
        #if canImport(Glibc)
        #expect(MemoryBudget.limitMallocArenas())
        #else
        #expect(!MemoryBudget.limitMallocArenas())
        #endif
    }
}
