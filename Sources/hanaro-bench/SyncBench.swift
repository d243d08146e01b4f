import ArgumentParser
import Foundation
import HanaroCore
import HanaroFederation
import HanaroFixtures
import HanaroStore
import Logging
import ServiceLifecycle

/// `hanaro-bench sync`: replication between two nodes over mutual TLS on loopback.
///
/// - initial sync: a `hanaro serve` process for kodit holds N records (4 programs : 1 referral,
///   ~545 bytes); a semas node in this process pulls them all. Wall time, records/s, bytes on the
///   wire (response bodies), each node's peak RSS (the source's from /proc, the sink's own).
/// - catch-up: while semas does not pull (a partition), a writer process updates M of kodit's
///   records; then semas pulls them. Records/s.
/// - propagation: a kodit node and a semas node in this process; kodit commits one change per
///   transaction at the given rate while semas long-polls; latency from commit to applied on
///   semas, p50/p99.
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Initial sync, catch-up and propagation latency between two nodes over mTLS.")

    @Option(help: "Records for the initial sync.") var records = 1_000_000
    @Option(help: "Updates for the catch-up.") var updates = 200_000
    @Option(help: "Changes per second for the propagation test.") var rate = 1_000
    @Option(help: "Seconds of the propagation test.") var seconds = 10
    @Option(help: "Versions per pull.") var pageSize = 5_000
    @Flag(inversion: .prefixedNo, help: "Ask for gzip pages in the initial sync and the catch-up (federation.compress_pages).") var compress = true
    @Flag(help: "Only the initial sync and the catch-up (no signature-cost runs, no propagation).") var syncOnly = false
    @Flag(help: "Only the signature-cost runs (issue 11's rows: in-process pulls with and without signatures, through a relay).") var signatureCostOnly = false

    func run() async throws {
        print("# hanaro-bench sync --records \(records) --updates \(updates) --rate \(rate) --seconds \(seconds) --page-size \(pageSize)" + (compress ? "" : " --no-compress") + (syncOnly ? " --sync-only" : "") + (signatureCostOnly ? " --signature-cost-only" : ""))
        // The in-process sink stands for a node: the same allocator setting as `hanaro serve`.
        MemoryBudget.limitMallocArenas()
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let dir = NSTemporaryDirectory() + "hanaro-sync-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/agencies", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/data-kodit", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try DevelopmentPKI.createCA(in: dir)
        try DevelopmentPKI.issue(for: .kodit, in: dir)
        try DevelopmentPKI.issue(for: .semas, in: dir)
        let semasKey = try DevelopmentPKI.signingKey(for: .semas, in: dir)
        let port = 20_000 + Int.random(in: 0..<20_000)
        let koditKey = try DevelopmentPKI.signingKey(for: .kodit, in: dir)
        try "id: kodit\nfederation:\n  url: https://127.0.0.1:\(port)\nsigning_keys: [\"\(koditKey.verifier.text)\"]\n".write(toFile: dir + "/agencies/kodit.yaml", atomically: true, encoding: .utf8)
        try "id: semas\nsigning_keys: [\"\(semasKey.verifier.text)\"]\n".write(toFile: dir + "/agencies/semas.yaml", atomically: true, encoding: .utf8)
        try """
        node:
          agency: kodit
          data_dir: data-kodit
        federation:
          listen: 127.0.0.1:\(port)
          certificate: kodit.pem
          private_key: kodit-key.pem
          ca: federation-ca.pem
          page_size: \(pageSize)
        """.write(toFile: dir + "/kodit.yaml", atomically: true, encoding: .utf8)
        let source = dir + "/data-kodit/replica.sqlite", sourceKey = dir + "/data-kodit/replica.key"
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if signatureCostOnly { return try await signatureCost(dir: dir, bin: bin) }

        // Seed the source in a child process (keeps this process's RSS the sink's own).
        let seedStart = monotonicSeconds()
        let koditSigning = dir + "/kodit-signing.key"
        try runChild(bin.appendingPathComponent("hanaro-bench"), ["sync-seed", "--path", source, "--key", sourceKey, "--records", String(records), "--signing-key", koditSigning])
        print(String(format: "seeded kodit with %d records in %.1f s", records, monotonicSeconds() - seedStart))

        let server = Process()
        server.executableURL = bin.appendingPathComponent("hanaro")
        server.arguments = ["serve", "--config", dir + "/kodit.yaml", "--log-level", "error"]
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }

        let tls = try TLSMaterial(certificatePath: dir + "/semas.pem", keyPath: dir + "/semas-key.pem", caPath: dir + "/federation-ca.pem")
        let client = PeerClient(tls: tls, compressPages: compress)
        // The sink verifies every version, as semas's node does.
        var verifying = nodeOptions()
        verifying.authentication = VersionAuthentication(signer: semasKey, keys: [koditKey.verifier, semasKey.verifier])
        let sink = try Replica(path: dir + "/sink.sqlite", key: try ReplicaKey.create(at: dir + "/sink.key"), options: verifying)
        let link = PeerLink(peer: .kodit, localAgency: .semas, url: "https://127.0.0.1:\(port)", client: client, replica: sink, logger: Logger(label: "bench"), pageSize: pageSize)
        // Wait for the server to listen.
        for _ in 0..<100 {
            if (try? await client.pull(from: link.url, after: PeerCursor(epoch: nil, seq: Int64.max / 2), limit: 1, waitMilliseconds: 0)) != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }

        // Initial sync.
        var t0 = monotonicSeconds()
        while true {
            try await link.catchUp()
            let summary = try await sink.summary()
            if summary.programs + summary.referrals >= Int64(records) { break }
        }
        let initialSeconds = monotonicSeconds() - t0
        let initialBytes = link.status.bytesReceived
        let sourceRSS = peakRSS(pid: server.processIdentifier)
        print(String(format: "initial sync: %d records in %.2f s = %.0f records/s; %.1f MB on the wire (%.0f B/record); peak RSS source %.1f MB, sink %.1f MB",
                     records, initialSeconds, Double(records) / initialSeconds, Double(initialBytes) / 1_048_576,
                     Double(initialBytes) / Double(records), Double(sourceRSS) / 1_048_576, Double(peakRSSBytes()) / 1_048_576))

        // Catch-up after a partition.
        try runChild(bin.appendingPathComponent("hanaro-bench"), ["sync-update", "--path", source, "--key", sourceKey, "--updates", String(updates), "--signing-key", koditSigning])
        let appliedBefore = link.status.applied
        t0 = monotonicSeconds()
        while link.status.applied - appliedBefore < updates {
            try await link.catchUp()
        }
        let catchUpSeconds = monotonicSeconds() - t0
        print(String(format: "catch-up: %d updates in %.2f s = %.0f records/s; peak RSS source %.1f MB, sink %.1f MB",
                     updates, catchUpSeconds, Double(updates) / catchUpSeconds,
                     Double(peakRSS(pid: server.processIdentifier)) / 1_048_576, Double(peakRSSBytes()) / 1_048_576))
        #if DEBUG
        print("(debug build: figures are not representative)")
        #endif
        let digestsAgree = try await sink.digest() == (try await Replica(path: source, key: try ReplicaKey.load(from: sourceKey), options: nodeOptions()).digest())
        print("digests agree after catch-up: \(digestsAgree)")
        server.terminate()
        server.waitUntilExit()
        await client.shutdown()

        if syncOnly { return }
        try await signatureCost(dir: dir, bin: bin)
        try await propagation(dir: dir)
    }

    /// The cost of signatures, same run: one seed signed and one not, each served by an in-process
    /// federation server and pulled by a sink that verifies or not; then the signed records pulled
    /// again through a relay (every record arrives relayed, and is verified there and at the sink).
    func signatureCost(dir: String, bin: URL) async throws {
        try DevelopmentPKI.issue(for: .kamco, in: dir)
        let keys = try [AgencyID.kodit, .semas, .kamco].map { try DevelopmentPKI.signingKey(for: $0, in: dir) }
        func authentication(_ agency: AgencyID) -> VersionAuthentication {
            VersionAuthentication(signer: keys.first { $0.agency == agency }, keys: keys.map(\.verifier))
        }
        func replica(_ name: String, _ auth: VersionAuthentication?) throws -> Replica {
            var options = nodeOptions()
            options.authentication = auth
            let key = dir + "/\(name).key"
            return try Replica(path: dir + "/\(name).sqlite", key: FileManager.default.fileExists(atPath: key) ? try ReplicaKey.load(from: key) : try ReplicaKey.create(at: key), options: options)
        }
        for (name, signed) in [("cost-unsigned", false), ("cost-signed", true)] {
            var arguments = ["sync-seed", "--path", dir + "/\(name).sqlite", "--key", dir + "/\(name).key", "--records", String(records)]
            if signed { arguments += ["--signing-key", dir + "/kodit-signing.key"] }
            try runChild(bin.appendingPathComponent("hanaro-bench"), arguments)
        }
        /// Serves `source` as `server` and pulls it all into `sink` as `client`: seconds, bytes.
        func timedPull(_ source: Replica, as server: AgencyID, into sink: Replica, as client: AgencyID, compress: Bool = true) async throws -> (Double, Int) {
            let tls = { (agency: AgencyID) in try TLSMaterial(certificatePath: dir + "/\(agency.rawValue).pem", keyPath: dir + "/\(agency.rawValue)-key.pem", caPath: dir + "/federation-ca.pem") }
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = try PeerServer.application(replica: source, tls: try tls(server), policy: PeerPolicy(localAgency: server, peers: [client: nil]),
                                                 host: "127.0.0.1", port: 0, logger: Logger(label: "bench"), onRunning: { continuation.yield($0) })
            let task = Task { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            let peerClient = PeerClient(tls: try tls(client), compressPages: compress)
            let link = PeerLink(peer: server, localAgency: client, url: "https://127.0.0.1:\(port)", client: peerClient, replica: sink, logger: Logger(label: "bench"), pageSize: pageSize)
            let start = monotonicSeconds()
            try await link.catchUp()
            let seconds = monotonicSeconds() - start
            task.cancel()
            _ = try? await task.value
            await peerClient.shutdown()
            return (seconds, link.status.bytesReceived)
        }
        let unsignedSource = try replica("cost-unsigned", nil), signedSource = try replica("cost-signed", authentication(.kodit))
        let (off, offBytes) = try await timedPull(unsignedSource, as: .kodit, into: try replica("cost-sink-off", nil), as: .semas)
        let onSink = try replica("cost-sink-on", authentication(.semas))
        let (on, onBytes) = try await timedPull(signedSource, as: .kodit, into: onSink, as: .semas)
        let relay = try replica("cost-relay", authentication(.kamco))
        _ = try await timedPull(signedSource, as: .kodit, into: relay, as: .kamco)
        let relayedSink = try replica("cost-sink-relayed", authentication(.semas))
        let (relayed, relayedBytes) = try await timedPull(relay, as: .kamco, into: relayedSink, as: .semas)
        // The same two pulls with pages uncompressed (federation.compress_pages: false).
        let (plainOff, plainOffBytes) = try await timedPull(unsignedSource, as: .kodit, into: try replica("cost-sink-off-plain", nil), as: .semas, compress: false)
        let (plainOn, plainOnBytes) = try await timedPull(signedSource, as: .kodit, into: try replica("cost-sink-on-plain", authentication(.semas)), as: .semas, compress: false)
        let n = Double(records)
        print(String(format: "pages uncompressed: signatures off %.2f s = %.0f records/s, %.0f B/record; on %.2f s = %.0f records/s, %.0f B/record (%.2fx, +%.0f B/record)",
                     plainOff, n / plainOff, Double(plainOffBytes) / n, plainOn, n / plainOn, Double(plainOnBytes) / n, plainOff / plainOn, Double(plainOnBytes - plainOffBytes) / n))
        print(String(format: "signatures off: %d records in %.2f s = %.0f records/s, %.0f B/record (in-process server)", records, off, n / off, Double(offBytes) / n))
        print(String(format: "signatures on:  %d records in %.2f s = %.0f records/s, %.0f B/record; %.2fx the rate without, +%.0f B/record",
                     records, on, n / on, Double(onBytes) / n, off / on, Double(onBytes - offBytes) / n))
        print(String(format: "through a relay (signed, verified at the relay and again at the sink; the relay's own pull not timed): %.2f s = %.0f records/s; %.2fx the rate without signatures",
                     relayed, n / relayed, off / relayed))
        let quarantinedOn = try await onSink.summary().quarantined, quarantinedRelayed = try await relayedSink.summary().quarantined
        let quarantined = quarantinedOn + quarantinedRelayed
        let sourceDigest = try await signedSource.digest(), onDigest = try await onSink.digest(), relayedDigest = try await relayedSink.digest()
        let agree = onDigest == sourceDigest && relayedDigest == sourceDigest
        print("signed runs: digests agree with the source: \(agree); quarantined: \(quarantined)")
    }

    /// One-hop propagation latency at `rate` changes/s, both nodes in this process.
    func propagation(dir: String) async throws {
        let kodit = try Replica(path: dir + "/p-kodit.sqlite", key: try ReplicaKey.create(at: dir + "/p-kodit.key"), options: nodeOptions())
        let semas = try Replica(path: dir + "/p-semas.sqlite", key: try ReplicaKey.create(at: dir + "/p-semas.key"), options: nodeOptions())
        let koditTLS = try TLSMaterial(certificatePath: dir + "/kodit.pem", keyPath: dir + "/kodit-key.pem", caPath: dir + "/federation-ca.pem")
        let semasTLS = try TLSMaterial(certificatePath: dir + "/semas.pem", keyPath: dir + "/semas-key.pem", caPath: dir + "/federation-ca.pem")
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try PeerServer.application(replica: kodit, tls: koditTLS, policy: PeerPolicy(localAgency: .kodit, peers: [.semas: nil]),
                                             host: "127.0.0.1", port: 0, logger: Logger(label: "bench"), onRunning: { continuation.yield($0) })
        let server = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        let client = PeerClient(tls: semasTLS)
        let link = PeerLink(peer: .kodit, localAgency: .semas, url: "https://127.0.0.1:\(port)", client: client, replica: semas, logger: Logger(label: "bench"))
        let total = rate * seconds
        let start = monotonicSeconds()
        // The sink: long-polls, and after each pull reads what arrived and when.
        let sinkTask = Task { () -> [Double] in
            var latencies: [Double] = []
            var cursor: Int64 = 0
            let giveUp = monotonicSeconds() + Double(seconds) + 30
            while latencies.count < total && monotonicSeconds() < giveUp {
                try await link.syncOnce(waitMilliseconds: 1_000)
                let arrived = monotonicSeconds() - start
                while true {
                    let page = try await semas.changes(after: cursor, limit: 5_000)
                    for change in page.changes {
                        if let sent = change.version.program.flatMap({ Double($0.title.dropFirst(4)) }) { latencies.append(arrived - sent / 1_000_000) }
                    }
                    cursor = page.nextCursor
                    if !page.hasMore { break }
                }
            }
            return latencies
        }
        // The writer: one change per transaction, paced to `rate`.
        var data = SyntheticData(seed: 9)
        let base = data.program(owner: .kodit, nativeID: "x")
        for i in 0..<total {
            let due = Double(i) / Double(rate)
            let wait = due - (monotonicSeconds() - start)
            if wait > 0 { try await Task.sleep(for: .microseconds(Int(wait * 1_000_000))) }
            var content = base
            content.nativeID = "lat-\(i)"
            // Whole microseconds: a long decimal could look like a 주민등록번호 and be refused.
            content.title = "lat:" + String(Int((monotonicSeconds() - start) * 1_000_000))
            try await kodit.author([AuthoredEdit(key: content.key, edit: .publishProgram(content))], by: .kodit)
        }
        let writeSeconds = monotonicSeconds() - start
        let latencies = try await sinkTask.value.sorted()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
        print(String(format: "propagation: %d changes at %.0f changes/s achieved, %d delivered; one-hop latency p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                     total, Double(total) / writeSeconds, latencies.count, percentile(0.50), percentile(0.99), (latencies.last ?? 0) * 1000))
        server.cancel()
        _ = try? await server.value
        await client.shutdown()
    }

    func runChild(_ executable: URL, _ arguments: [String]) throws {
        let child = Process()
        child.executableURL = executable
        child.arguments = arguments
        try child.run()
        child.waitUntilExit()
        guard child.terminationStatus == 0 else { throw ValidationError("\(arguments[0]) failed (exit \(child.terminationStatus))") }
    }

    /// Peak RSS of another process (VmHWM), in bytes.
    func peakRSS(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
    }
}

/// Opens a replica that signs as the key's agency, or not at all. (Not inlined: Swift 6.3.1's
/// optimizer crashed splitting the async `run` of the seeding children with it inlined.)
@inline(never)
func openSigning(path: String, key: ReplicaKey, signingKey: String?) throws -> Replica {
    try Replica(path: path, key: key, options: try signingOptions(signingKey))
}

/// A replica's options as a node without the Agency API has them (`api.listen` unset: no search
/// index or webhook matching in the write path, as `Node` sets it).
func nodeOptions() -> Replica.Options {
    var options = Replica.Options()
    options.agencyAPI = false
    return options
}

/// A replica that signs as the key's agency, or not at all.
func signingOptions(_ path: String?) throws -> Replica.Options {
    var options = nodeOptions()
    if let path {
        // As a node: it knows every agency's public key (its agency files), so each referral it
        // authors carries the personal part sealed to the target (docs/EVIDENCE.md).
        let directory = (path as NSString).deletingLastPathComponent
        let others = try AgencyID.allCases.map { try DevelopmentPKI.signingKey(for: $0, in: directory).verifier }
        options.authentication = VersionAuthentication(signer: try AgencySigningKey(text: try String(contentsOfFile: path, encoding: .utf8)), keys: others)
    }
    return options
}

/// Child of `sync`: fills the source replica.
struct SyncSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync-seed", shouldDisplay: false)
    @Option var path: String
    @Option var key: String
    @Option var records: Int
    @Option(help: "kodit's signing key: sign every version, as kodit's node does (none: unsigned).") var signingKey: String?

    func run() async throws {
        let replica = try openSigning(path: path, key: try ReplicaKey.create(at: key), signingKey: signingKey)
        var data = SyntheticData(seed: 77)
        var start = 0
        while start < records {
            let edits = (start..<min(start + 5_000, records)).map { i -> AuthoredEdit in
                let id = String(format: "%09d", i)
                if i % 5 == 4 {
                    var draft = data.referralDraft(origin: .kodit, referralID: id)
                    if draft.target == .semas { draft.target = .kamco; draft.consent?.recipient = .kamco }
                    return AuthoredEdit(key: RecordKey(kind: .referral, owner: .kodit, localID: id), edit: .createReferral(draft))
                }
                let content = data.program(owner: .kodit, nativeID: id)
                return AuthoredEdit(key: content.key, edit: .publishProgram(content))
            }
            try await replica.author(edits, by: .kodit, source: .adapter(.kodit))
            start += 5_000
        }
    }
}

/// Child of `sync`: updates programs of the source replica while the sink is not pulling.
struct SyncUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync-update", shouldDisplay: false)
    @Option var path: String
    @Option var key: String
    @Option var updates: Int
    @Option var signingKey: String?

    func run() async throws {
        let replica = try openSigning(path: path, key: try ReplicaKey.load(from: key), signingKey: signingKey)
        var data = SyntheticData(seed: 78)
        var done = 0, i = 0
        while done < updates {
            var edits: [AuthoredEdit] = []
            while edits.count < 5_000 && done + edits.count < updates {
                if i % 5 != 4 {
                    let content = data.program(owner: .kodit, nativeID: String(format: "%09d", i), revision: 1)
                    edits.append(AuthoredEdit(key: content.key, edit: .publishProgram(content)))
                }
                i += 1
            }
            try await replica.author(edits, by: .kodit, source: .adapter(.kodit))
            done += edits.count
        }
    }
}
