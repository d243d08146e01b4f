public import Foundation
import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// The symmetric key that encrypts referral personal fields at rest (AES-256-GCM).
///
/// It lives in its own file, outside the database, readable by the service user only: a copied
/// database file without the key file reveals no name or phone. The file holds 32 random bytes,
/// hex-encoded (64 characters, optional trailing newline).
// `SymmetricKey` is an immutable value that swift-crypto 3.12 does not yet mark Sendable.
public struct ReplicaKey: @unchecked Sendable {
    let key: SymmetricKey

    /// A key from raw bytes (32 bytes). For tests and tools; nodes use ``load(from:)``.
    public init(bytes: some ContiguousBytes) throws(StoreError) {
        let key = SymmetricKey(data: bytes)
        guard key.bitCount == 256 else {
            throw StoreError(.keyFile, "a replica key is 32 bytes; got \(key.bitCount / 8)")
        }
        self.key = key
    }

    /// A fresh random key (not written anywhere).
    public static func random() -> ReplicaKey {
        ReplicaKey(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) { self.key = key }

    /// Loads the key file, refusing one that group or others can read.
    /// - Throws: ``StoreError`` `.keyFile` naming the file and the fix.
    public static func load(from path: String) throws(StoreError) -> ReplicaKey {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw StoreError(.keyFile, "cannot read the replica key file \(path): it does not exist or is not accessible; create it with `hanaro keygen --out \(path)`")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard mode & 0o077 == 0 else {
            throw StoreError(.keyFile, "the replica key file \(path) is readable by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              text.count == 64, let bytes = Self.hexBytes(text)
        else {
            throw StoreError(.keyFile, "the replica key file \(path) must hold 64 hex characters (32 bytes); recreate it with `hanaro keygen`")
        }
        return try ReplicaKey(bytes: bytes)
    }

    /// Writes a new random key file with mode 0600, refusing to overwrite an existing one (which
    /// would make every stored personal field unreadable).
    /// - Throws: ``StoreError`` `.keyFile`.
    @discardableResult
    public static func create(at path: String) throws(StoreError) -> ReplicaKey {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.keyFile, "the key file \(path) already exists; a new key would make stored personal fields unreadable, so it is not overwritten")
        }
        let key = ReplicaKey.random()
        let hex = key.key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } + "\n"
        if let reason = SecretFile.create(path, contents: Array(hex.utf8)) {
            throw StoreError(.keyFile, "cannot create the key file \(path): \(reason); check that its directory exists and is writable")
        }
        return key
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }

    /// Encrypts `plaintext`, binding it to `context` (the record key) so that a sealed blob
    /// cannot be moved to another record unnoticed. Output: nonce ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8], context: String) throws(StoreError) -> Data {
        do {
            return try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8)).combined!
        } catch {
            throw StoreError(.decryption, "cannot encrypt personal fields", cause: error)
        }
    }

    /// A keyed fingerprint (HMAC-SHA-256) of a payload, for de-duplication without storing a
    /// plain hash of data that may be personal.
    func fingerprint(_ payload: [UInt8]) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: payload, using: key))
    }

    /// Decrypts what ``seal(_:context:)`` produced for the same context.
    /// - Throws: `.decryption` when the key or the context does not match.
    func open(_ sealed: Data, context: String) throws(StoreError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Data(context.utf8)))
        } catch {
            throw StoreError(.decryption, "personal fields of \(context) do not decrypt: this replica was opened with another key file than the one that wrote it")
        }
    }
}

/// A new file holding a secret (a key).
enum SecretFile {
    /// Creates `path` with `contents`: O_EXCL with mode 0600 from the first byte — never readable by
    /// others, never a race with another writer, never an overwrite — and synced to disk.
    /// - Returns: nil when written, else why not.
    static func create(_ path: String, contents: [UInt8]) -> String? {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { return errno == EEXIST ? "it already exists (never overwritten)" : String(cString: strerror(errno)) }
        defer { close(fd) }
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == contents.count, fsync(fd) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }
}
