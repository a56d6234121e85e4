import Foundation
import Logging
import Testing
@testable import CairnHost

/// cairn prune calls a store's `abort_stale_uploads(prefix: string, older_than_seconds: int64) -> int64`
/// through libffi when the store's manifest declares it, and skips stores without it.
@Suite("Prune and abort_stale_uploads")
struct PruneStaleUploadTests {
    /// A workspace whose store is test_plugin.c, compiled with a manifest declaring `actions`.
    func workspace(in dir: TemporaryDirectory, actions: [String: Any]) throws -> Workspace {
        try runTool(["cc", "-shared", "-fPIC", "-o", dir.path("libteststore.so").path, "-I", TestPaths.header.path,
                     TestPaths.fixtures.appendingPathComponent("test_plugin.c").path])
        let manifest: [String: Any] = ["name": "teststore", "kind": "storage", "version": "1.0.0",
                                       "abi": ["major": 1, "minor": 0], "library": "libteststore.so", "language": "c",
                                       "actions": actions]
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.path("plugin.json"))
        var config = Configuration.embeddedDefaults(workingDirectory: dir.url)
        config.storage = StorageConfig(type: ConfigValue(.string("teststore"), .builtIn), settings: [:])
        config.pluginDirs = [dir.url.path]
        config.stagingDir = dir.url.path
        return Workspace(config: config, environment: [:], workingDirectory: dir.url, logger: Logger(label: "test"))
    }

    func component() -> PruneReport.Component { PruneReport.Component(component: "redis", environment: "prod", policy: nil) }

    @Test func theDeclaredActionGetsThePrefixAndADayAndItsCountIsReported() throws {
        let dir = try TemporaryDirectory("cairn-prune-uploads")
        let actions: [String: Any] = [PruneService.staleUploadAction: [
            "symbol": "teststore_abort_stale_uploads", "returns": "int64",
            "parameters": [["name": "prefix", "type": "string"], ["name": "older_than_seconds", "type": "int64"]]]]
        let service = PruneService(workspace: try workspace(in: dir, actions: actions))
        var result = component()
        service.abortStaleUploads(&result, prefix: "redis/prod/", dryRun: false)
        #expect(result.errors == [])
        #expect(result.abortedUploads == 11 * 1000 + 1)  // "redis/prod/" is 11 characters; 86400 s is one day

        var dry = component()
        service.abortStaleUploads(&dry, prefix: "redis/prod/", dryRun: true)
        #expect(dry.abortedUploads == nil)
        #expect(dry.notes == ["would abort multipart uploads under redis/prod/ older than a day (teststore.abort_stale_uploads)"])
    }

    @Test func storesWithoutTheActionAreSkippedQuietly() throws {
        let dir = try TemporaryDirectory("cairn-prune-uploads")
        let service = PruneService(workspace: try workspace(in: dir, actions: [:]))
        var result = component()
        service.abortStaleUploads(&result, prefix: "redis/prod/", dryRun: false)
        #expect(result.abortedUploads == nil && result.errors.isEmpty && result.notes.isEmpty)
    }

    @Test func anActionWithAnotherSignatureIsAnErrorNotACrash() throws {
        let dir = try TemporaryDirectory("cairn-prune-uploads")
        let actions: [String: Any] = [PruneService.staleUploadAction: [
            "symbol": "teststore_greet", "returns": "string", "parameters": [["name": "name", "type": "string"]]]]
        let service = PruneService(workspace: try workspace(in: dir, actions: actions))
        var result = component()
        service.abortStaleUploads(&result, prefix: "redis/prod/", dryRun: false)
        #expect(result.abortedUploads == nil)
        #expect(result.errors.first?.contains("too many arguments") == true, "\(result.errors)")
    }
}
