import CairnPluginHost
import CairnTestSupport
import Foundation
import Testing

/// `cairn prune` runs a store's own cleanup when the store's plugin.json marks an action with
/// `"prune": true` (S3's abort_stale_uploads), through libffi, for each component's prefix with
/// a day as the age; stores without one are left at that. The store here is test_plugin.c.
@Suite("Prune and a store's cleanup action")
struct PruneCleanupTests {
    let dir: TemporaryDirectory

    init() throws {
        dir = try TemporaryDirectory("cairn-prune-cleanup")
        try runTool(["cc", "-shared", "-fPIC", "-o", dir.path("libteststore.so").path, "-I", TestPaths.header.path,
                     TestPaths.fixtures.appendingPathComponent("test_plugin.c").path])
        try """
            environment: test
            state: { path: \(dir.path("state.sqlite").path) }
            logs: { dir: \(dir.path("logs").path) }
            storage: { type: teststore }
            plugin_dirs: [\(dir.url.path)]
            components:
              configs: { plugin: directory, path: \(dir.url.path) }
            """.write(to: dir.path("cairn.yaml"), atomically: true, encoding: .utf8)
    }

    func manifest(actions: [String: Any]) throws {
        let manifest: [String: Any] = ["name": "teststore", "kind": "storage", "version": "1.0.0", "abi": ["major": 1, "minor": Int(HostABI.minor)],
                                       "library": "libteststore.so", "language": "c", "actions": actions]
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.path("plugin.json"))
    }

    func prune(_ extra: [String] = []) throws -> (ToolResult, [String: Any]) {
        let result = try runCairn(["prune", "--json"] + extra, config: dir.path("cairn.yaml"), in: dir.url)
        let report = (try? JSONSerialization.jsonObject(with: result.stdout)) as? [String: Any] ?? [:]
        return (result, (report["components"] as? [[String: Any]])?.first ?? [:])
    }

    static var cleanup: [String: Any] { [
        "symbol": "teststore_abort_stale_uploads", "returns": "int64", "prune": true,
        "parameters": [["name": "prefix", "type": "string"], ["name": "older_than_seconds", "type": "int64"]]] }

    @Test func theDeclaredActionGetsEachPrefixAndADayAndItsCountIsReported() throws {
        try manifest(actions: ["abort_stale_uploads": Self.cleanup])
        let (result, configs) = try prune()
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(configs["cleaned_up"] as? Int == 13 * 1000 + 1, "\(configs)")  // "configs/test/" is 13 characters; 86400 s is a day
        let (dry, dryConfigs) = try prune(["--dry-run"])
        #expect(dry.status == 0)
        #expect(dryConfigs["cleaned_up"] == nil)
        #expect((dryConfigs["notes"] as? [String])?.contains("would run teststore.abort_stale_uploads under configs/test/ for what was left more than a day ago") == true,
                "\(dryConfigs)")
    }

    @Test func storesWithoutACleanupAreLeftAtThat() throws {
        try manifest(actions: [:])
        let (result, configs) = try prune()
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(configs["cleaned_up"] == nil && (configs["errors"] as? [Any])?.isEmpty == true, "\(configs)")
    }

    @Test func aCleanupWithAnotherSignatureIsRefusedWithTheManifest() throws {
        var wrong = Self.cleanup
        wrong["symbol"] = "teststore_greet"
        wrong["parameters"] = [["name": "name", "type": "string"]]
        wrong["returns"] = "string"
        try manifest(actions: ["abort_stale_uploads": wrong])
        let (result, _) = try prune()
        #expect(result.status == 2, "\(result.text)\(result.stderr)")
        #expect(result.stderr.contains("unknown storage plugin 'teststore'"), "\(result.stderr)")
        #expect(result.stderr.contains("action 'abort_stale_uploads' has \"prune\": true, so it must take (prefix: string, older_than_seconds: int64) and return int64"),
                "\(result.stderr)")
    }
}
