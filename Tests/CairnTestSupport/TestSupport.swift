import Foundation

/// Paths of the package, its build products and its fixtures, found from this file.
public enum TestPaths {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")
    public static let header = packageRoot.appendingPathComponent("Sources/CCairnPlugin/include")
    /// The endpoints, fields and status codes of Weaviate's official OpenAPI spec (v1.39.0) that
    /// Cairn uses, kept in the repository (Fixtures/weaviate/make_api_subset.py made it).
    public static let weaviateAPISubset = fixtures.appendingPathComponent("weaviate/weaviate-api-subset.json")
    /// The official spec itself, beside the repository with the project's reference material; the
    /// tests also check against it when it is there.
    public static var weaviateSpec: URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/weaviate-openapi.json")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
    /// The folder of the test runner, which is SwiftPM's build folder: plugins and cairn are there.
    public static var buildDirectory: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/")
            .deletingLastPathComponent()
    }
    public static var cairnExecutable: URL { buildDirectory.appendingPathComponent("cairn") }
}

/// Output of an external tool run by a test.
public struct ToolResult {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var text: String { String(decoding: stdout, as: UTF8.self) }

    public init(status: Int32, stdout: Data, stderr: String) { self.status = status; self.stdout = stdout; self.stderr = stderr }
}

public struct ToolFailure: Error, CustomStringConvertible {
    public var command: String
    public var result: ToolResult
    public var description: String { "\(command) exited \(result.status): \(result.stderr)" }

    public init(command: String, result: ToolResult) { self.command = command; self.result = result }
}

/// Runs a program found on PATH. Output goes through files so large outputs cannot deadlock.
@discardableResult
public func runTool(_ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil,
             check: Bool = true) throws -> ToolResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if let environment { process.environment = environment }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close(); try err.close()
    let result = ToolResult(status: process.terminationStatus, stdout: try Data(contentsOf: outURL),
                            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    if check && result.status != 0 { throw ToolFailure(command: arguments.joined(separator: " "), result: result) }
    return result
}

/// Runs a shell pipeline (for `cat a b > c`, `tar ... | jq ...`).
@discardableResult
public func runShell(_ script: String, in directory: URL? = nil, check: Bool = true) throws -> ToolResult {
    try runTool(["sh", "-c", script], in: directory, check: check)
}

/// A temporary directory removed when the value goes away.
public final class TemporaryDirectory {
    public let url: URL
    public init(_ name: String = "cairn-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func path(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// A port on 127.0.0.1 that was free a moment ago, for servers that cannot bind port 0 themselves.
public func freePort() throws -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(s) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
    }
    guard ok else { throw ToolFailure(command: "bind", result: ToolResult(status: 1, stdout: Data(), stderr: "no free port")) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs the built `cairn` binary in `directory` with `CAIRN_CONFIG=config`, the test process's
/// environment without `unset` (variables that would override the test's cairn.yaml), and `extra`.
public func runCairn(_ arguments: [String], config: URL?, in directory: URL, unset: [String] = [],
              environment extra: [String: String] = [:]) throws -> ToolResult {
    var environment = ProcessInfo.processInfo.environment
    for name in unset { environment[name] = nil }
    environment["CAIRN_CONFIG"] = config?.path
    environment.merge(extra) { _, new in new }
    return try runTool([TestPaths.cairnExecutable.path] + arguments, in: directory, environment: environment, check: false)
}

/// Writes `file` as a cairn.yaml for the `test` environment with a filesystem store at `store`;
/// `rest` (top-level YAML) follows.
public func writeFilesystemConfig(_ file: URL, store: URL, _ rest: String) throws {
    try """
        environment: test
        storage:
          type: filesystem
          root: \(store.path)
        \(rest)
        """.write(to: file, atomically: true, encoding: .utf8)
}
