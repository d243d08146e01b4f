import Foundation
import HanaroTesting
import Testing

/// Runs the built `hanaro` executable as a real process.
struct Hanaro {
    static var executable: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ].map { $0.appendingPathComponent("hanaro") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let (status, stdout, stderr) = try runToEnd(executable, arguments)
        return Result(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `hanaro` with a standard output whose reader is already gone (every write is EPIPE);
    /// returns how it ended.
    static func runIntoClosedPipe(_ arguments: [String]) throws -> (reason: Process.TerminationReason, status: Int32) {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = pipe.fileHandleForWriting
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus)
    }

    /// `hanaro <arguments> | head -c 10` in bash; returns hanaro's own exit status (`PIPESTATUS`;
    /// 128+n when a signal n ended it) and what head printed.
    static func runIntoHead(_ arguments: [String]) throws -> (status: Int32, head: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #""$@" | head -c 10; echo; exit "${PIPESTATUS[0]}""#, "hanaro", executable.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text.trimmingCharacters(in: .newlines))
    }
}

@Suite("hanaro CLI")
struct CLITests {
    @Test("hanaro demo converges six nodes and exits 0")
    func demo() throws {
        let result = try Hanaro.run(["demo", "--duration", "20s", "--programs", "100"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("converged: all six nodes hold digest"))
        #expect(result.stdout.contains("conflict resolved by an admin: ") && !result.stdout.contains("resolved by an admin: no"))
        #expect(result.stdout.contains("every node exited 0 on SIGTERM"))
        // Personal fields never reach the output.
        #expect(!result.stdout.contains("010-"))
        // It says where its Agency API listens and where the token is (8080 unless taken).
        #expect(result.stdout.contains("the Agency API (kamco's node): http://127.0.0.1:") && result.stdout.contains("/api-token"), "\(result.stdout)")
    }

    @Test("hanaro tokens add: a last line without its newline stays whole; a closed standard output adds nothing")
    func tokensAdd() throws {
        let dir = TemporaryDirectory("tokens")
        let file = dir.file("api-tokens")
        let first = try Hanaro.run(["tokens", "add", "--file", file, "--name", "a", "--scopes", "read"])
        #expect(first.status == 0)
        // An operator's edit left the last line without its newline.
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("b read sha256:\(String(repeating: "0", count: 64))".utf8))
        try handle.close()
        let added = try Hanaro.run(["tokens", "add", "--file", file, "--name", "c", "--scopes", "read,refer"])
        #expect(added.status == 0, "\(added.stderr)")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" } == ["a", "b", "c"], "\(lines)")
        #expect(lines.allSatisfy { $0.split(separator: " ").count == 3 })
        // A closed or full standard output: the token cannot be shown, so no client is added.
        for (name, redirect) in [("y", ">&-"), ("z", "> /dev/full")] {
            let closed = Process()
            closed.executableURL = URL(fileURLWithPath: "/bin/bash")
            closed.arguments = ["-c", "'\(Hanaro.executable.path)' tokens add --file '\(file)' --name \(name) --scopes read \(redirect) 2>/dev/null; echo $? >&2"]
            let err = Pipe()
            closed.standardError = err
            closed.standardOutput = FileHandle.nullDevice
            try closed.run()
            let status = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            closed.waitUntilExit()
            #expect(status == "1", "\(redirect): exit \(status)")
            #expect(!(try String(contentsOfFile: file, encoding: .utf8)).contains("\(name) read"), "\(redirect)")
        }
        #expect(!(try String(contentsOfFile: file, encoding: .utf8)).contains("hnr_"), "a token was printed into the tokens file")
        // Any command started without standard output writes nothing into the files it creates.
        let key = dir.file("semas-signing.key")
        let keys = Process()
        keys.executableURL = URL(fileURLWithPath: "/bin/bash")
        keys.arguments = ["-c", "'\(Hanaro.executable.path)' keys generate --agency semas --out '\(key)' >&- 2>&-"]
        try keys.run()
        keys.waitUntilExit()
        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        #expect(keyText.hasPrefix("PRIVATE+KEY+semas+") && keyText.split(separator: "\n").count == 1, "\(keyText.count) bytes")
    }

    @Test("hanaro demo without --duration stops on SIGTERM after its webhook receiver ran: the processes stop and the summary is printed (outside review, session 16: it ignored SIGTERM)")
    func demoStopsOnSIGTERM() async throws {
        let log = NSTemporaryDirectory() + "hanaro-demo-term-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let demo = try ChildProcess(Hanaro.executable, ["demo", "--programs", "100"], logPath: log)
        let delivered = await demo.line { $0.contains("webhook delivered to kamco's receiver") }
        #expect(delivered != nil, "\(demo.output.suffix(2000))")
        let exit = await demo.terminate(grace: .seconds(60))
        // Stopped early, it says whether the nodes had converged by then (exit 0) or not yet (1); never killed.
        #expect(exit.reason == .exit && exit.status <= 1, "\(exit) \(demo.output.suffix(1500))")
        #expect(demo.output.contains("every node exited 0 on SIGTERM") || demo.output.contains("every process was stopped"), "\(demo.output.suffix(1500))")
        #expect(!demo.output.contains(" error demo-webhooks"), "the receiver's own stop is not an error")
        // Its printed URL is one a client can send as is (percent-encoded, not raw UTF-8).
        #expect(demo.output.contains("/v1/programs?q=%EC%B0%BD%EC%97%85"), "\(demo.output.prefix(600))")
    }

    @Test("hanaro demo refuses a malformed duration with one line and a non-zero exit")
    func demoBadDuration() throws {
        let result = try Hanaro.run(["demo", "--duration", "soon"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--duration takes a positive duration"))
    }

    @Test("hanaro keygen writes an owner-only key and refuses to overwrite it")
    func keygen() throws {
        let path = NSTemporaryDirectory() + "hanaro-cli-\(UUID().uuidString).key"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Hanaro.run(["keygen", "--out", path])
        #expect(first.status == 0)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        #expect(contents.trimmingCharacters(in: .whitespacesAndNewlines).count == 64)
        let second = try Hanaro.run(["keygen", "--out", path])
        #expect(second.status == 1)
        #expect(second.stderr.split(separator: "\n").count == 1)
        #expect(second.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == contents)
    }

    @Test("a closed standard output (`hanaro … | head -c 10`) ends the command cleanly, never with a signal")
    func closedPipe() async throws {
        for arguments in [["version"], ["check-config", "--config", "/nonexistent.yaml"], ["--help"]] {
            #expect(try Hanaro.runIntoClosedPipe(arguments).reason == .exit, "\(arguments) died of a signal")
        }
    }

    @Test("hanaro version")
    func version() throws {
        let result = try Hanaro.run(["version"])
        #expect(result.status == 0 && result.stdout.hasPrefix("hanaro "))
    }
}
