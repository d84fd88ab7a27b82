// swift-tools-version:6.0
import PackageDescription

// libzts.so comes from ZTS_LIB_DIR, else from this repository's cargo build;
// the rpath lets `swift test` and `swift run` load it without LD_LIBRARY_PATH.
let libDir = Context.environment["ZTS_LIB_DIR"] ?? Context.packageDirectory + "/../../target/release"
let linkZts: [LinkerSetting] = [
    .unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
]

let package = Package(
    name: "Zts",
    products: [
        .library(name: "Zts", targets: ["Zts"]),
        .executable(name: "zts-echo", targets: ["zts-echo"]),
        .executable(name: "zts-transfer", targets: ["zts-transfer"]),
    ],
    targets: [
        .systemLibrary(name: "CZts", path: "Sources/CZts"),
        .target(name: "Zts", dependencies: ["CZts"], linkerSettings: linkZts),
        .executableTarget(name: "zts-echo", dependencies: ["Zts"]),
        .executableTarget(name: "zts-transfer", dependencies: ["Zts"]),
        .testTarget(name: "ZtsTests", dependencies: ["Zts"]),
    ]
)
