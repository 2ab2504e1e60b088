import Foundation
// swift-tools-version:6.1
import PackageDescription

/// `GRIDSYNC_FUZZ=1` builds `gridsync-fuzz`, a libFuzzer target for the wire decoders, with SyncCore
/// instrumented for coverage (`scripts/fuzz`; use a separate `--build-path`).
let fuzzing = ProcessInfo.processInfo.environment["GRIDSYNC_FUZZ"] == "1"

let package = Package(
    name: "GridSync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SyncCore", targets: ["SyncCore"]),
        .executable(name: "gridsync", targets: ["FieldMain"]),
        .executable(name: "gridsync-net", targets: ["FieldNet"]),
        .executable(name: "gridsync-server", targets: ["SyncServer"]),
        .executable(name: "gridsync-link", targets: ["LinkEmulator"]),
        .executable(name: "gridsync-bench", targets: ["CoreBenchmarks"]),
        .executable(name: "gridsync-loadtest", targets: ["ServerBenchmarks"]),
        .executable(name: "gridsync-clibench", targets: ["CLIBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "SyncCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                "CZlib",
            ],
            swiftSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"])] : []
        ),
        // The field tool's commands. `gridsync` (FieldMain) runs them without the network stack, so
        // that recording starts at once; `gridsync-net` (FieldNet) adds the HTTP and TLS client for
        // `init`, `sync` and `photo fetch`, which `gridsync` hands over to it.
        .target(
            name: "FieldCLI",
            dependencies: [
                "SyncCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The demo's area tree and the message catalogues, built into the binary (`PackageResources`).
            resources: [
                .embedInCode("Demo/areas-maizhokunggar.csv"), .embedInCode("Catalogues/en.txt"), .embedInCode("Catalogues/zh.txt"),
                .embedInCode("Catalogues/bo.txt"),
            ]
        ),
        .executableTarget(name: "FieldMain", dependencies: ["FieldCLI"]),
        .executableTarget(
            name: "FieldNet",
            dependencies: [
                "FieldCLI",
                "SyncCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "SyncServer",
            dependencies: [
                "SyncCore",
                "SyncPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sync server's store in PostgreSQL: the same merge (`LoadedRows`), rows loaded ahead
        // and written in one transaction, the change log numbered in commit order.
        .target(
            name: "SyncPostgres",
            dependencies: [
                "SyncCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // A user-space TCP proxy that emulates field links for tests and drills.
        .executableTarget(
            name: "LinkEmulator",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                "SyncCore",
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/CoreBenchmarks"
        ),
        .executableTarget(
            name: "ServerBenchmarks",
            dependencies: [
                "SyncCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Benchmarks/ServerBenchmarks"
        ),
        .executableTarget(
            name: "CLIBenchmarks",
            dependencies: ["SyncCore"],
            path: "Benchmarks/CLIBenchmarks"
        ),
        // A child process the crash-safety tests kill with SIGKILL in the middle of writes.
        .executableTarget(
            name: "CrashProbe",
            dependencies: ["SyncCore"],
            path: "Tests/CrashProbe"
        ),
        // A PostgreSQL cluster of its own for a test (`initdb` in a temporary folder).
        .target(
            name: "PostgresFixture",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresFixture"
        ),
        .testTarget(
            name: "SyncServerTests",
            dependencies: [
                "SyncCore",
                "SyncServer",
                "PostgresFixture",
                "ServerBenchmarks",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            // Stores of earlier releases, read from the source tree (`FixtureTests`).
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "FieldCLITests",
            dependencies: [
                "SyncCore",
                "FieldCLI",
                "FieldMain",
                "FieldNet",
                "SyncServer",
                "LinkEmulator",
            ]
        ),
        .testTarget(
            name: "SyncCoreTests",
            dependencies: [
                "SyncCore",
                "SyncPostgres",
                "PostgresFixture",
                "CrashProbe",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

if fuzzing {
    package.products.append(.executable(name: "gridsync-fuzz", targets: ["DecoderFuzz"]))
    package.targets.append(
        .executableTarget(
            name: "DecoderFuzz",
            dependencies: ["SyncCore"],
            path: "Fuzz/Decoders",
            swiftSettings: [.unsafeFlags(["-sanitize=fuzzer"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer", "-use-ld=lld"])]
        ))
}
