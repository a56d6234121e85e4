import CairnCore
import Foundation

/// A local HTTP receiver on 127.0.0.1 standing in for Slack, PagerDuty or a webhook
/// (Fixtures/escalation/recording_server.py, Python 3 stdlib). It records every request it gets;
/// `mode` decides how it answers (see the script). Killed with SIGKILL when the value goes away.
public final class RecordingWebhook {
    public let log: URL
    private let server: FixtureServer
    public var port: Int { server.port }

    public init(in dir: URL, mode: String) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let portFile = dir.appendingPathComponent("port")
        log = dir.appendingPathComponent("requests.jsonl")
        server = try FixtureServer(name: "recording webhook (\(mode))",
                                   script: TestPaths.fixtures.appendingPathComponent("escalation/recording_server.py"),
                                   arguments: [mode, portFile.path, log.path], portFile: portFile, startSeconds: 10)
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// The bodies received so far, in order.
    public var bodies: [JSONValue] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONValue.parse(String($0)))?["body"]
        }
    }
}
