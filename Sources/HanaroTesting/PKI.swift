public import HanaroCore
import HanaroFederation

/// A development PKI in `dir`: the federation CA and a certificate for each agency
/// (`<agency>.pem`, `<agency>-key.pem`, `federation-ca.pem`).
public func makePKI(in dir: TemporaryDirectory, for agencies: [AgencyID]) throws {
    try DevelopmentPKI.createCA(in: dir.path)
    for agency in agencies { try DevelopmentPKI.issue(for: agency, in: dir.path) }
}
