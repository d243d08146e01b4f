// swift-tools-version:6.2
//
// Hanaro — the inter-agency data-exchange daemon.
// Module layout and dependency direction: see ../shared/STYLE.md and docs/ARCHITECTURE.md.
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
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // Pure domain: records, version vectors, merge rules, validation. No IO.
        .target(
            name: "HanaroCore",
            swiftSettings: strictSettings
        ),
        // The replica: the only module that speaks SQL.
        .target(
            name: "HanaroStore",
            dependencies: [
                "HanaroCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Seeded synthetic data for tests, benchmarks and the demo.
        .target(
            name: "HanaroFixtures",
            dependencies: ["HanaroCore"],
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "hanaro-bench",
            dependencies: [
                "HanaroCore",
                "HanaroStore",
                "HanaroFixtures",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroCoreTests",
            dependencies: ["HanaroCore", "HanaroFixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HanaroStoreTests",
            dependencies: ["HanaroCore", "HanaroStore", "HanaroFixtures", "hanaro-torture"],
            swiftSettings: strictSettings
        ),
        // The `hanaro` executable, run as a real process.
        .testTarget(
            name: "HanaroCLITests",
            dependencies: ["hanaro"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
