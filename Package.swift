// swift-tools-version:6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "BooGYMan",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "boogyman", targets: ["boogyman"]),
        .executable(name: "boogyman-bench", targets: ["boogyman-bench"]),
        .library(name: "GymCore", targets: ["GymCore"]),
        .library(name: "GymStore", targets: ["GymStore"]),
        .library(name: "GymWeb", targets: ["GymWeb"]),
        .library(name: "GymApp", targets: ["GymApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Pure domain: members, plans, subscriptions and the door-access rule. No I/O.
        .target(name: "GymCore", swiftSettings: strictSettings),
        // Persistence: Fluent models stay internal; repositories speak GymCore types.
        .target(
            name: "GymStore",
            dependencies: [
                "GymCore",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQL", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Kisi's REST API: types generated from Kisi's OpenAPI document, behind a hand-written client.
        .target(
            name: "KisiAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["kisi-openapi.filtered.yaml"],
            swiftSettings: strictSettings
        ),
        // A local Kisi server that behaves like Kisi's document says, for tests, demos and benchmarks.
        .target(
            name: "KisiSandbox",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // What Kisi should look like and how to get there: desired and observed state, actions, the
        // planner, the mass-revocation brake and Kisi event triage. Pure: it sees GymCore and nothing else.
        .target(name: "AccessPlanning", dependencies: ["GymCore"], swiftSettings: strictSettings),
        // Keeping Kisi in step: observer, executor, ledger, service and leadership around AccessPlanning.
        .target(
            name: "AccessSync",
            dependencies: [
                "GymCore", "GymStore", "KisiAPI", "AccessPlanning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // HTTP: JSON API, health checks, bearer-token auth.
        .target(
            name: "GymWeb",
            dependencies: [
                "GymCore",
                "GymStore",
                "AccessSync",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Compiled in (Generated/EmbeddedResources.swift, scripts/embed-resources.py): one file deploys.
            exclude: ["Resources"],
            swiftSettings: strictSettings
        ),
        // Staff web UI: server-rendered HTML pages, staff accounts, sessions and CSRF protection.
        .target(
            name: "GymAdmin",
            dependencies: [
                "GymCore",
                "GymStore",
                "GymWeb",
                "AccessSync",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // Compiled in (Generated/EmbeddedResources.swift, scripts/embed-resources.py): one file deploys.
            exclude: ["Templates", "Assets"],
            swiftSettings: strictSettings
        ),
        // Composition root: configuration, service group, demo data, CSV import.
        .target(
            name: "GymApp",
            dependencies: [
                "GymCore",
                "GymStore",
                "GymWeb",
                "GymAdmin",
                "AccessSync",
                "KisiAPI",
                "KisiSandbox",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "boogyman",
            dependencies: [
                "GymApp",
                "GymAdmin",
                "GymStore",
                "AccessSync",
                "KisiAPI",
                "KisiSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Benchmarks whose figures BENCHMARKS.md records.
        .executableTarget(
            name: "boogyman-bench",
            dependencies: [
                "KisiAPI", "KisiSandbox", "AccessSync", "GymStore", "GymCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "GymCoreTests", dependencies: ["GymCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "GymStoreTests",
            dependencies: ["GymCore", "GymStore", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KisiAPITests",
            dependencies: [
                "KisiAPI", "KisiSandbox",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KisiSandboxTests",
            dependencies: [
                "KisiSandbox",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AccessPlanningTests", dependencies: ["GymCore", "AccessPlanning"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AccessSyncTests",
            dependencies: ["GymCore", "GymStore", "AccessSync", "KisiAPI", "KisiSandbox"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GymAppTests",
            dependencies: [
                "GymCore", "GymStore", "GymApp", "GymWeb", "KisiSandbox", "AccessSync", "KisiAPI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GymAdminTests",
            dependencies: [
                "GymCore", "GymStore", "GymAdmin", "GymApp", "GymWeb", "AccessSync", "KisiAPI", "KisiSandbox",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GymWebTests",
            dependencies: [
                "GymCore", "GymStore", "GymWeb", "GymApp",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
