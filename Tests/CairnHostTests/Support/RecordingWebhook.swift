import Foundation
@testable import CairnHost

/// A local HTTP receiver on 127.0.0.1 standing in for Slack, PagerDuty or a webhook
/// (Fixtures/escalation/recording_server.py, Python 3 stdlib). It records every request it gets;
/// `mode` decides how it answers (see the script). Killed with SIGKILL when the value goes away.
final class RecordingWebhook {
    let port: Int
    let log: URL
    let process: Process

    init(in dir: URL, mode: String) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let portFile = dir.appendingPathComponent("port")
        log = dir.appendingPathComponent("requests.jsonl")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.fixtures.appendingPathComponent("escalation/recording_server.py").path,
                             mode, portFile.path, log.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The script binds port 0 itself and renames the port file into place when listening.
        for _ in 0 ..< 400 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            Thread.sleep(forTimeInterval: 0.025)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ToolFailure(command: "recording webhook (\(mode))", result: ToolResult(status: 1, stdout: Data(), stderr: "did not start"))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// The bodies received so far, in order.
    var bodies: [JSONValue] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONValue.parse(String($0)))?["body"]
        }
    }
}
