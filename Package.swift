// swift-tools-version: 6.1
import PackageDescription

// The layers, lowest first; a module imports only those below it (docs/architecture.md):
//   CairnCore                      the vocabulary: errors, JSON, byte streams, cancellation, check results
//   CairnArchive                   tar + gzip, backup_metadata.json, the archive's structure rules
//   CairnInterfaces                the ObjectStore and ComponentSource protocols, the store layout, MemoryStore
//   CairnAge                       age encryption (age-encryption.org/v1) of stored archives: keys, the format, AgeStore
//   CairnState  CairnHooks         SQLite history, locks, incidents | running operators' hook executables
//   CairnPluginHost                the C ABI: loading plugins and adapting them to the interfaces
//   CairnOperations                backup, verify, restore, list, validate, integrity, prune, reports
//   CairnConfig                    cairn.yaml: every YAML parser, pipeline and escalation definitions
//   CairnPipeline                  the engine: runs, steps, hooks around them, escalation
//   CairnPluginKit                 for plugin authors: conformance suites and skeletons (cairn plugins test/new)
//   cairn                          the command line: the only place that wires the others together
let all: [Target.Dependency] = ["CairnCore", "CairnArchive", "CairnInterfaces", "CairnAge", "CairnState", "CairnHooks", "CairnPluginHost",
                                  "CairnOperations", "CairnConfig", "CairnPipeline", "CairnPluginKit",
                                  .product(name: "Logging", package: "swift-log")]

/// A plugin written in Swift, on the header and the helpers every Swift plugin compiles in. Its
/// plugin.json ships beside the library through a C target of its own: SwiftPM gives a Swift target
/// with resources an accessor that links Foundation, which every worker process would then load
/// (about 5 ms each) for nothing.
func swiftPlugin(_ name: String, dependencies: [Target.Dependency] = []) -> [Target] {
    [.target(name: "Cairn\(name)", dependencies: ["CCairnPlugin", "CairnPluginSupport", .target(name: "Cairn\(name)Manifest")] + dependencies,
             path: "Plugins/\(name)", exclude: ["plugin.json", "manifest.c"]),
     .target(name: "Cairn\(name)Manifest", path: "Plugins/\(name)", sources: ["manifest.c"],
             resources: [.copy("plugin.json")], publicHeadersPath: ".")]
}

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cairn", targets: ["cairn"]),
        // Runs a plugin in a process of its own (isolation: process); installed beside cairn.
        .executable(name: "cairn-plugin-worker", targets: ["cairn-plugin-worker"]),
        // Plugins: each is a shared library loaded by the host through the C ABI.
        .library(name: "CairnDirectory", type: .dynamic, targets: ["CairnDirectory"]),
        .library(name: "CairnFilesystem", type: .dynamic, targets: ["CairnFilesystem"]),
        .library(name: "CairnRedis", type: .dynamic, targets: ["CairnRedis"]),
        .library(name: "CairnS3", type: .dynamic, targets: ["CairnS3"]),
        .library(name: "CairnWeaviate", type: .dynamic, targets: ["CairnWeaviate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // The plugin contract: one C header, nothing else crosses.
        .target(name: "CCairnPlugin", path: "Sources/CCairnPlugin"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate",
                       providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        // TLS for the Redis plugin only (rediss://, the replication stream included).
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // The host, one module per responsibility.
        .target(name: "CairnCore"),
        .target(name: "CairnArchive",
                dependencies: ["CairnCore", "CZlib", "CDeflate", "CZstd", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CairnInterfaces", dependencies: ["CairnCore", "CairnArchive"]),
        .target(name: "CairnAge",
                dependencies: ["CairnCore", "CairnArchive", "CairnInterfaces", .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .target(name: "CairnState", dependencies: ["CairnCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "CairnHooks", dependencies: ["CairnCore"]),
        // The channel between cairn and a plugin worker, both ends (C: the worker links no Swift).
        .target(name: "CairnPluginIPC", dependencies: ["CCairnPlugin"], path: "Sources/CairnPluginIPC"),
        .executableTarget(name: "cairn-plugin-worker", dependencies: ["CairnPluginIPC"], path: "Sources/cairn-plugin-worker",
                          linkerSettings: [.linkedLibrary("ffi")]),
        .target(name: "CairnPluginHost",
                dependencies: ["CairnCore", "CairnArchive", "CairnInterfaces", "CCairnPlugin", "CairnPluginIPC", "CCurl", "CFFI",
                               .product(name: "Logging", package: "swift-log")]),
        .target(name: "CairnOperations",
                dependencies: ["CairnCore", "CairnArchive", "CairnInterfaces", "CairnState",
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CairnConfig",
                dependencies: ["CairnCore", "CairnHooks", "CairnOperations", "CairnAge", .product(name: "Yams", package: "Yams")]),
        .target(name: "CairnPipeline",
                dependencies: ["CairnCore", "CairnArchive", "CairnInterfaces", "CairnState", "CairnHooks",
                               "CairnOperations", "CairnConfig", .product(name: "Logging", package: "swift-log")]),
        .target(name: "CairnPluginKit",
                dependencies: ["CairnCore", "CairnArchive", "CairnInterfaces", "CairnOperations", "CairnPluginHost",
                               .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "cairn",
            dependencies: [
                "CairnCore", "CairnArchive", "CairnInterfaces", "CairnAge", "CairnState", "CairnHooks", "CairnPluginHost",
                "CairnOperations", "CairnConfig", "CairnPipeline", "CairnPluginKit", "CCurl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Plugins.
        .target(name: "CairnDirectory", dependencies: ["CCairnPlugin"], path: "Plugins/Directory",
                resources: [.copy("plugin.json")]),
        // Helpers compiled into each Swift plugin (never shared with the host).
        .target(name: "CairnPluginSupport", dependencies: ["CCairnPlugin"], path: "Plugins/Support"),
        // HTTP over the host's libcurl, compiled into the plugins that speak HTTP.
        .target(name: "CairnPluginHTTP", dependencies: ["CCurl"], path: "Plugins/HTTP"),
    ] + swiftPlugin("Filesystem") + swiftPlugin("Redis", dependencies: ["COpenSSL"])
      + swiftPlugin("S3", dependencies: ["CairnPluginHTTP", "CCurl", "CZlib", .product(name: "Crypto", package: "swift-crypto")])
      + swiftPlugin("Weaviate", dependencies: ["CairnPluginHTTP"]) + [

        // Tests: one fast target per module (no servers), then the ones that start real servers or
        // drive the built binary. Shared helpers and the store conformance suite live in CairnTestSupport.
        .target(name: "CairnTestSupport", dependencies: all, path: "Tests/CairnTestSupport"),
        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore", "CairnTestSupport"]),
        .testTarget(name: "CairnArchiveTests", dependencies: ["CairnArchive", "CairnTestSupport"]),
        .testTarget(name: "CairnInterfacesTests", dependencies: ["CairnInterfaces", "CairnTestSupport"]),
        .testTarget(name: "CairnAgeTests", dependencies: ["CairnAge", "CairnTestSupport"]),
        .testTarget(name: "CairnStateTests", dependencies: ["CairnState", "CairnTestSupport"]),
        .testTarget(name: "CairnHooksTests", dependencies: ["CairnHooks", "CairnTestSupport"]),
        .testTarget(name: "CairnPluginHostTests", dependencies: ["CairnPluginHost", "CCairnPlugin", "CairnTestSupport"]),
        .testTarget(name: "CairnOperationsTests", dependencies: ["CairnOperations", "CairnTestSupport"]),
        .testTarget(name: "CairnConfigTests", dependencies: ["CairnConfig", "CairnTestSupport"]),
        .testTarget(name: "CairnPipelineTests", dependencies: ["CairnPipeline", "CairnTestSupport"]),
        // The S3 plugin's own code (SigV4, credentials) tested from the inside; no test loads libCairnS3.so
        // into this process, so the plugin's module exists here once (plugin-authors.md, "one copy").
        .testTarget(name: "CairnS3Tests", dependencies: ["CairnS3", "CairnPluginHTTP", "CairnTestSupport"]),
        .testTarget(name: "CairnIntegrationTests", dependencies: all + ["CairnTestSupport", "CairnS3"]),
        .testTarget(name: "CairnCLITests", dependencies: all + ["CairnTestSupport"]),
    ]
)
