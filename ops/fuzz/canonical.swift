// libFuzzer target: the canonical reader (the federation's wire form of a record version).
// Whatever the bytes, decoding throws a ValidationError or yields a version that validates or
// not; it never traps, and a decoded version's canonical form decodes to the same version and
// re-encodes to itself (the reader tolerates some non-canonical orderings of the input — sets
// and registers are normalised on decode — but never changes meaning).
// Built by ops/fuzz/run.sh with HanaroCore's sources: swiftc -sanitize=fuzzer,address.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCanonical(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let version = try? RecordVersion(canonicalBytes: bytes) else { return 0 }
    _ = try? version.validate()
    let canonical = version.canonicalBytes
    guard let again = try? RecordVersion(canonicalBytes: canonical) else { fatalError("a decoded version's canonical form does not decode") }
    if again != version || again.canonicalBytes != canonical { fatalError("a decoded version's canonical form is not stable") }
    return 0
}
