import CairnTestSupport
import Foundation
import Testing

/// What the Redis suites that drive the `cairn` binary share: one component, `redis`, backed up
/// into a filesystem store, with the REDIS_* variables of the caller's environment kept out.
protocol RedisCLISuite {
    var temp: TemporaryDirectory { get }
    var store: URL { get }
    var configFile: URL { get }
    /// Variables every command of the suite runs with (a server's password).
    var cairnEnvironment: [String: String] { get }
}

extension RedisCLISuite {
    var cairnEnvironment: [String: String] { [:] }

    /// `settings` are the component's lines (YAML, indented as under `redis:`).
    func writeConfig(_ settings: String) throws {
        try writeFilesystemConfig(configFile, store: store, """
            components:
              redis:
                plugin: redis
            \(settings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """)
    }

    func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, unset: [
            "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USERNAME", "REDIS_BACKUP_TYPE", "REDIS_SENTINEL_PASSWORD",
        ], environment: cairnEnvironment.merging(extra) { $1 })
    }

    var latest: URL { store.appendingPathComponent("redis/test/latest.tar.gz") }

    /// Extracts latest.tar.gz into `folder` and returns the backup's folder inside it.
    func extractLatest(_ folder: String) throws -> URL {
        let out = temp.path(folder)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", latest.path, "-C", out.path])
        let id = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first)
        return out.appendingPathComponent(id)
    }
}
