import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// Two "pods": working folders with state databases of their own and one store. What one records
/// (runs, failures in a row, incidents) the other sees, from a fresh start, through the store.
@Suite("State shared through the store", .serialized)
struct SharedStateTests {
    let temp: TemporaryDirectory
    let data: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-shared-state")
        data = temp.path("data")
    }

    /// A pod's folder with its own cairn.yaml and state database, on the shared `storage`.
    func pod(_ name: String, storage: String) throws -> URL {
        let folder = temp.path(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
            environment: prod
            storage: \(storage)
            state: { path: \(folder.appendingPathComponent("state.sqlite").path) }
            logs: { dir: \(folder.appendingPathComponent("logs").path) }
            checks: { min_free_disk: 1MB, warn_free_disk: 2MB, min_available_memory: 1MB, warn_available_memory: 2MB }
            components: { configs: { plugin: directory, path: \(data.path) } }
            escalation: { consecutive_failures: 2 }
            """.write(to: folder.appendingPathComponent("cairn.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    func cairn(_ pod: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: pod.appendingPathComponent("cairn.yaml"), in: pod, unset: MotoCairn.overridingVariables,
                     environment: environment)
    }

    func json(_ result: ToolResult) throws -> [JSONValue] {
        guard case .array(let list) = try JSONValue.parse(result.text) else { return [] }
        return list
    }

    @Test func aSecondPodSeesTheFirstOnesRunsFailuresAndIncidentAndResolvesIt() throws {
        let storage = "{ type: filesystem, root: \(temp.path("store").path) }"
        let first = try pod("pod-a", storage: storage), second = try pod("pod-b", storage: storage)
        // The component's folder is missing: both pods' backups fail.
        #expect(try cairn(first, ["backup", "configs"]).status == 1)
        let history = try json(try cairn(second, ["history", "--json"]))
        #expect(history.count == 1 && history.first?["outcome"] == .string("failure"), "\(history)")
        #expect(try cairn(second, ["history", "--component", "configs"]).text.contains("1 consecutive failed backup since"))
        // The second failure in a row, on the other pod, opens the incident.
        #expect(try cairn(second, ["backup", "configs"]).status == 1)
        let incidents = try json(try cairn(first, ["incidents", "--json"]))
        #expect(incidents.first?["key"] == .string("cairn/prod/configs/consecutive_failures"), "\(incidents)")
        // Fixed: a success on the first pod resolves the incident the second one opened.
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try "settings\n".write(to: data.appendingPathComponent("app.conf"), atomically: true, encoding: .utf8)
        let fixed = try cairn(first, ["backup", "configs"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(!fixed.stderr.contains("changed by another host"), "\(fixed.stderr)")
        let after = try json(try cairn(second, ["incidents", "--all", "--json"]))
        #expect(after.first?["status"] == .string("resolved"), "\(after)")
        #expect(try json(try cairn(second, ["incidents", "--json"])).isEmpty)
        #expect(try json(try cairn(second, ["history", "--json"])).count == 3)
        // `cairn/` is the state's folder: no component may be named so.
        try (try String(contentsOf: first.appendingPathComponent("cairn.yaml"), encoding: .utf8))
            .replacingOccurrences(of: "configs: {", with: "cairn: {").write(to: first.appendingPathComponent("cairn.yaml"), atomically: true, encoding: .utf8)
        let reserved = try cairn(first, ["latest"])
        #expect(reserved.status == 2 && reserved.stderr.contains("component name 'cairn' is taken"), "\(reserved.stderr)")
    }

    @Test func onS3AFreshPodSeesTheHistory() throws {
        let s3 = try MotoCairn("cairn-shared-state-s3")
        let storage = "{ type: s3, bucket: cairn-test, endpoint: \(s3.moto.endpoint) }"
        let first = try pod("s3-a", storage: storage), second = try pod("s3-b", storage: storage)
        let environment = s3.awsEnvironment.merging(["HOME": s3.temp.url.path]) { $1 }
        #expect(try cairn(first, ["backup", "configs"], environment: environment).status == 1)
        let fresh = try cairn(second, ["history", "--component", "configs"], environment: environment)
        #expect(fresh.text.contains("1 consecutive failed backup since"), "\(fresh.text)\(fresh.stderr)")
        #expect(try s3.aws("s3 ls s3://cairn-test/cairn/prod/ --recursive").text.contains("streaks/configs.json"))
    }
}
