import Foundation
import CCairnPlugin
import Testing
@testable import CairnCore
@testable import CairnArchive
@testable import CairnInterfaces
@testable import CairnPluginHost
import CairnTestSupport

/// Builds the fixture plugin (Tests/Fixtures/test_plugin.c) with the given defect and a manifest;
/// the candidate to load.
func buildPlugin(in dir: TemporaryDirectory, flags: [String] = [], manifest: [String: Any] = [:],
                         header: URL = TestPaths.header) throws -> PluginCandidate {
    let library = dir.path("libteststore.so")
    try runTool(["cc", "-shared", "-fPIC", "-o", library.path, "-I", header.path] + flags
                + [TestPaths.fixtures.appendingPathComponent("test_plugin.c").path])
    var json: [String: Any] = ["name": "teststore", "kind": "storage", "version": "1.0.0",
                               "abi": ["major": 1, "minor": Int(HostABI.minor)], "library": "libteststore.so", "language": "c"]
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

    static let frozenV1_0 = TestPaths.fixtures.appendingPathComponent("abi/v1.0")

    @Test func aPluginBuiltAgainstTheFrozenV1_0HeaderLoads() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildPlugin(in: dir, manifest: ["abi": ["major": 1, "minor": 0]], header: Self.frozenV1_0))
        #expect(plugin.name == "teststore")
    }

    @Test func aPluginBuiltAgainstANewerMinorLoads() throws {
        // The header of a future minor: a field appended to the descriptor and to the storage table.
        let next = Int(HostABI.minor) + 1
        let dir = try TemporaryDirectory()
        var header = try String(contentsOf: TestPaths.header.appendingPathComponent("cairn_plugin.h"), encoding: .utf8)
        for (old, new) in [
            ("#define CAIRN_ABI_MINOR \(HostABI.minor)", "#define CAIRN_ABI_MINOR \(next)"),
            ("} cairn_plugin;", "    void *added_in_next_minor;\n} cairn_plugin;"),
            ("} cairn_storage_api;", "    void *added_in_next_minor;\n} cairn_storage_api;"),
        ] {
            #expect(header.contains(old))
            header = header.replacingOccurrences(of: old, with: new)
        }
        let include = dir.path("v1.\(next)")
        try FileManager.default.createDirectory(at: include, withIntermediateDirectories: true)
        try header.write(to: include.appendingPathComponent("cairn_plugin.h"), atomically: true, encoding: .utf8)
        let plugin = try PluginLoader.load(try buildPlugin(in: dir, manifest: ["abi": ["major": 1, "minor": next]], header: include))
        #expect(Int(plugin.abiMinor) == next)
        #expect(Int(plugin.descriptor.pointee.struct_size) == FrozenABI.plugin + MemoryLayout<UnsafeRawPointer>.size)
    }

    @Test func theHostsFrozenSizesAreTheV1_0HeadersSizes() throws {
        // Compiled against the frozen header: what v1.0's sizeof gave, whatever the current header says.
        let dir = try TemporaryDirectory()
        try """
            #include <stdio.h>
            #include "cairn_plugin.h"
            int main(void) {
                printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(cairn_plugin), sizeof(cairn_component_api), sizeof(cairn_storage_api),
                       CAIRN_PLUGIN_SIZE_V1_0, CAIRN_COMPONENT_API_SIZE_V1_0, CAIRN_STORAGE_API_SIZE_V1_0);
                return 0;
            }
            """.write(to: dir.path("sizes.c"), atomically: true, encoding: .utf8)
        try runTool(["cc", "-I", Self.frozenV1_0.path, "-o", dir.path("sizes").path, dir.path("sizes.c").path])
        let printed = try runTool([dir.path("sizes").path]).text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let frozen = [FrozenABI.plugin, FrozenABI.componentAPI, FrozenABI.storageAPI]
        #expect(Array(printed.prefix(3)) == frozen)
        #expect(Array(printed.suffix(3)) == frozen)
    }

    @Test func everyV1_0FieldKeepsItsOffsetInTheCurrentHeader() throws {
        // The fields of every struct of the frozen header, read from its text; then one program
        // that prints their offsets, built against the frozen and against the current header.
        let frozen = try String(contentsOf: Self.frozenV1_0.appendingPathComponent("cairn_plugin.h"), encoding: .utf8)
        let code = frozen.replacingOccurrences(of: #"/\*[\s\S]*?\*/"#, with: "", options: .regularExpression)
        let structPattern = try NSRegularExpression(pattern: #"typedef struct (\w+) \{([\s\S]*?)\} \1;"#)
        var printers: [String] = []
        for match in structPattern.matches(in: code, range: NSRange(code.startIndex..., in: code)) {
            let name = String(code[Range(match.range(at: 1), in: code)!]), body = String(code[Range(match.range(at: 2), in: code)!])
            for declaration in body.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !declaration.isEmpty {
                let field = declaration.range(of: #"\(\*\s*(\w+)\)"#, options: .regularExpression).map {
                    declaration[$0].trimmingCharacters(in: CharacterSet(charactersIn: "(*) "))
                } ?? String(declaration.split(whereSeparator: { " *".contains($0) }).last!)
                printers.append(#"printf("\#(name).\#(field) %zu\n", offsetof(\#(name), \#(field)));"#)
            }
            printers.append(#"printf("\#(name) size %zu\n", sizeof(\#(name)));"#)
        }
        #expect(printers.count > 100, "read \(printers.count) fields from the frozen header")
        let dir = try TemporaryDirectory()
        try "#include <stdio.h>\n#include <stddef.h>\n#include \"cairn_plugin.h\"\nint main(void) {\n\(printers.joined(separator: "\n"))\nreturn 0;\n}\n"
            .write(to: dir.path("offsets.c"), atomically: true, encoding: .utf8)
        func offsets(_ include: URL) throws -> [String: Int] {
            let program = dir.path("offsets-\(include.lastPathComponent)")
            try runTool(["cc", "-I", include.path, "-o", program.path, dir.path("offsets.c").path])
            return Dictionary(uniqueKeysWithValues: try runTool([program.path]).text.split(separator: "\n").map {
                let parts = $0.split(separator: " ")
                return (String(parts.dropLast().joined(separator: " ")), Int(parts.last!)!)
            })
        }
        let old = try offsets(Self.frozenV1_0), new = try offsets(TestPaths.header)
        #expect(old.count == printers.count)
        for (key, offset) in old.sorted(by: { $0.key < $1.key }) {
            if key.hasSuffix(" size") { #expect(new[key]! >= offset, "\(key) shrank") } else { #expect(new[key] == offset, "\(key) moved") }
        }
    }

    @Test func aPluginsOwnCopyOfALibraryTheHostLinksBindsToTheHostsUnlessKeptPrivate() throws {
        // What docs/plugin-authors.md says of a plugin bringing its own SQLite: opened as the
        // loader opens plugins, its call of sqlite3_libversion reaches the host's copy (this
        // program links libsqlite3), unless the plugin binds its own symbols (-Bsymbolic) or
        // hides them.
        let dir = try TemporaryDirectory()
        try """
            const char *sqlite3_libversion(void) { return "the plugin's own copy"; }
            const char *which_sqlite(void) { return sqlite3_libversion(); }
            """.write(to: dir.path("own.c"), atomically: true, encoding: .utf8)
        func version(_ flags: [String], _ name: String) throws -> String {
            let library = dir.path(name)
            try runTool(["cc", "-shared", "-fPIC"] + flags + ["-o", library.path, dir.path("own.c").path])
            let handle = try #require(dlopen(library.path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))
            let symbol = try #require(dlsym(handle, "which_sqlite"))
            let which = unsafeBitCast(symbol, to: (@convention(c) () -> UnsafePointer<CChar>).self)
            return String(cString: which())
        }
        let plain = try version([], "libplain.so")
        #expect(plain != "the plugin's own copy")
        #expect(plain.hasPrefix("3."), "\(plain)")   // the host's libsqlite3
        #expect(try version(["-Wl,-Bsymbolic"], "libsymbolic.so") == "the plugin's own copy")
    }

    @Test func theThreadSafeBitIsRecordedNotActedOn() throws {
        let dir = try TemporaryDirectory()
        #expect(try PluginLoader.load(try buildPlugin(in: dir, flags: ["-DCAPABILITIES=1"])).declaresThreadSafe)
        let plain = try TemporaryDirectory()
        #expect(!(try PluginLoader.load(try buildPlugin(in: plain)).declaresThreadSafe))
    }

    @Test func aManifestThatMisstatesTheLibrarysABIIsRefused() throws {
        let dir = try TemporaryDirectory()
        let message = loadError(try buildPlugin(in: dir, manifest: ["abi": ["major": 1, "minor": Int(HostABI.minor) + 1]]))
        #expect(message.contains("manifest says ABI 1.\(HostABI.minor + 1), the library says 1.\(HostABI.minor)"), "\(message)")
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
