import Foundation
import HanaroDaemon

/// Standard output for every command: plain writes that survive a closed pipe. SIGPIPE is
/// ignored at start (`hanaro status --json | head -c 10` must not kill the process with a
/// signal); a write to a closed pipe then fails with EPIPE, and the command stops quietly with
/// status 0 — the reader has what it wanted.
enum Output {
    /// Called once, first thing in `main`.
    static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Whether the process started with standard output closed (read before anything opens a file).
    static let standardOutputClosedAtStart: Bool = fcntl(STDOUT_FILENO, F_GETFD) == -1

    /// Called once, first thing in `main`: a standard descriptor the process started without is
    /// opened on /dev/null. Otherwise the first file a command opens (a key, a bundle, a tokens
    /// file) would become descriptor 1 or 2, and what the command prints would be written into it.
    static func holdStandardDescriptors() {
        _ = standardOutputClosedAtStart
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) == -1 {
            let null = open("/dev/null", descriptor == STDIN_FILENO ? O_RDONLY : O_WRONLY)
            if null >= 0, null != descriptor {
                dup2(null, descriptor)
                close(null)
            }
        }
    }

    /// Writes a line.
    static func line(_ text: String) { write(text + "\n") }

    /// Writes a line to standard error (prefixed `hanaro: `).
    static func error(_ text: String) { FileHandle.standardError.write(Data("hanaro: \(text)\n".utf8)) }

    /// Writes text as it is.
    static func write(_ text: String) { write(bytes: Array(text.utf8)) }

    /// Writes a value as pretty JSON (the admin API's encoding).
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { fail("cannot encode the answer as JSON") }
        write(bytes: Array(data) + [0x0A])
    }

    /// Writes every byte, retrying short writes; a closed reader ends the process quietly.
    static func write(bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                // EPIPE (the reader went away) or another error on stdout: nothing more to say.
                exit(errno == EPIPE ? 0 : 1)
            }
            offset += written
        }
    }
}
