// swift-tools-version:6.0
import PackageDescription

// Upcoming features that keep imports honest: a C module imported `internal` cannot leak its types.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Targets whose byte-by-byte loops run over every byte synced: optimised in debug builds as well, since
// the tests run the debug binary on files of hundreds of MiB.
let hotLoops: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "shadowsync",
    products: [
        .executable(name: "shadowsync", targets: ["shadowsync"]),
        .executable(name: "shadowsync-bench", targets: ["shadowsync-bench"]),
        .executable(name: "shadowsync-ui", targets: ["shadowsync-ui"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
    ],
    targets: [
        // MARK: C libraries: modulemaps only, one per library, each imported by exactly one wrapper target.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        // libgit2 is loaded at run time by the git thread (CGit2.h says why); its headers are in /usr/include.
        .target(name: "CGit2"),
        // libstrophe likewise (CStrophe.h). No pkgConfig: libstrophe.pc carries -DLIBXMPP_VERSION_* Cflags
        // that SwiftPM refuses as prohibited flags and strophe.h does not need; its header is in /usr/include.
        .target(name: "CStrophe"),
        .target(name: "CShims"),

        // MARK: Vocabulary: domain types and protocols, no I/O (CShims only to name threads).
        // Optimised in debug builds too: its SHA-1 hashes every byte of every pack written (staging and
        // local pushes), which unoptimised ran at about 2 MB/s and made the tests' large files take minutes.
        .target(name: "ShadowCore", dependencies: ["CShims"], swiftSettings: strict + hotLoops),

        // MARK: Wrappers and formats.
        // Optimised in debug builds too, for the segment boundaries' gear hash over every byte of a file.
        .target(name: "ShadowCrypto", dependencies: ["ShadowCore", "CSodium"], swiftSettings: strict + hotLoops),
        .target(name: "ShadowSystem", dependencies: ["ShadowCore", "CShims"], swiftSettings: strict),
        .target(name: "ShadowGit", dependencies: ["ShadowCore", "ShadowSystem", "CGit2", "CShims"], swiftSettings: strict),
        .target(name: "ShadowXMPP", dependencies: ["ShadowCore", "CStrophe"], swiftSettings: strict),

        // MARK: Engine and command line.
        .target(name: "ShadowEngine", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowSystem"], swiftSettings: strict),
        .target(name: "ShadowAgent", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowSystem", "ShadowGit", "ShadowXMPP", "ShadowEngine"],
                swiftSettings: strict),
        .target(name: "ShadowCLI", dependencies: [
            "ShadowAgent", "ShadowEngine", "ShadowCrypto", "ShadowCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        // The Swift runtime and FoundationEssentials linked in: a one-shot command no longer maps and binds
        // a dozen Swift libraries at start (`--version` 17.9 → 8.1 ms; a 10k-file no-op sync 66.5 → 58.0 ms;
        // the binary 9.8 → 30.7 MB; Docs/BENCHMARKS.md, `bench-sync-vs-git.sh`). `-static-stdlib` alone leaves out
        // FoundationEssentials' two C helper libraries, so they are named here.
        .executableTarget(name: "shadowsync", dependencies: ["ShadowCLI"], swiftSettings: strict,
                          linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "-l_FoundationCShims",
                                                         "-Xlinker", "-l_FoundationCollections"])]),
        // MARK: Local web UI: its own executable, so the one-shot `shadowsync` binary does not link SwiftNIO.
        .target(name: "ShadowUI", dependencies: [
            "ShadowAgent", "ShadowCrypto", "ShadowCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: strict),
        .executableTarget(name: "shadowsync-ui", dependencies: ["ShadowUI"], swiftSettings: strict),
        .executableTarget(name: "shadowsync-bench", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowSystem", "ShadowEngine", "ShadowAgent"],
                          swiftSettings: strict),

        // MARK: Tests.
        // Seeded randomness, the fuzz mutator and the child-process runner, shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ShadowCoreTests", dependencies: ["ShadowCore"]),
        .testTarget(name: "ShadowCryptoTests", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowSystem", "TestSupport"]),
        .testTarget(name: "ShadowSystemTests", dependencies: ["ShadowCore", "ShadowSystem"]),
        .testTarget(name: "ShadowGitTests", dependencies: ["ShadowCore", "ShadowGit", "ShadowSystem", "TestSupport"]),
        .testTarget(name: "ShadowEngineTests", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowSystem", "ShadowGit", "ShadowEngine", "TestSupport"]),
        .testTarget(name: "ShadowAgentTests", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowGit", "ShadowXMPP", "ShadowAgent", "TestSupport"]),
        .testTarget(name: "ShadowUITests", dependencies: ["ShadowUI", "ShadowAgent", "ShadowEngine", "ShadowSystem", "ShadowCrypto", "ShadowCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ShadowCore", "ShadowCrypto", "ShadowXMPP", "TestSupport"]),
    ]
)
