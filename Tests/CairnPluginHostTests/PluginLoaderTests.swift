import Foundation
import CCairnPlugin
import Testing
@testable import CairnCore
@testable import CairnArchive
@testable import CairnInterfaces
@testable import CairnPluginHost
import CairnTestSupport

/// Builds the fixture plugin with the given defect and a manifest, and tries to load it.
private func buildPlugin(in dir: TemporaryDirectory, flags: [String] = [], manifest: [String: Any] = [:]) throws -> PluginCandidate {
    let library = dir.path("libteststore.so")
    try runTool(["cc", "-shared", "-fPIC", "-o", library.path, "-I", TestPaths.header.path] + flags
                + [TestPaths.fixtures.appendingPathComponent("test_plugin.c").path])
    var json: [String: Any] = ["name": "teststore", "kind": "storage", "version": "1.0.0",
                               "abi": ["major": 1, "minor": 0], "library": "libteststore.so", "language": "c"]
    json.merge(manifest) { _, new in new }
    try JSONSerialization.data(withJSONObject: json).write(to: dir.path("plugin.json"))
    return try PluginDiscovery.candidate(forPath: library.path)
}

private func loadError(_ candidate: PluginCandidate) -> String {
    do { _ = try PluginLoader.load(candidate); return "loaded" } catch { return describe(error) }
}

@Suite("Plugin loader validation")
struct PluginLoaderTests {
    @Test func aWellFormedCPluginLoads() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildPlugin(in: dir))
        #expect(plugin.name == "teststore")
        #expect(plugin.manifest.kind == .storage)
    }

    @Test func notAnELFFileIsNamed() throws {
        let dir = try TemporaryDirectory()
        _ = try buildPlugin(in: dir)
        try "#!/bin/sh\necho hi\n".write(to: dir.path("libteststore.so"), atomically: true, encoding: .utf8)
        let candidate = try PluginDiscovery.candidate(forPath: dir.path("libteststore.so").path)
        #expect(loadError(candidate).contains("is not an ELF shared library (it starts with 23 21 2f 62)"))
    }

    @Test func missingEntrySymbolIsNamed() throws {
        let dir = try TemporaryDirectory()
        let message = loadError(try buildPlugin(in: dir, flags: ["-DNO_ENTRY"]))
        #expect(message.contains("missing symbol cairn_plugin_entry_v1"))
        #expect(message.contains("it exports cairn_plugin_entry_v2 (ABI major 2)"))
    }

    @Test func otherABIMajorIsRefused() throws {
        let dir = try TemporaryDirectory()
        #expect(loadError(try buildPlugin(in: dir, flags: ["-DABI_MAJOR=2"])).contains("ABI major 2, host supports 1"))
    }

    @Test func manifestWithOtherABIMajorIsRefusedWithoutLoading() throws {
        let dir = try TemporaryDirectory()
        let candidate = try buildPlugin(in: dir, manifest: ["abi": ["major": 2, "minor": 0]])
        #expect(candidate.problem == "manifest declares ABI major 2, host supports 1")
    }

    @Test func structSizeSmallerThanV1IsRefused() throws {
        let dir = try TemporaryDirectory()
        let message = loadError(try buildPlugin(in: dir, flags: ["-DSHORT_STRUCT"]))
        #expect(message.contains("descriptor struct_size is"))
        #expect(message.contains("smaller than ABI v1.0's \(MemoryLayout<cairn_plugin>.size)"))
    }

    @Test func manifestThatDisagreesWithTheBinaryIsRefused() throws {
        let dir = try TemporaryDirectory()
        #expect(loadError(try buildPlugin(in: dir, flags: ["-DNAME=\"otherstore\""]))
                    .contains("manifest says name 'teststore', the library says 'otherstore'"))
        let dir2 = try TemporaryDirectory()
        #expect(loadError(try buildPlugin(in: dir2, manifest: ["version": "2.0.0"]))
                    .contains("manifest says version '2.0.0', the library says '1.0.0'"))
        let dir3 = try TemporaryDirectory()
        #expect(loadError(try buildPlugin(in: dir3, manifest: ["kind": "component"]))
                    .contains("manifest says kind 'component', the library says 'storage'"))
    }

    @Test func otherSwiftToolchainStampIsRefused() throws {
        let dir = try TemporaryDirectory()
        let message = loadError(try buildPlugin(in: dir, flags: ["-DTOOLCHAIN=\"swift/clang 17.0.0 (swift-6.2)\""]))
        #expect(message.contains("built with toolchain 'swift/clang 17.0.0 (swift-6.2)', host is '\(HostABI.swiftToolchain)'"))
    }

    @Test func missingRequiredFunctionIsNamed() throws {
        let dir = try TemporaryDirectory()
        #expect(loadError(try buildPlugin(in: dir, flags: ["-DNO_COMMIT"])).contains("storage table lacks required function 'commit'"))
    }

    @Test func declaredActionMustBeExported() throws {
        let dir = try TemporaryDirectory()
        let actions: [String: Any] = ["add": ["symbol": "teststore_missing", "parameters": [], "returns": "int64"]]
        #expect(loadError(try buildPlugin(in: dir, manifest: ["actions": actions]))
                    .contains("action 'add': symbol 'teststore_missing' is declared in plugin.json but not exported"))
    }

    @Test func malformedManifestNamesTheField() throws {
        let dir = try TemporaryDirectory()
        let candidate = try buildPlugin(in: dir, manifest: ["abi": ["major": "one"]])
        #expect(candidate.problem?.contains("plugin.json is invalid: field 'abi.major'") == true)
    }

    @Test func bundledPluginsAreDiscoveredAndValid() throws {
        let registry = PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
        let directory = try registry.load("directory", kind: .component)
        let filesystem = try registry.load("filesystem", kind: .storage)
        #expect(directory.manifest.language == "c")
        #expect(filesystem.manifest.language == "swift")
        #expect(throws: CairnError.self) { try registry.load("redis-typo", kind: .component) }
    }
}
