import AgencySimulator
import ArgumentParser
import Foundation
import HanaroCore
import Logging

/// `hanaro simulate --agency ID --listen ADDR`: serves one agency's native API from a seeded
/// synthetic data set, with control endpoints under `/_sim/` and fault injection (see
/// docs/ADAPTERS.md). Runs until SIGINT/SIGTERM.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a simulated agency's native API (for tests, the demo and benchmarks).")

    @Option(help: "The agency: semas, koreg, kodit, kamco, kinfa or ewpc.")
    var agency: String

    @Option(help: "HOST:PORT to listen on.")
    var listen: String = "127.0.0.1:9000"

    @Option(help: "How many programs the seeded data set holds.")
    var programs: Int = 2_000

    @Option(help: "The seed of the synthetic data set (the same seed gives the same content).")
    var seed: UInt64 = 1

    @Option(help: "The credential the native API expects.")
    var serviceKey: String = "demo-key"

    @Option(help: "Serve HTTPS with this certificate (PEM); needs --tls-key.")
    var tlsCertificate: String?

    @Option(help: "The private key (PEM) of --tls-certificate.")
    var tlsKey: String?

    func run() async throws {
        guard let id = AgencyID(rawValue: agency) else {
            fail("--agency \(agency): unknown agency; expected one of \(AgencyID.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            fail("--listen \(listen): expected HOST:PORT")
        }
        let host = String(listen[..<colon])
        var logger = Logger(label: "hanaro.simulate.\(id.rawValue)")
        logger.logLevel = .notice
        let tls = try tlsCertificate.map { certificate in
            guard let tlsKey else { fail("--tls-certificate needs --tls-key") }
            return try SimulatorServer.tlsConfiguration(certificatePath: certificate, keyPath: tlsKey)
        }
        let simulator = AgencySimulator(agency: id, seed: seed, programs: programs, serviceKey: serviceKey)
        let scheme = tls == nil ? "http" : "https"
        try await SimulatorServer.run(simulator: simulator, host: host, port: port, tls: tls, logger: logger) { bound in
            Output.write("simulating \(id.rawValue) (\(id.koreanName)) at \(scheme)://\(host):\(bound) with \(programs) programs; control at /_sim/\n")
        }
    }
}
