import Foundation
public import HanaroCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

extension PeerClient {
    /// Which agency the server at `baseURL` is, proven by its certificate: a TLS handshake with this
    /// node's certificate and the federation CA (as every request makes), then the agency in the
    /// server certificate's SAN URI and, when the agency file pins one, its fingerprint.
    ///
    /// AsyncHTTPClient checks the chain and the host name but cannot show the certificate it
    /// accepted, and every agency's certificate may carry the same host name (one machine, or a
    /// load balancer): so the link asks this before it pulls, and again every minute and after a
    /// transport failure (``PeerLink``). Hand-written on NIOSSL because no library exposes it.
    /// - Throws: ``FederationError`` `.refused` when the server is another agency or not the pinned
    ///   certificate, `.unreachable` when no handshake completes.
    public func checkServer(_ baseURL: String, is expected: AgencyID, pin: String? = nil) async throws(FederationError) {
        guard let url = URL(string: baseURL), let host = url.host else {
            throw FederationError(.protocolError, "\(baseURL) is not an https:// URL")
        }
        let port = url.port ?? 443
        let der: [UInt8]
        do {
            let context = try NIOSSLContext(configuration: tls.clientConfiguration())
            let isAddress = host.contains(":") || host.split(separator: ".").allSatisfy { UInt8($0) != nil }
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let handshake = loop.makePromise(of: Void.self)
            let channel: any Channel
            do {
                channel = try await ClientBootstrap(group: loop)
                    .connectTimeout(.seconds(5))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
                            try channel.pipeline.syncOperations.addHandler(HandshakeWatch(handshake))
                        }
                    }
                    .connect(host: host, port: port).get()
            } catch {
                handshake.fail(error)
                throw error
            }
            defer { channel.close(promise: nil) }
            try await handshake.futureResult.get()
            guard let certificate = try await channel.nioSSL_peerCertificate().get() else {
                throw FederationError(.refused, "\(baseURL) presented no certificate")
            }
            der = try certificate.toDERBytes()
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(.unreachable, "\(Self.describe(error)) (peer node \(host):\(port))")
        }
        let agency: AgencyID
        do {
            agency = try AgencyIdentity.agency(of: try Certificate(derEncoded: der))
        } catch let error as FederationError {
            throw FederationError(.refused, "\(baseURL) is not \(expected.rawValue): \(error.message)")
        } catch {
            throw FederationError(.refused, "\(baseURL) presented a certificate that does not parse: \(error)")
        }
        guard agency == expected else {
            throw FederationError(.refused, "\(baseURL) presents the certificate of \(agency.rawValue), not of \(expected.rawValue): refused (check federation.url in agencies/\(expected.rawValue).yaml)")
        }
        if let pin, AgencyIdentity.fingerprint(derBytes: der) != pin {
            throw FederationError(.refused, "\(baseURL) presents a certificate of \(expected.rawValue) other than the one pinned in agencies/\(expected.rawValue).yaml (federation.fingerprint)")
        }
    }
}

/// Completes its promise when the TLS handshake does, or fails it with the first error.
private final class HandshakeWatch: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let done: EventLoopPromise<Void>
    private var finished = false   // touched only on the channel's event loop

    init(_ done: EventLoopPromise<Void>) { self.done = done }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel))
    }
}
