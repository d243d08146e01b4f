// swift-tools-version:6.2
//
// Hanaro — the inter-agency data-exchange daemon.
// Module layout and dependency direction: see docs/ARCHITECTURE.md.
// Every dependency is pinned to an exact version that the local package mirror carries.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Hanaro",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hanaro", targets: ["hanaro"]),
        .executable(name: "hanaro-bench", targets: ["hanaro-bench"]),
        .library(name: "HanaroCore", targets: ["HanaroCore"]),
        .library(name: "HanaroStore", targets: ["HanaroStore"]),
        .library(name: "HanaroAdapters", targets: ["HanaroAdapters"]),
        .library(name: "AgencySimulator", targets: ["AgencySimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-configuration", exact: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", exact: "2.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
    ],
    targets: [
        // Pure domain: records, version vectors, merge rules, validation. No IO.
        .target(
            name: "HanaroCore",
            swiftSettings: strictSettings
        ),
        // Transparency-log primitives: RFC 6962 Merkle trees and proofs, C2SP signed notes,
        // checkpoints and cosignatures (Ed25519 through swift-crypto). No IO.
        .target(
            name: "HanaroEvidence",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // The replica: the only module that speaks SQL.
        .target(
            name: "HanaroStore",
            dependencies: [
                "HanaroCore",
                "HanaroEvidence",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Mutual-TLS HTTPS between nodes: wire format, peer server routes, peer client,
        // certificate -> agency identity, authorization, development PKI.
        .target(
            name: "HanaroFederation",
            dependencies: [
                "HanaroCore",
                "HanaroStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The daemon as a testable library: configuration, services, sync loops.
        .target(
            name: "HanaroDaemon",
            dependencies: [
                "HanaroCore",
                "HanaroStore",
                "HanaroFederation",
                "HanaroAdapters",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // One folder per institution: each agency's native API, mapped to canonical records.
        .target(
            name: "HanaroAdapters",
            dependencies: [
                "HanaroCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The six agencies' native APIs, served from seeded data, with control endpoints and faults.
        .target(
            name: "AgencySimulator",
            dependencies: [
                "HanaroCore",
                "HanaroFixtures",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Seeded synthetic data for tests, benchmarks and the demo.
        .target(
            name: "HanaroFixtures",
            dependencies: ["HanaroCore"],
            swiftSettings: strictSettings
        ),
        // The test kit: temporary directories, a manual clock, port-0 servers with awaited
        // teardown, child processes whose readiness is awaited, the development PKI. Tests only.
        .target(
            name: "HanaroTesting",
            dependencies: [
                "HanaroCore",
                "HanaroFederation",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        // The fuzz targets: every parser of outside bytes, with its properties (ops/fuzz).
        .target(
            name: "HanaroFuzzTargets",
            dependencies: [
                "HanaroCore",
                "HanaroEvidence",
                "HanaroAdapters",
                "HanaroDaemon",
                "HanaroFederation",
                "HanaroStore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // libFuzzer's driver entry point, declared for `hanaro-fuzz` (a header, no code).
        .target(name: "CLibFuzzer"),
        // libFuzzer on one target (built with -sanitize=fuzzer by ops/fuzz/run.sh), or a replay of
        // files through it (the normal build).
        .executableTarget(
            name: "hanaro-fuzz",
            dependencies: ["HanaroFuzzTargets", "CLibFuzzer"],
            swiftSettings: strictSettings
        ),
        // A child process for the crash tests: applies batches in a loop until killed.
        .executableTarget(
            name: "hanaro-torture",
            dependencies: ["HanaroCore", "HanaroStore", "HanaroFixtures"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "hanaro",
            dependencies: [
                "HanaroCore",
                "HanaroStore",
                "HanaroFixtures",
                "HanaroFederation",
                "HanaroDaemon",
                "AgencySimulator",
                "HanaroAdapters",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "hanaro-bench",
            dependencies: [
                "HanaroCore",
                "HanaroStore",
                "HanaroEvidence",
                "HanaroFederation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "HanaroFixtures",
                "HanaroAdapters",
                "HanaroDaemon",
                "AgencySimulator",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroEvidenceTests",
            dependencies: ["HanaroEvidence", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroCoreTests",
            dependencies: ["HanaroCore", "HanaroFixtures", "HanaroTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroStoreTests",
            dependencies: ["HanaroCore", "HanaroStore", "HanaroFixtures", "HanaroTesting", "hanaro-torture"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroFederationTests",
            dependencies: ["HanaroCore", "HanaroStore", "HanaroFixtures", "HanaroFederation", "HanaroTesting", "HanaroEvidence",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strictSettings
        ),
        // One conformance suite for every adapter, against live simulators on loopback.
        .testTarget(
            name: "HanaroAdaptersTests",
            dependencies: [
                "HanaroCore", "HanaroStore", "HanaroAdapters", "AgencySimulator", "HanaroDaemon", "HanaroFederation", "HanaroFixtures", "HanaroTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        // The daemon's logic without processes: configuration, the admin API and the status
        // port's routes (Hummingbird's router test mode), the freshness board.
        .testTarget(
            name: "HanaroDaemonTests",
            dependencies: [
                "HanaroCore", "HanaroStore", "HanaroDaemon", "HanaroFederation", "HanaroFixtures", "HanaroTesting", "HanaroFuzzTargets",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        // The `hanaro` executable, run as a real process.
        .testTarget(
            name: "HanaroCLITests",
            dependencies: ["hanaro", "HanaroCore", "HanaroStore", "HanaroFixtures", "HanaroFederation", "HanaroTesting",
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
