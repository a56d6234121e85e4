import CairnCore
import Foundation
import Testing

/// The stateful Weaviate test server (Fixtures/weaviate/fake_weaviate.py) on 127.0.0.1 with a
/// port of its own. Its configuration file is re-read on every request, so `update` switches
/// failure modes while it runs. Every response it gives is logged for the spec check.
public final class FakeWeaviate {
    private let server: FixtureServer
    public var port: Int { server.port }
    public let configFile: URL
    private(set) var config: [String: Any]
    public var url: String { "http://127.0.0.1:\(port)" }
    public var responsesLog: URL { URL(fileURLWithPath: configFile.path + ".responses.jsonl") }

    public init(in directory: URL, config: [String: Any]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configFile = directory.appendingPathComponent("weaviate.json")
        self.config = config
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)
        let portFile = directory.appendingPathComponent("weaviate.port")
        server = try FixtureServer(name: "fake weaviate", script: TestPaths.fixtures.appendingPathComponent("weaviate/fake_weaviate.py"),
                                   arguments: [configFile.path, portFile.path], portFile: portFile)
    }

    public func update(_ changes: [String: Any]) throws {
        config.merge(changes) { _, new in new }
        try JSONSerialization.data(withJSONObject: config).write(to: configFile, options: .atomic)
    }

    /// A request straight to the server (as an operator's curl would), with the configured key.
    @discardableResult
    public func request(_ method: String, _ path: String) throws -> ToolResult {
        var command = ["curl", "-s", "-X", method]
        if let key = config["api_key"] as? String { command += ["-H", "Authorization: Bearer \(key)"] }
        return try runTool(command + [url + path])
    }

    /// The collections and their object counts, from GET /v1/nodes?output=verbose.
    public func objectCounts() throws -> [String: Int] {
        let reply = try JSONValue.parse(try request("GET", "/v1/nodes?output=verbose").text)
        var counts: [String: Int] = [:]
        for node in reply["nodes"]?.arrayValue ?? [] {
            for shard in node["shards"]?.arrayValue ?? [] {
                if let name = shard["class"]?.stringValue, case .number(let n) = shard["objectCount"] { counts[name, default: 0] += Int(n) }
            }
        }
        return counts
    }

    /// The request log as written.
    public var rawLog: String { (try? String(contentsOf: responsesLog, encoding: .utf8)) ?? "" }

    /// Every logged request as "METHOD path".
    public var requests: [String] {
        rawLog.split(separator: "\n").compactMap { line in
            guard let entry = try? JSONValue.parse(String(line)),
                  let method = entry["method"]?.stringValue, let path = entry["path"]?.stringValue else { return nil }
            return "\(method) \(path)"
        }
    }

    /// Runs the spec check over everything this server answered.
    public func checkResponsesAgainstSpec() throws -> ToolResult { try Self.checkResponses(responsesLog) }

    /// Checks a response log against the repository's subset of Weaviate's spec and, when it is
    /// beside the repository, against the full official spec too.
    public static func checkResponses(_ log: URL) throws -> ToolResult {
        let also = TestPaths.weaviateSpec.map { ["--also", $0.path] } ?? []
        return try runTool(["python3", TestPaths.fixtures.appendingPathComponent("weaviate/check_responses.py").path]
                           + also + [TestPaths.weaviateAPISubset.path, log.path], check: false)
    }
}

extension JSONValue {
    public var arrayValue: [JSONValue]? { if case .array(let items) = self { return items } else { return nil } }
}
