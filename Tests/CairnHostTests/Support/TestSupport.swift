import Foundation
@testable import CairnHost

/// Paths of the package, its build products and its fixtures, found from this file.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/CairnHostTests/Fixtures")
    static let header = packageRoot.appendingPathComponent("Sources/CCairnPlugin/include")
    /// The folder of the test runner, which is SwiftPM's build folder: plugins and cairn are there.
    static var buildDirectory: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/")
            .deletingLastPathComponent()
    }
    static var cairnExecutable: URL { buildDirectory.appendingPathComponent("cairn") }
}

/// A temporary folder removed when the test ends.
final class TemporaryDirectory {
    let url: URL
    init(_ name: String = "cairn-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ component: String) -> URL { url.appendingPathComponent(component) }
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program with argv (no shell) and collects its output.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, cwd: URL? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    if let environment { process.environment = environment }
    if let cwd { process.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a shell pipeline (only for outside tools like `tar | jq` in tests).
@discardableResult
func shell(_ script: String, cwd: URL? = nil) throws -> CommandResult {
    try run("/bin/sh", ["-c", script], cwd: cwd)
}
