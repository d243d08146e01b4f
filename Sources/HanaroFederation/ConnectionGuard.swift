public import HummingbirdCore
public import Hummingbird
public import HummingbirdTLS
public import NIOCore
public import NIOSSL
public import Logging
import NIOHTTPTypes
import Synchronization

/// Bounds what connections that have not yet sent a whole request can cost a listener — a TLS
/// handshake that never finishes, headers sent a byte at a time, an idle socket — so that the
/// node keeps serving its peers, probes and admins whatever such connections arrive.
///
/// A connection is *pending* from accept until its first complete request head (on the
/// federation port that is after the TLS handshake, so after the peer's certificate verified).
/// Pending connections are held to a budget per client address and to one for the listener;
/// when a new connection would exceed one, the **oldest** pending connection is closed to make
/// room: whoever floods holds old sockets, and a fresh, legitimate connection gets its chance.
/// Every connection, pending or not, is closed after `idleTimeout` without a request in
/// progress (Hummingbird's idle timer starts at accept, so it also bounds the handshake and the
/// head), and the listener stops accepting at `maxConnections` (its file descriptors are
/// bounded whatever happens).
///
/// Hand-written because Hummingbird offers only the global cap and the idle timer; the
/// per-address budget and the eviction of the oldest pending connection are ours.
public final class ConnectionGuard: Sendable {
    /// The limits of one listener.
    public struct Limits: Sendable, Hashable {
        /// Pending connections per client address.
        public var pendingPerAddress = 32
        /// Pending connections of the listener.
        public var pendingTotal = 128
        /// Connections of the listener; at this many it stops accepting until one closes.
        public var maxConnections = 256
        /// Without a request in progress for this long (from accept: handshake and head
        /// included), a connection is closed.
        public var idleTimeout: TimeAmount = .seconds(10)

        public init() {}
    }

    /// What happened on a listener, for the metrics.
    public struct Counts: Sendable, Hashable {
        public var pending = 0
        public var established = 0
        /// Pending connections closed to make room for newer ones.
        public var evicted = 0
        /// Connections accepted since start.
        public var accepted = 0
    }

    private struct Entry {
        var channel: any Channel
        var address: String
        var order: UInt64
    }

    private struct State {
        var pending: [ObjectIdentifier: Entry] = [:]
        var perAddress: [String: Int] = [:]
        var established: Set<ObjectIdentifier> = []
        var order: UInt64 = 0
        var counts = Counts()
    }

    /// The listener's name in metrics and logs (`federation`, `status`, `api`).
    public let listener: String
    public let limits: Limits
    private let state = Mutex(State())

    public init(listener: String, limits: Limits = Limits()) {
        self.listener = listener
        self.limits = limits
    }

    public var counts: Counts {
        state.withLock { state in
            var counts = state.counts
            counts.pending = state.pending.count
            counts.established = state.established.count
            return counts
        }
    }

    /// A connection was accepted: it is pending; older pending connections are closed if it
    /// exceeds a budget.
    func admitted(_ channel: any Channel) {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let id = ObjectIdentifier(channel)
        let victims = state.withLock { state -> [any Channel] in
            guard state.pending[id] == nil, !state.established.contains(id) else { return [] }
            state.order += 1
            state.counts.accepted += 1
            state.pending[id] = Entry(channel: channel, address: address, order: state.order)
            state.perAddress[address, default: 0] += 1
            var victims: [any Channel] = []
            func evictOldest(where matches: (Entry) -> Bool) {
                guard let oldest = state.pending.filter({ $0.key != id && matches($0.value) }).min(by: { $0.value.order < $1.value.order }) else { return }
                state.pending[oldest.key] = nil
                state.perAddress[oldest.value.address, default: 1] -= 1
                state.counts.evicted += 1
                victims.append(oldest.value.channel)
            }
            while state.perAddress[address, default: 0] > limits.pendingPerAddress, victims.count < 8 { evictOldest { $0.address == address } }
            while state.pending.count > limits.pendingTotal, victims.count < 16 { evictOldest { _ in true } }
            return victims
        }
        for victim in victims { victim.close(mode: .all, promise: nil) }
    }

    /// The connection delivered its first complete request head: no longer pending.
    func established(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            guard let entry = state.pending.removeValue(forKey: id) else { return }
            state.perAddress[entry.address, default: 1] -= 1
            if state.perAddress[entry.address] == 0 { state.perAddress[entry.address] = nil }
            state.established.insert(id)
        }
    }

    /// The connection closed.
    func closed(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            if let entry = state.pending.removeValue(forKey: id) {
                state.perAddress[entry.address, default: 1] -= 1
                if state.perAddress[entry.address] == 0 { state.perAddress[entry.address] = nil }
            }
            state.established.remove(id)
        }
    }

    /// The server of a listener under this guard: HTTP/1.1, over TLS when `tls` is given.
    public func serverBuilder(tls: TLSConfiguration? = nil) throws -> HTTPServerBuilder {
        let guardian = self
        // A bad TLS configuration fails here, at startup, not at the first connection.
        if let tls { _ = try NIOSSLContext(configuration: tls) }
        return HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder, configuration: .init(
                additionalChannelHandlers: [EstablishedHandler(guardian: guardian)], idleTimeout: guardian.limits.idleTimeout))
            if let tls {
                return GuardedChannel(base: try TLSChannel(http, tlsConfiguration: tls), guardian: guardian)
            }
            return GuardedChannel(base: http, guardian: guardian)
        }
    }

    /// The listener's cap on connections, for `ApplicationConfiguration`.
    public var availableConnections: MaximumAvailableConnections { MaximumAvailableConnections(limits.maxConnections) }
}

/// A child channel that registers every accepted connection with the guard before the base
/// channel (TLS, HTTP) sets up.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let guardian: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(AdmissionHandler(guardian: guardian), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// First in the pipeline: tells the guard of the connection's accept and close.
final class AdmissionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let guardian: ConnectionGuard

    init(guardian: ConnectionGuard) { self.guardian = guardian }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { guardian.admitted(context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        guardian.admitted(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        guardian.closed(context.channel)
        context.fireChannelInactive()
    }
}

/// After HTTP decoding: the first request head makes the connection established.
final class EstablishedHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    let guardian: ConnectionGuard

    init(guardian: ConnectionGuard) { self.guardian = guardian }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { guardian.established(context.channel) }
        context.fireChannelRead(data)
    }
}
