import Foundation
import Logging
import Synchronization

/// The Agency API's clients as `api.tokens_file` lists them now: read again when the file
/// changes (its modification time, size or inode, checked at most once a second), so that
/// `hanaro tokens add` / `hanaro tokens remove` — or an operator's edit — take effect without a
/// restart, and a leaked token stops working as soon as its line is gone.
///
/// A file that cannot be read, or is no longer owner-only, keeps the clients last read (and says
/// so in the log once): an accident to the file must not lock every agency system out. A file
/// that parses lists exactly the clients that work from then on; its bad lines are logged.
final class TokenFile: Sendable {
    struct State {
        var tokens: [APIToken]
        var signature: FileSignature?
        var checkedAt: ContinuousClock.Instant
        var warned = false
    }

    struct FileSignature: Equatable {
        var modified: Date
        var size: Int
        var inode: Int
        var mode: Int
    }

    static let interval: Duration = .seconds(1)

    let path: String?
    let logger: Logger
    let state: Mutex<State>

    init(path: String?, tokens: [APIToken], logger: Logger) {
        self.path = path
        self.logger = logger
        state = Mutex(State(tokens: tokens, signature: path.flatMap(Self.signature), checkedAt: .now))
    }

    static func signature(_ path: String) -> FileSignature? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let modified = attributes[.modificationDate] as? Date, let size = attributes[.size] as? Int,
              let inode = attributes[.systemFileNumber] as? Int, let mode = attributes[.posixPermissions] as? Int else { return nil }
        return FileSignature(modified: modified, size: size, inode: inode, mode: mode)
    }

    /// The clients now.
    func current() -> [APIToken] {
        guard let path else { return state.withLock { $0.tokens } }
        return state.withLock { state in
            let now = ContinuousClock.now
            guard now - state.checkedAt >= Self.interval else { return state.tokens }
            state.checkedAt = now
            let signature = Self.signature(path)
            guard signature != state.signature else { return state.tokens }
            guard let signature, signature.mode & 0o077 == 0,
                  let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                if !state.warned {
                    logger.error("api.tokens_file changed but cannot be used (missing, unreadable or not owner-only); the clients last read stay", metadata: ["file": "\(path)"])
                    state.warned = true
                }
                return state.tokens
            }
            let (tokens, problems) = APIToken.parse(text, file: path)
            for problem in problems { logger.error("api.tokens_file: a line is ignored", metadata: ["problem": "\(problem)"]) }
            state.tokens = tokens
            state.signature = signature
            state.warned = false
            logger.notice("api.tokens_file read again", metadata: ["clients": "\(tokens.count)"])
            return tokens
        }
    }
}
