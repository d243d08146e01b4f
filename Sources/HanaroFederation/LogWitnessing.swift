import Foundation
import AsyncHTTPClient
import Hummingbird
public import HanaroCore
public import HanaroStore
public import Logging
import NIOCore
import NIOHTTP1
public import Synchronization

/// The witness protocol on the federation port (docs/EVIDENCE.md). Like C2SP tlog-witness's
/// `add-checkpoint`, but a Hanaro witness is also a mirror: the log's author sends it the leaf
/// hashes, and the witness checks a new checkpoint by recomputing the root over the leaves it
/// already cosigned plus the new ones. It then holds every agency's tree, so any node can prove
/// the inclusion of a version it holds, offline (`hanaro evidence export`).
///
/// - `POST /v1/log/leaves` (JSON `{"origin", "from", "leaves": [{"kind", "ref", "hash"}]}`, the
///   RFC 6962 leaf hash in base64): appends to the mirror when `from` is its size → 200
///   `{"size": n}`; otherwise 409 `{"size": n}` (send from there); 422 refused (a ninth log of
///   one agency, a malformed leaf).
/// - `POST /v1/log/checkpoint` (the signed note) → 200 with the cosignature line; 409
///   `{"size": n}` when leaves are missing; 409 `{"size": n, "cosigned": true}` when it is older
///   than the checkpoint of `n` leaves this witness cosigned and consistent with it (nothing to
///   do, as C2SP tlog-witness answers an old checkpoint); 422 refused (reason); 409
///   `{"equivocation": reason}` when it contradicts a checkpoint this witness cosigned.
/// Only the log's own agency (its client certificate) may send either.
public enum WitnessRoutes {
    static let maxLeavesPerRequest = 5_000

    struct LeavesBody: Codable {
        struct Leaf: Codable {
            var kind: String
            var ref: String
            var hash: String
        }
        var origin: String
        var from: Int64
        var leaves: [Leaf]
    }

    static func add<Context: PeerIdentityContext>(to router: Router<Context>, replica: Replica) {
        router.post("/v1/log/leaves") { request, context -> Response in
            guard let peer = context.peer else { throw HTTPError(.unauthorized, message: "no peer identity") }
            var request = request
            let buffer = try await request.collectBody(upTo: 8 << 20)
            let parsed: (origin: String, from: Int64, leaves: [LogLeaf])
            switch parseLeaves(Array(buffer.readableBytesView)) {
            case .success(let value): parsed = value
            case .failure(let refusal): throw HTTPError(refusal.status, message: refusal.message)
            }
            guard TransparencyLog.agency(ofOrigin: parsed.origin) == peer else {
                throw HTTPError(.forbidden, message: "\(peer.rawValue) may send only its own log's leaves")
            }
            do {
                let result = try await replica.mirrorLeaves(origin: parsed.origin, agency: peer, from: parsed.from, leaves: parsed.leaves)
                return json(result.accepted ? .ok : .conflict, "{\"size\":\(result.size)}")
            } catch let error as StoreError where error.code == .invalidRequest {
                return json(.unprocessableContent, "{\"error\":\(quoted(error.message))}")
            }
        }
        router.post("/v1/log/checkpoint") { request, context -> Response in
            guard let peer = context.peer else { throw HTTPError(.unauthorized, message: "no peer identity") }
            var request = request
            let buffer = try await request.collectBody(upTo: 64 << 10)
            switch try await replica.witness(note: String(buffer: buffer), from: peer) {
            case .cosigned(let line):
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: line)))
            case .needLeaves(let size):
                return json(.conflict, "{\"size\":\(size)}")
            case .alreadyCosigned(let size):
                return json(.conflict, "{\"size\":\(size),\"cosigned\":true}")
            case .refused(let reason):
                context.logger.warning("refused to cosign a checkpoint", metadata: ["reason": "\(reason)"])
                return json(.unprocessableContent, "{\"error\":\(quoted(reason))}")
            case .equivocation(let reason):
                context.logger.critical("a peer's log equivocated", metadata: ["reason": "\(reason)"])
                return json(.conflict, "{\"equivocation\":\(quoted(reason))}")
            }
        }
    }

    public struct LeavesRefusal: Error {
        var status: HTTPResponse.Status
        public var message: String
    }

    /// Reads a `POST /v1/log/leaves` body (outside bytes from a peer; a fuzz target).
    public static func parseLeaves(_ bytes: [UInt8]) -> Result<(origin: String, from: Int64, leaves: [LogLeaf]), LeavesRefusal> {
        guard let body = try? JSONDecoder().decode(LeavesBody.self, from: Data(bytes)) else {
            return .failure(.init(status: .badRequest, message: "expected {\"origin\", \"from\", \"leaves\": [{\"kind\", \"ref\", \"hash\"}]}"))
        }
        guard body.leaves.count <= maxLeavesPerRequest else {
            return .failure(.init(status: .contentTooLarge, message: "at most \(maxLeavesPerRequest) leaves per request"))
        }
        guard body.from >= 0, TransparencyLog.agency(ofOrigin: body.origin) != nil else {
            return .failure(.init(status: .badRequest, message: "origin must be hanaro/<agency>/<id> and from at least 0"))
        }
        var leaves: [LogLeaf] = []
        leaves.reserveCapacity(body.leaves.count)
        for leaf in body.leaves {
            guard let hash = Data(base64Encoded: leaf.hash), hash.count == 32, leaf.ref.utf8.count <= 300, leaf.kind == "version" || leaf.kind == "audit" else {
                return .failure(.init(status: .badRequest, message: "a leaf is version or audit, its hash base64 of 32 bytes and its ref at most 300 bytes"))
            }
            leaves.append(LogLeaf(kind: leaf.kind, ref: leaf.ref, hash: Array(hash)))
        }
        return .success((body.origin, body.from, leaves))
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// What a witness answered to a checkpoint.
enum WitnessAnswer: Sendable {
    case cosigned(String)
    case needLeaves(Int64)
    /// The witness cosigned a newer checkpoint (of this many leaves) that the offered one is consistent with.
    case newerCosigned(Int64)
    case refused(String)
    case equivocation(String)
}

extension PeerClient {
    /// Sends leaves of this agency's log to the witness at `baseURL`.
    /// - Returns: whether they were appended, and the witness's mirror size.
    func sendLeaves(_ leaves: [LogLeaf], origin: String, from: Int64, to baseURL: String) async throws(FederationError) -> (accepted: Bool, size: Int64) {
        let body = WitnessRoutes.LeavesBody(origin: origin, from: from, leaves: leaves.map {
            .init(kind: $0.kind, ref: $0.ref, hash: Data($0.hash).base64EncodedString())
        })
        var request = HTTPClientRequest(url: "\(baseURL)/v1/log/leaves")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Array((try? JSONEncoder().encode(body)) ?? Data())))
        let (status, headers, response) = try await send(request)
        guard status.code == 200 || status.code == 409,
              let object = try? JSONSerialization.jsonObject(with: Data(response.readableBytesView)) as? [String: Any], let size = (object["size"] as? NSNumber)?.int64Value else {
            throw Self.failure(status: status, headers: headers, body: response, peer: baseURL)
        }
        return (status.code == 200, size)
    }

    /// Offers a signed checkpoint to the witness at `baseURL`.
    func offerCheckpoint(_ note: String, to baseURL: String) async throws(FederationError) -> WitnessAnswer {
        var request = HTTPClientRequest(url: "\(baseURL)/v1/log/checkpoint")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: note))
        let (status, headers, response) = try await send(request)
        let object = (try? JSONSerialization.jsonObject(with: Data(response.readableBytesView))) as? [String: Any]
        switch status.code {
        case 200: return .cosigned(String(buffer: response))
        case 409:
            if let size = (object?["size"] as? NSNumber)?.int64Value {
                return object?["cosigned"] as? Bool == true ? .newerCosigned(size) : .needLeaves(size)
            }
            return .equivocation(object?["equivocation"] as? String ?? String(buffer: response))
        case 422: return .refused(object?["error"] as? String ?? String(buffer: response))
        default: throw Self.failure(status: status, headers: headers, body: response, peer: baseURL)
        }
    }
}

/// Keeps this agency's log checkpointed and cosigned: every `interval`, a new checkpoint when the
/// log grew, offered to every peer as witness (sending the leaves it lacks first); the
/// cosignatures are kept on the note. A final checkpoint is signed at shutdown.
public final class LogWitnessing: Sendable {
    public struct Witness: Sendable {
        public var agency: AgencyID
        public var url: String
        /// The certificate fingerprint its agency file pins (`federation.fingerprint`), if any.
        public var pin: String?
        public init(agency: AgencyID, url: String, pin: String? = nil) {
            self.agency = agency
            self.url = url
            self.pin = pin
        }
    }

    let replica: Replica
    let client: PeerClient
    let witnesses: [Witness]
    let interval: Duration
    let logger: Logger
    /// Whether this process started a new log after an equivocation report.
    let restartedLog = Mutex(false)
    /// The last problem per witness (nil once it cosigned).
    public let problems = Mutex<[AgencyID: String]>([:])

    public init(replica: Replica, client: PeerClient, witnesses: [Witness], interval: Duration, logger: Logger) {
        self.replica = replica
        self.client = client
        self.witnesses = witnesses
        self.interval = interval
        self.logger = logger
    }

    /// Runs until cancelled; then a last round — it signs a last checkpoint first and offers it to
    /// the witnesses for at most `finalRoundSeconds` (so that a copy of the file taken after a
    /// clean stop is anchored, cosigned, to its very end).
    public func run(finalRoundSeconds: Int = 3) async {
        while !Task.isCancelled {
            await round()
            try? await Task.sleep(for: interval)
        }
        // A fresh task: the cancelled one would have its database access refused.
        await Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.round() }
                group.addTask { try? await Task.sleep(for: .seconds(finalRoundSeconds)) }
                await group.next()
                group.cancelAll()
            }
        }.value
    }

    /// One round: checkpoint, then every witness that has not cosigned the newest one.
    public func round() async {
        let note: LogNote
        do {
            guard let made = try await replica.makeCheckpoint() else { return }
            note = made
        } catch {
            logger.error("could not sign a checkpoint of the log", metadata: ["reason": "\(error)"])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for witness in witnesses where !note.cosigners.contains(witness.agency) {
                group.addTask { await self.offer(note, to: witness) }
            }
        }
    }

    func offer(_ note: LogNote, to witness: Witness) async {
        do throws(FederationError) {
            // The server must be the witness's agency, by its certificate, as a pull link checks
            // (``PeerClient/checkServer(_:is:pin:)``): another agency answering on that address
            // must not be sent this log's leaves and checkpoint, nor be taken for the witness.
            try await client.checkServer(witness.url, is: witness.agency, pin: witness.pin)
            for _ in 0..<10 {
                switch try await client.offerCheckpoint(note.note, to: witness.url) {
                case .cosigned(let line):
                    do {
                        if try await replica.addCosignature(to: note.id, line: line, witness: witness.agency) {
                            _ = problems.withLock { $0.removeValue(forKey: witness.agency) }
                        } else {
                            problems.withLock { $0[witness.agency] = "its cosignature does not verify under its key in agencies/\(witness.agency.rawValue).yaml" }
                        }
                    } catch {
                        logger.error("could not keep a cosignature", metadata: ["witness": "\(witness.agency.rawValue)", "reason": "\(error.message)"])
                    }
                    return
                case .needLeaves(let size):
                    try await sendLeaves(note, from: size, to: witness)
                case .newerCosigned(let size):
                    // Not an equivocation: the witness holds a newer checkpoint of this log that
                    // this one is consistent with. Unless a newer one of ours exists (two rounds
                    // crossing), this file is behind what the witness cosigned — restored from an
                    // older copy — and extending it would fork the log: continue under a new one.
                    let newest = (try? await replica.ownCheckpoints(limit: 1).first?.size) ?? note.size
                    guard newest < size else { return }
                    problems.withLock { $0[witness.agency] = "holds a cosigned checkpoint of \(size) leaves of this log, newer than this node's newest (\(newest)): this replica file is behind what the witness cosigned (restored from an older copy?); a new log was started" }
                    logger.warning("a witness cosigned more of this node's log than this file holds", metadata: ["witness": "\(witness.agency.rawValue)", "cosigned": "\(size)", "held": "\(newest)"])
                    await restartLogOnce(reason: "\(witness.agency.rawValue) cosigned a checkpoint of \(size) leaves; this file's log holds \(newest)")
                    return
                case .refused(let reason):
                    problems.withLock { $0[witness.agency] = "refused to cosign: \(reason)" }
                    logger.warning("a witness refused this node's checkpoint", metadata: ["witness": "\(witness.agency.rawValue)", "reason": "\(reason)"])
                    return
                case .equivocation(let reason):
                    problems.withLock { $0[witness.agency] = "reports an equivocation: \(reason)" }
                    logger.critical("a witness holds a checkpoint of this node's log that contradicts the new one", metadata: ["witness": "\(witness.agency.rawValue)", "reason": "\(reason)"])
                    // This file's log is not the one the witness cosigned (a restore the peers'
                    // cursors have not revealed yet, or a rewrite): continue under a new origin,
                    // once; the witness keeps both notes as proof.
                    await restartLogOnce(reason: "\(witness.agency.rawValue) holds a cosigned checkpoint this log contradicts (\(reason))")
                    return
                }
            }
        } catch {
            problems.withLock { $0[witness.agency] = error.message }
            if error.code == .refused {
                logger.warning("a witness's address answers as another node", metadata: ["witness": "\(witness.agency.rawValue)", "reason": "\(error.message)"])
            } else {
                logger.debug("a witness could not be reached", metadata: ["witness": "\(witness.agency.rawValue)", "reason": "\(error.message)"])
            }
        }
    }

    /// Starts a new log, once per process.
    func restartLogOnce(reason: String) async {
        guard restartedLog.withLock({ done in defer { done = true }; return !done }) else { return }
        do {
            try await replica.startNewLog(reason: reason)
        } catch {
            logger.error("could not start a new log", metadata: ["reason": "\(error)"])
        }
    }

    /// Sends the leaves from `from` up to the note's size, in chunks.
    func sendLeaves(_ note: LogNote, from: Int64, to witness: Witness) async throws(FederationError) {
        var next = from
        while next < note.size {
            let leaves: [LogLeaf]
            do {
                leaves = try await replica.logLeaves(origin: note.origin, from: next, limit: min(WitnessRoutes.maxLeavesPerRequest, Int(note.size - next)))
            } catch {
                throw FederationError(.protocolError, "cannot read this node's log: \(error.message)")
            }
            guard !leaves.isEmpty else { return }
            let answer = try await client.sendLeaves(leaves, origin: note.origin, from: next, to: witness.url)
            next = answer.size
            if !answer.accepted, answer.size >= note.size { return }
        }
    }
}
