public import Foundation

/// Runs a program to its end (curl, gzip, the `hanaro` binary...): its exit status, standard
/// output and standard error. Both pipes are read before waiting, so a large output cannot block
/// the program on a full pipe.
public func runToEnd(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: Data) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, stdout, stderr)
}
