public import HanaroCore
public import NIOSSL
public import X509
public import Foundation
import NIOCore
import SwiftASN1

/// A node's TLS material, loaded and checked: its certificate (naming its agency), its private
/// key, and the federation CA that every peer's certificate must chain to.
public struct TLSMaterial: Sendable {
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    public let trustRoots: [NIOSSLCertificate]
    /// The agency this node's certificate names.
    public let agency: AgencyID
    /// When this node's certificate expires.
    public let expiresAt: Date
    /// When the earliest of the federation CA certificates expires.
    public var caExpiresAt: Date? {
        trustRoots.map { Date(timeIntervalSince1970: TimeInterval($0.notValidAfter)) }.min()
    }

    /// Loads and checks PEM files.
    /// - Throws: ``FederationError`` `.certificate` naming the file, the problem and the fix.
    public init(certificatePath: String, keyPath: String, caPath: String, now: Date = Date()) throws(FederationError) {
        func load<T>(_ path: String, _ what: String, _ body: (String) throws -> T) throws(FederationError) -> T {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw FederationError(.certificate, "cannot read the \(what) \(path): the file is missing or not readable by this user")
            }
            do {
                return try body(path)
            } catch {
                throw FederationError(.certificate, "the \(what) \(path) is not valid PEM (\(error)); regenerate it with `hanaro certs` or ask your CA")
            }
        }
        certificateChain = try load(certificatePath, "node certificate") { try NIOSSLCertificate.fromPEMFile($0) }
        privateKey = try load(keyPath, "node private key") { try NIOSSLPrivateKey(file: $0, format: .pem) }
        trustRoots = try load(caPath, "federation CA certificate") { try NIOSSLCertificate.fromPEMFile($0) }
        guard let leaf = certificateChain.first, !trustRoots.isEmpty else {
            throw FederationError(.certificate, "\(certificateChain.isEmpty ? certificatePath : caPath) holds no certificate")
        }
        let parsed: Certificate
        do {
            parsed = try Certificate(derEncoded: try leaf.toDERBytes())
        } catch {
            throw FederationError(.certificate, "the node certificate \(certificatePath) does not parse: \(error)")
        }
        do {
            agency = try AgencyIdentity.agency(of: parsed)
        } catch {
            throw FederationError(.certificate, "the node certificate \(certificatePath): \(error.message)")
        }
        expiresAt = parsed.notValidAfter
        guard parsed.notValidAfter > now else {
            throw FederationError(.certificate, "the node certificate \(certificatePath) expired on \(parsed.notValidAfter); renew it (see certs/README.md)")
        }
        guard parsed.notValidBefore <= now else {
            throw FederationError(.certificate, "the node certificate \(certificatePath) is not valid before \(parsed.notValidBefore); check the clock")
        }
        // The key must match the certificate, or every handshake would fail later and obscurely.
        guard let pem = try? String(contentsOfFile: keyPath, encoding: .utf8),
              let certKey = try? Certificate.PrivateKey(pemEncoded: pem),
              certKey.publicKey == parsed.publicKey
        else {
            throw FederationError(.certificate, "the private key \(keyPath) does not belong to the certificate \(certificatePath)")
        }
    }

    /// Checks that this node's certificate chains to the federation CA (RFC 5280 path validation
    /// at `now`): a certificate issued by another CA would make every peer refuse this node.
    /// - Returns: nil when it does, else why not.
    public func chainProblem(now: Date = Date()) async -> String? {
        do {
            let roots = try trustRoots.map { try Certificate(derEncoded: try $0.toDERBytes()) }
            let chain = try certificateChain.map { try Certificate(derEncoded: try $0.toDERBytes()) }
            guard let leaf = chain.first else { return "holds no certificate" }
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy(validationTime: now) }
            switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst())) {
            case .validCertificate:
                return nil
            case .couldNotValidate(let failures):
                let reason = failures.first.map { "\($0.policyFailureReason)" } ?? "no path to a trusted root"
                return "does not chain to the federation CA (\(reason.prefix(160)))"
            }
        } catch {
            return "cannot be parsed for path validation (\(error))"
        }
    }

    /// The server side: TLS 1.2+, a client certificate required and verified against the
    /// federation CA (NIOSSL's server default checks no client certificate: without this, mutual TLS is silently off). Host names
    /// are not checked on client certificates; the agency SAN is, by the identity middleware.
    public func serverConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(trustRoots)
        // NIOSSL waits 5 s per connected peer for close_notify by default: shutdown would crawl.
        configuration.shutdownTimeout = .milliseconds(300)
        return configuration
    }

    /// The client side: our certificate offered, the peer's verified against the federation CA
    /// and its host name.
    public func clientConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        configuration.trustRoots = .certificates(trustRoots)
        configuration.certificateVerification = .fullVerification
        configuration.shutdownTimeout = .milliseconds(300)
        return configuration
    }
}

