// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
// The per-request path (HTTP parsing, the server's connections) keeps its state in class properties, and
// their runtime exclusivity checks cost an eighth of its instructions (Benchmarks/README.md). Release
// builds of these two modules skip them; debug builds, which the tests run, keep them.
let hotPath: [SwiftSetting] =
    strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "purview-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "purview-gateway", targets: ["purview-gateway"]),
        .executable(name: "FuzzHTTPParser", targets: ["FuzzHTTPParser"]),
        .executable(name: "HelloServer", targets: ["HelloServer"]),
    ],
    targets: [
        // C: each imported by exactly one Swift module (COpenSSL: Crypto for primitives, Networking for TLS).
        .target(name: "CLinuxShim"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Foundations: no I/O, or one C library each.
        .target(name: "HTTP", swiftSettings: hotPath),
        .target(name: "Observability", swiftSettings: strict),
        .target(name: "Crypto", dependencies: ["COpenSSL"], swiftSettings: strict),
        .target(name: "Compression", dependencies: ["CZlib"], swiftSettings: strict),
        .target(name: "SQLite", dependencies: ["CSQLite"], swiftSettings: strict),
        // What the browser pages (gateway console, emulator inbox) share: script helpers and base styles.
        .target(name: "WebUI", swiftSettings: strict),
        .target(
            name: "Networking",
            dependencies: ["HTTP", "CLinuxShim", "COpenSSL", "Compression", "Observability"],
            swiftSettings: hotPath),

        // Purview: wire models and client; the emulator.
        .target(
            name: "PurviewWorkflow",
            dependencies: ["HTTP", "Networking", "Crypto", "Observability"],
            swiftSettings: strict, linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "PurviewEmulator",
            dependencies: ["PurviewWorkflow", "HTTP", "Networking", "Crypto", "SQLite", "Observability", "WebUI"],
            swiftSettings: strict),

        // The gateway.
        .target(name: "GatewayCore", dependencies: ["PurviewWorkflow", "Crypto", "Observability"], swiftSettings: strict),
        .target(
            name: "GatewayStorage", dependencies: ["GatewayCore", "SQLite", "CPostgres"], swiftSettings: strict),
        .target(
            name: "GatewayServer",
            dependencies: ["GatewayCore", "HTTP", "Networking", "Crypto", "Observability", "WebUI"],
            swiftSettings: strict),

        .executableTarget(
            name: "purview-gateway",
            dependencies: [
                "GatewayServer", "GatewayStorage", "GatewayCore", "PurviewEmulator", "PurviewWorkflow",
                "Networking", "HTTP", "Crypto", "Observability",
            ],
            swiftSettings: strict),
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["HTTP"], swiftSettings: strict),
        .executableTarget(
            name: "HelloServer", dependencies: ["HTTP", "Networking"], path: "Benchmarks/HelloServer", swiftSettings: strict),

        .testTarget(name: "HTTPTests", dependencies: ["HTTP"], swiftSettings: strict),
        .testTarget(
            name: "SupportTests", dependencies: ["Crypto", "Compression", "SQLite", "Observability"],
            swiftSettings: strict),
        .testTarget(
            name: "NetworkingTests", dependencies: ["Networking", "HTTP", "Crypto", "Compression"],
            swiftSettings: strict),
        .testTarget(
            name: "PurviewWorkflowTests",
            dependencies: ["PurviewWorkflow", "Networking", "HTTP", "Crypto"],
            swiftSettings: strict),
        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore", "PurviewWorkflow"], swiftSettings: strict),
        .testTarget(name: "GatewayStorageTests", dependencies: ["GatewayStorage", "GatewayCore", "PurviewWorkflow", "SQLite"], swiftSettings: strict),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer", "GatewayCore", "GatewayStorage", "PurviewEmulator", "PurviewWorkflow", "Networking", "HTTP",
                "Crypto", "Observability", "Compression",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "PurviewEmulatorTests",
            dependencies: ["PurviewEmulator", "PurviewWorkflow", "Networking", "HTTP", "Crypto"],
            swiftSettings: strict),
    ]
)
