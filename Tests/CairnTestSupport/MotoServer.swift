import Foundation

/// A moto S3 server with signature checking on, owned by one test and stopped with it.
public final class MotoServer {
    public let process = Process()
    public let port: Int
    public let accessKey: String
    public let secretKey: String
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public init(in directory: URL) throws {
        port = try freePort()
        let keyFile = directory.appendingPathComponent("moto-keys")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.fixtures.appendingPathComponent("s3/moto_auth_server.py").path,
                            String(port), keyFile.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var keys: [Substring] = []
        for _ in 0..<300 {
            if let text = try? String(contentsOf: keyFile, encoding: .utf8) {
                keys = text.split(whereSeparator: \.isWhitespace)
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard keys.count == 2 else { process.terminate(); throw ToolFailure(command: "moto", result: ToolResult(status: 1, stdout: Data(), stderr: "moto did not start")) }
        accessKey = String(keys[0])
        secretKey = String(keys[1])
    }

    deinit {
        // moto's server traps SIGTERM and may not exit; nothing in it needs a clean shutdown.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
