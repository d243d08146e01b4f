public import Foundation

/// A temporary directory, owner-only (0700) whatever the umask, removed when the value goes away.
public final class TemporaryDirectory: Sendable {
    public let path: String

    /// - Parameter label: a word in the directory's name, to find it when a test keeps it.
    public init(_ label: String = "test") {
        path = NSTemporaryDirectory() + "hanaro-\(label)-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // The mode given at creation is masked by the umask; set it again explicitly.
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        } catch {
            preconditionFailure("cannot create the temporary directory \(path): \(error)")
        }
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates a subdirectory, owner-only.
    @discardableResult
    public func directory(_ name: String) throws -> String {
        let sub = file(name)
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: sub)
        return sub
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
