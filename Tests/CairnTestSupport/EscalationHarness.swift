import CairnCore
import Foundation

/// A temporary Cairn setup for escalation tests: a filesystem store, its own state database,
/// host checks that cannot fail on a busy test machine, and the `cairn` binary to run.
public final class EscalationHarness {
    public let temp: TemporaryDirectory
    public let configFile: URL
    public let store: URL
    public let data: URL

    public init(_ name: String) throws {
        temp = try TemporaryDirectory("cairn-escalation-\(name)")
        configFile = temp.path("cairn.yaml")
        store = temp.path("store")
        data = temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try "settings\n".write(to: data.appendingPathComponent("app.conf"), atomically: true, encoding: .utf8)
    }

    /// A bundled hook, by absolute path.
    public static func hook(_ name: String) -> String { TestPaths.packageRoot.appendingPathComponent("hooks/\(name)").path }

    /// `components` and `escalation` are YAML bodies (indented by the caller's own lines).
    public func writeConfig(components: String, escalation: String, storageRoot: String? = nil,
                     checks: String = "min_free_disk: 1MB, warn_free_disk: 2MB, min_available_memory: 1MB, warn_available_memory: 2MB, max_load_per_core: 1000, warn_load_per_core: 999") throws {
        func indent(_ text: String) -> String { text.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") }
        try """
            environment: test
            storage: { type: filesystem, root: \(storageRoot ?? store.path) }
            state: { path: \(temp.path("state.sqlite").path) }
            logs: { dir: \(temp.path("logs").path) }
            checks: { \(checks) }
            components:
            \(indent(components))
            escalation:
            \(indent(escalation))
            """.write(to: configFile, atomically: true, encoding: .utf8)
    }

    /// A directory component over `data` (or `path`), the fastest real backup there is.
    public func directoryComponent(path: String? = nil) -> String {
        "configs: { plugin: directory, path: \(path ?? data.path) }"
    }

    public func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, unset: [
            "ENVIRONMENT", "S3_BUCKET", "AWS_REGION", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "SLACK_WEBHOOK_URL",
            "PAGERDUTY_ROUTING_KEY", "PAGERDUTY_EVENTS_URL", "CAIRN_WEBHOOK_URL",
        ], environment: extra)
    }

    /// `cairn incidents --json` (with --all: resolved ones too).
    public func incidents(all: Bool = false) throws -> [JSONValue] {
        let result = try cairn(["incidents", "--json"] + (all ? ["--all"] : []))
        guard result.status == 0, case .array(let list) = try JSONValue.parse(result.text) else {
            throw ToolFailure(command: "cairn incidents", result: result)
        }
        return list
    }
}
