import Foundation

/// A Python test server from Fixtures/ on 127.0.0.1. The script binds port 0 itself and writes the
/// port it got to `portFile` once listening, so there is no window for another process to take it.
/// Killed with SIGKILL when the value goes away: the test process hands its children a blocked SIGTERM.
public final class FixtureServer {
    public let port: Int
    private let process = Process()

    /// `arguments` go to the script and must name `portFile` where the script expects it.
    public init(name: String, script: URL, arguments: [String], portFile: URL, startSeconds: Double = 20) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(startSeconds)
        while Date() < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            Thread.sleep(forTimeInterval: 0.025)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ToolFailure(command: name, result: ToolResult(status: 1, stdout: Data(), stderr: "did not start within \(Int(startSeconds)) s"))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
