public import HanaroCore
import Crypto
public import HanaroStore
public import Foundation
import SwiftASN1
import X509

/// A development PKI (`hanaro certs`): a federation CA and one certificate per agency, with the
/// agency id in a SAN URI and the host names the node serves on. Production uses the agencies'
/// own PKI (certs/README.md); the checks on the receiving side are the same.
public enum DevelopmentPKI {
    /// The files of one issued identity.
    public struct Issued: Sendable {
        public var certificatePath: String
        public var keyPath: String
    }

    /// Creates `federation-ca.pem` and `federation-ca-key.pem` in `directory` (keys mode 0600).
    /// - Throws: ``FederationError`` `.certificate` when the files exist or cannot be written.
    @discardableResult
    public static func createCA(in directory: String, validDays: Int = 825, now: Date = Date()) throws(FederationError) -> Issued {
        let key = P256.Signing.PrivateKey()
        do {
            let name = try DistinguishedName {
                OrganizationName("Hanaro development federation")
                CommonName("Hanaro Federation Dev CA")
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(validDays) * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(key))
            return try save(certificate, key: key, as: "\(directory)/federation-ca")
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(.certificate, "cannot create the development CA in \(directory): \(error)")
        }
    }

    /// Issues `<agency>.pem` and `<agency>-key.pem` in `directory`, signed by the CA there.
    /// - Parameters:
    ///   - hosts: DNS names and IP addresses the node serves on (SANs for host-name checks).
    ///   - notValidAfter: override the expiry (tests make expired certificates with it).
    /// - Throws: ``FederationError`` `.certificate`.
    @discardableResult
    public static func issue(
        for agency: AgencyID, in directory: String, caDirectory: String? = nil, hosts: [String] = ["localhost", "127.0.0.1"],
        validDays: Int = 397, now: Date = Date(), notValidAfter: Date? = nil, name: String? = nil
    ) throws(FederationError) -> Issued {
        let caDir = caDirectory ?? directory
        do {
            let caPEM = try String(contentsOfFile: "\(caDir)/federation-ca.pem", encoding: .utf8)
            let caKeyPEM = try String(contentsOfFile: "\(caDir)/federation-ca-key.pem", encoding: .utf8)
            let ca = try Certificate(pemEncoded: caPEM)
            let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName {
                OrganizationName(agency.englishName)
                CommonName("hanaro-\(agency.rawValue)")
            }
            var names: [GeneralName] = [.uniformResourceIdentifier(AgencyIdentity.uri(for: agency))]
            for host in hosts {
                if let ip = ipv4Bytes(host) {
                    names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip))))
                } else {
                    names.append(.dnsName(host))
                }
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: notValidAfter ?? now.addingTimeInterval(Double(validDays) * 86_400),
                issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectAlternativeNames(names)
                },
                issuerPrivateKey: .init(caKey))
            let issued = try save(certificate, key: key, as: "\(directory)/\(name ?? agency.rawValue)")
            _ = try signingKey(for: agency, in: directory)
            return issued
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(.certificate, "cannot issue a certificate for \(agency.rawValue) in \(directory): \(error); create the CA first with `hanaro certs ca`")
        }
    }

    /// The agency's version-signing key, `<agency>-signing.key` (0600) in `directory`: read if it
    /// exists, created otherwise (`issue` creates it beside the certificate).
    /// - Throws: ``FederationError`` `.certificate`.
    public static func signingKey(for agency: AgencyID, in directory: String) throws(FederationError) -> AgencySigningKey {
        let path = "\(directory)/\(agency.rawValue)-signing.key"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            do { return try AgencySigningKey(text: text) } catch { throw FederationError(.certificate, "\(path) \(error.description)") }
        }
        do { return try AgencySigningKey.create(for: agency, at: path) } catch { throw FederationError(.certificate, error.description) }
    }

    /// Writes `<base>.pem` (0644) and `<base>-key.pem` (0600).
    static func save(_ certificate: Certificate, key: P256.Signing.PrivateKey, as base: String) throws -> Issued {
        let issued = Issued(certificatePath: base + ".pem", keyPath: base + "-key.pem")
        try write(try certificate.serializeAsPEM().pemString, to: issued.certificatePath, mode: 0o644)
        try write(key.pemRepresentation, to: issued.keyPath, mode: 0o600)
        return issued
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    /// Writes a new file with `mode` from the first byte; refuses to overwrite.
    static func write(_ text: String, to path: String, mode: mode_t) throws(FederationError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw FederationError(.certificate, "cannot create \(path): \(errno == EEXIST ? "it already exists (not overwritten)" : String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw FederationError(.certificate, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
