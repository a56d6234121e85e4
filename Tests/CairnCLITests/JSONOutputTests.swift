import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// Every command's --json output against the one documented schema (docs/json-schema.json),
/// judged by Python's jsonschema: a field renamed, a type changed or text printed instead of
/// JSON fails here.
@Suite("--json output follows docs/json-schema.json", .serialized)
struct JSONOutputTests {
    let setup: EscalationHarness

    init() throws {
        setup = try EscalationHarness("json")
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "consecutive_failures: 1")
    }

    static let schema = TestPaths.packageRoot.appendingPathComponent("docs/json-schema.json")
    static let checker = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/check_json_output.py")

    func expectValid(_ arguments: [String], as definition: String, lines: Bool = false, exit: Int32 = 0) throws {
        let result = try setup.cairn(arguments + ["--json"])
        #expect(result.status == exit, "\(arguments): \(result.stderr)")
        let output = setup.temp.path("output-\(UUID().uuidString).json")
        try result.stdout.write(to: output)
        let check = try runTool(["python3", Self.checker.path, Self.schema.path, definition, output.path] + (lines ? ["--lines"] : []),
                                check: false)
        #expect(check.status == 0, "cairn \(arguments.joined(separator: " ")) --json: \(check.text)\(check.stderr)")
    }

    @Test func everyCommandPrintsWhatTheSchemaSays() throws {
        let restored = setup.temp.path("restored").path
        try expectValid(["backup", "configs"], as: "run_event", lines: true)
        try expectValid(["run", "backup", "--component", "configs"], as: "run_event", lines: true)
        try expectValid(["check", "configs"], as: "run_event", lines: true)
        try expectValid(["check", "storage"], as: "run_event", lines: true)
        try expectValid(["list", "configs"], as: "list")
        try expectValid(["latest"], as: "latest")
        try expectValid(["size"], as: "size")
        try expectValid(["status"], as: "status")
        try expectValid(["validate"], as: "validate")
        try expectValid(["integrity"], as: "integrity")
        try expectValid(["verify", "configs", "--backup", "latest"], as: "verify")
        try expectValid(["restore", "configs", "--backup", "latest", "--target", restored], as: "restore")
        try expectValid(["prune", "--dry-run"], as: "prune")
        try expectValid(["history"], as: "history")
        try expectValid(["pipelines", "list"], as: "pipelines-list")
        try expectValid(["pipelines", "show", "backup", "--component", "configs"], as: "pipelines-show")
        try expectValid(["plugins", "list"], as: "plugins-list")
        try expectValid(["plugins", "inspect", TestPaths.buildDirectory.appendingPathComponent("libCairnDirectory.so").path], as: "plugins-inspect")
        try expectValid(["version"], as: "version")
        try expectValid(["config", "check"], as: "config-check")
        try expectValid(["backup", "configs", "--dry-run"], as: "backup-dry-run")
        // A failing backup opens an incident: the incident list, and a run stream that ends in failure.
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path), escalation: "consecutive_failures: 1")
        try expectValid(["backup", "configs"], as: "run_event", lines: true, exit: 1)
        try expectValid(["incidents", "--all"], as: "incidents")
    }

    @Test func errorsAreOneObjectOfTheSameShape() throws {
        try expectValid(["history", "--limit", "0"], as: "history", exit: 2)  // an argument error
        try expectValid(["incidents", "resolve", "cairn/test/nothing/consecutive_failures"], as: "incidents", exit: 2)
        try expectValid(["list", "no-such-component"], as: "list", exit: 2)
    }

    @Test func theSchemaRefusesTheOldNames() throws {
        // The checker can fail: a listing with the old `size`/`modified` names is refused.
        let old = setup.temp.path("old.json")
        try #"[{"backup_id":"x","key":"k","size":1,"modified":"2026-01-01T00:00:00Z","latest":false}]"#.write(to: old, atomically: true, encoding: .utf8)
        let check = try runTool(["python3", Self.checker.path, Self.schema.path, "list", old.path], check: false)
        #expect(check.status == 1)
        #expect(check.text.contains("compressed_bytes"), "\(check.text)")
    }
}
