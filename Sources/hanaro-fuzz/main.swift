// hanaro-fuzz TARGET [libFuzzer options] [CORPUS_DIR...]
//
// Built by ops/fuzz/run.sh with `-sanitize=fuzzer -DHANARO_FUZZ`: runs libFuzzer on one of the
// targets of HanaroFuzzTargets (wire-frames, canonical, semas, koreg, kodit, kamco, kinfa, ewpc,
// config); a broken property traps, so libFuzzer keeps the input.
// Built normally (as CI does): replays the files and directories given and exits 1 if any breaks a
// property, so a crash found by the fuzzer can be reproduced without the instrumented build.
import Foundation
import HanaroFuzzTargets

let arguments = CommandLine.arguments
// The target is the first argument, or HANARO_FUZZ_TARGET: libFuzzer re-runs this executable for
// -merge and -fork without our first argument, so run.sh also sets the variable.
let named = arguments.count >= 2 ? FuzzTarget(rawValue: arguments[1]) : nil
guard let target = named ?? ProcessInfo.processInfo.environment["HANARO_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:)) else {
    FileHandle.standardError.write(Data("usage: hanaro-fuzz TARGET [options] [CORPUS...]; TARGET is one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}
/// What follows the target name (everything, when the target came from the environment).
let rest = Array(arguments.dropFirst(named == nil ? 1 : 2))

#if HANARO_FUZZ
import CLibFuzzer

nonisolated(unsafe) var selected = target
// libFuzzer's archive carries a main that references this symbol; ours runs the driver instead.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { runOne(data, size) }

func runOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let broken = selected.run(bytes)
    if !broken.isEmpty { fatalError("\(selected.rawValue): \(broken.joined(separator: "; "))") }
    return 0
}

// libFuzzer reads argv[1...] as its own options and corpus directories: drop the target name.
var driverArguments = [arguments[0]] + rest
var cStrings: [UnsafeMutablePointer<CChar>?] = driverArguments.map { strdup($0) } + [nil]
var argc = CInt(driverArguments.count)
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> CInt in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in runOne(data, size) }
}
exit(status)
#else
var files = 0
var failures = 0
for path in rest {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("hanaro-fuzz: no such file or directory: \(path)\n".utf8))
        exit(2)
    }
    let names = isDirectory.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
    for name in names {
        guard let data = FileManager.default.contents(atPath: name) else { continue }
        files += 1
        let broken = target.run(Array(data))
        if !broken.isEmpty {
            failures += 1
            print("\(name): \(broken.joined(separator: "; "))")
        }
    }
}
print("hanaro-fuzz \(target.rawValue): \(files) inputs replayed, \(failures) broke a property")
exit(failures == 0 ? 0 : 1)
#endif
