public import HanaroCore
public import X509
import Crypto
import Foundation
import SwiftASN1

/// A node's identity is its certificate: the agency named in its subject alternative names
/// (`urn:hanaro:agency:<id>`), signed by the federation CA.
public enum AgencyIdentity {
    /// The URI prefix of the SAN that names an agency.
    public static let uriPrefix = "urn:hanaro:agency:"

    /// The SAN URI for an agency.
    public static func uri(for agency: AgencyID) -> String { uriPrefix + agency.rawValue }

    /// The agency a certificate names.
    /// - Throws: ``FederationError`` `.refused` when it names none, several, or an unknown one.
    public static func agency(of certificate: Certificate) throws(FederationError) -> AgencyID {
        let names: SubjectAlternativeNames?
        do {
            names = try certificate.extensions.subjectAlternativeNames
        } catch {
            throw FederationError(.refused, "the certificate's subject alternative names do not parse")
        }
        var agencies: [String] = []
        for name in names ?? SubjectAlternativeNames() {
            if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(uriPrefix) { agencies.append(String(uri.dropFirst(uriPrefix.count))) }
        }
        guard agencies.count == 1, let id = AgencyID(rawValue: agencies[0]) else {
            throw FederationError(.refused, agencies.isEmpty
                ? "the certificate names no agency (expected a SAN URI \(uriPrefix)<agency>)"
                : "the certificate names \(agencies.joined(separator: ", ")), not exactly one known agency")
        }
        return id
    }

    /// `sha256:<hex>` of the certificate's DER encoding, as pinned in `agencies/<id>.yaml`.
    public static func fingerprint(derBytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: derBytes).map { String(format: "%02x", $0) }.joined()
    }
}
