public import Foundation
import HanaroAdapters
import HanaroCore
import HanaroDaemon
import HanaroFederation
import HanaroStore
import HanaroEvidence
import NIOCore

/// The fuzz targets: every parser that reads bytes from outside the node. Each takes arbitrary
/// bytes and returns the properties it found broken (empty when all hold); a trap is a failure by
/// itself. `hanaro-fuzz` drives them under libFuzzer (`ops/fuzz/run.sh`); the test suite replays
/// their corpora (`ops/fuzz/corpus/<target>`).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The federation batch body: LEB128-framed signed versions (`WireFrames.decode`, then
    /// `SignedVersion(frame:)` and signature verification).
    case wireFrames = "wire-frames"
    /// One canonical record version (the federation's wire form of a record).
    case canonical
    /// The six native formats: one page (or daily export) of each agency's program list.
    case semas, koreg, kodit, kamco, kinfa, ewpc
    /// The node configuration file (YAML), loaded as `hanaro serve` loads it.
    case config
    /// A peer's checkpoint as a witness reads it (C2SP signed note, checkpoint, audit line) and the
    /// body of `POST /v1/log/leaves`.
    case logCheckpoint = "log-checkpoint"
    /// An evidence bundle, as `hanaro evidence verify` reads a file from anyone.
    case evidenceBundle = "evidence-bundle"

    /// Runs the target on `bytes`.
    public func run(_ bytes: [UInt8]) -> [String] {
        switch self {
        case .wireFrames: Self.wireFrames(bytes)
        case .canonical: Self.canonical(bytes)
        case .config: Self.config(bytes)
        case .logCheckpoint: Self.logCheckpoint(bytes)
        case .evidenceBundle: Self.evidenceBundle(bytes)
        case .semas, .koreg, .kodit, .kamco, .kinfa, .ewpc: Self.native(AgencyID(rawValue: rawValue)!, bytes)
        }
    }

    /// Decoding never traps; what decodes re-encodes to frames that decode to the same frames, no
    /// more than the cap; every frame goes on to the canonical reader.
    static func wireFrames(_ bytes: [UInt8]) -> [String] {
        guard let frames = try? WireFrames.decode(ByteBuffer(bytes: bytes), maxFrames: 10_000) else { return [] }
        var broken: [String] = []
        if frames.count > 10_000 { broken.append("decoded \(frames.count) frames past a cap of 10000") }
        if frames.contains(where: { $0.count > WireFrames.maxFrameBytes }) { broken.append("a frame over the size limit was accepted") }
        if (try? WireFrames.decode(WireFrames.encode(frames))) != frames { broken.append("re-encoded frames decode differently") }
        for frame in frames { broken += signedFrame(frame) }
        return broken
    }

    /// A frame (a version and, optionally, its signature) decodes or throws; what decodes has a
    /// stable form, and verifying its signature against an empty key ring refuses, never traps.
    static func signedFrame(_ bytes: [UInt8]) -> [String] {
        guard let signed = try? SignedVersion(frame: bytes) else { return [] }
        let frame = signed.frame
        guard let again = try? SignedVersion(frame: frame) else { return ["a decoded frame's form does not decode"] }
        if again != signed || again.frame != frame { return ["a decoded frame's form is not stable"] }
        if (try? VersionAuthentication(signer: nil, keys: []).verify(signed)) != nil { return ["an empty key ring accepted a frame"] }
        return []
    }

    /// A decoded version validates or not, and its canonical form decodes to the same version and
    /// re-encodes to itself.
    static func canonical(_ bytes: [UInt8]) -> [String] {
        guard let version = try? RecordVersion(canonicalBytes: bytes) else { return [] }
        _ = try? version.validate()
        let encoded = version.canonicalBytes
        guard let again = try? RecordVersion(canonicalBytes: encoded) else { return ["a decoded version's canonical form does not decode"] }
        return again == version && again.canonicalBytes == encoded ? [] : ["a decoded version's canonical form is not stable"]
    }

    /// A page maps to records or throws an AdapterError; every record it maps belongs to the agency,
    /// passes the domain rules under its own key, and has a stable canonical form.
    static func native(_ agency: AgencyID, _ bytes: [UInt8]) -> [String] {
        guard let results = try? AgencyFormats.format(for: agency).mapProgramPage(bytes) else { return [] }
        var broken: [String] = []
        for case .success(let record) in results {
            if record.owner != agency { broken.append("a \(agency.rawValue) page mapped a record of \(record.owner.rawValue)") }
            do throws(ValidationError) {
                try record.validate(as: RecordKey(kind: .program, owner: record.owner, localID: record.nativeID))
            } catch {
                broken.append("mapped record \(record.nativeID) fails validation: \(error)")
            }
            if (try? ProgramRecord(canonicalBytes: record.canonicalBytes)) != record {
                broken.append("mapped record \(record.nativeID) has no stable canonical form")
            }
        }
        return broken
    }

    /// A note parses or not; what parses prints back to itself; a checkpoint in it re-parses to the
    /// same checkpoint; a witness with an empty key ring refuses it. The same bytes as a leaves
    /// body parse or are refused with a reason; what parses has 32-byte hashes and an agency's origin.
    static func logCheckpoint(_ bytes: [UInt8]) -> [String] {
        var broken: [String] = []
        if let note = try? SignedNote(parsing: bytes) {
            if (try? SignedNote(parsing: note.encoded)) != note { broken.append("a parsed note does not print back to itself") }
            if let checkpoint = try? HanaroEvidence.Checkpoint(parsing: note.text) {
                if (try? HanaroEvidence.Checkpoint(parsing: checkpoint.text)) != checkpoint { broken.append("a parsed checkpoint is not stable") }
                _ = TransparencyLog.parseAuditLine(checkpoint)
                _ = TransparencyLog.agency(ofOrigin: checkpoint.origin)
            }
            if (try? SignedNote.open(note.encoded, verifiers: [])) != nil { broken.append("a note opened with no key") }
        }
        switch WitnessRoutes.parseLeaves(bytes) {
        case .success(let body):
            if TransparencyLog.agency(ofOrigin: body.origin) == nil { broken.append("leaves of a non-agency origin were accepted") }
            if body.leaves.contains(where: { $0.hash.count != 32 }) { broken.append("a leaf hash of the wrong size was accepted") }
        case .failure(let refusal):
            if refusal.message.isEmpty { broken.append("leaves refused without a reason") }
        }
        return broken
    }

    /// Verification never traps, always says what failed, and says the same twice.
    static func evidenceBundle(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        let first = Replica.verifyEvidence(text, keys: nil), second = Replica.verifyEvidence(text, keys: nil)
        var broken: [String] = []
        if first.problem != second.problem { broken.append("two verifications of the same bundle disagree") }
        if let problem = first.problem, problem.isEmpty { broken.append("a bundle refused without a reason") }
        return broken
    }

    /// The loader never traps; a file it refuses yields at least one problem, each naming the file
    /// it is about: the node file, or an agency file of the directory it names.
    static func config(_ bytes: [UInt8]) -> [String] {
        let path = configDirectory + "/node.yaml"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            return ["cannot write \(path)"]
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do throws(ConfigurationError) {
                _ = try await NodeConfiguration.load(from: path, environment: [:])
            } catch {
                outcome.problems = error.problems
                outcome.refused = true
            }
            done.signal()
        }
        done.wait()
        guard outcome.refused else { return [] }
        if outcome.problems.isEmpty { return ["the loader refused the file without naming a problem"] }
        return outcome.problems.filter { !$0.hasPrefix(path + ":") && !($0.hasPrefix("/") && $0.contains(".yaml: ")) }
            .map { "a problem does not name its file: \($0)" }
    }

    private final class Outcome: @unchecked Sendable {
        var problems: [String] = []
        var refused = false
    }

    /// A private directory for the configuration target's file (one per process).
    private static let configDirectory: String = {
        let path = NSTemporaryDirectory() + "hanaro-fuzz-config-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }()
}
