import Foundation
import Logging
import Testing
@testable import CairnCore
@testable import CairnArchive
@testable import CairnInterfaces
@testable import CairnPluginHost
import CairnTestSupport

// MARK: Fixtures

/// The actions test_plugin.c exports, one per marshalling case.
private var fixtureActions: [String: Any] { [
    "add": action("teststore_add", [("a", "int64"), ("b", "int64")], "int64"),
    "negate32": action("teststore_negate32", [("value", "int32")], "int32"),
    "xor32": action("teststore_xor32", [("a", "uint32"), ("b", "uint32")], "uint32"),
    "half64": action("teststore_half64", [("value", "uint64")], "uint64"),
    "scale": action("teststore_scale", [("value", "double"), ("factor", "double")], "double"),
    "not": action("teststore_not", [("flag", "bool")], "bool"),
    "mix": action("teststore_mix", [("a", "int32"), ("b", "uint32"), ("c", "int64"), ("d", "uint64"), ("e", "double"),
                                    ("f", "bool"), ("s", "string"), ("g", "int32"), ("h", "int64")], "double"),
    "greet": action("teststore_greet", [("name", "string")], "string"),
    "setting": action("teststore_setting", [("key", "string")], "string"),
    "touch": action("teststore_touch", [("name", "string"), ("message", "string")], "void"),
] }

private var fixtureSettings: [String: Any] { [
    "region": ["type": "string"],
    "token": ["type": "string", "secret": true, "env": "TESTSTORE_TOKEN"],
    "root": ["type": "path", "required": true],
] }

private func action(_ symbol: String, _ parameters: [(String, String)], _ returns: String) -> [String: Any] {
    ["symbol": symbol, "parameters": parameters.map { ["name": $0.0, "type": $0.1] }, "returns": returns]
}

/// Compiles test_plugin.c into `dir` with a manifest declaring `actions`.
private func buildFixture(in dir: TemporaryDirectory, actions: [String: Any] = fixtureActions) throws -> PluginCandidate {
    try buildPlugin(in: dir, manifest: ["settings": fixtureSettings, "actions": actions])
}

private func bundledDirectoryPlugin() throws -> LoadedPlugin {
    try PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
        .load("directory", kind: .component)
}

/// Log lines a plugin wrote through host->log.
private final class LogRecorder: @unchecked Sendable {
    // @unchecked: `entries` is guarded by `lock`.
    private let lock = NSLock()
    private var entries: [(level: Logger.Level, message: String, plugin: String?)] = []

    func append(_ entry: (level: Logger.Level, message: String, plugin: String?)) {
        lock.lock(); defer { lock.unlock() }
        entries.append(entry)
    }

    var lines: [(level: Logger.Level, message: String, plugin: String?)] {
        lock.lock(); defer { lock.unlock() }
        return entries
    }

    var logger: Logger { Logger(label: "test") { _ in RecordingHandler(recorder: self) } }

    struct RecordingHandler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            recorder.append((event.level, "\(event.message)", event.metadata?["plugin"].map { "\($0)" }))
        }
    }
}

/// Calls `name` of `plugin` with a fresh temporary folder.
/// A plugin built here runs in a worker by default (isolation: process), a bundled one in cairn.
private func call(_ plugin: LoadedPlugin, _ name: String, _ arguments: [JSONValue], settings: PluginSettings = PluginSettings(),
                  logs: LogRecorder = LogRecorder(), temporary: TemporaryDirectory? = nil,
                  isolation: PluginIsolation? = nil) throws -> JSONValue {
    let folder = try temporary ?? TemporaryDirectory("cairn-action")
    return try NativeAction(plugin: plugin, name: name).call(
        arguments: arguments, settings: settings, logger: logs.logger, cancellation: Cancellation(),
        temporaryDirectory: folder.url.path, isolation: isolation)
}

/// The message of the error `body` throws.
private func errorMessage(_ body: () throws -> Any) -> String {
    do { _ = try body(); return "no error" } catch { return describe(error) }
}

/// A tree with nested folders, an empty file, a symlink (not a regular file) and 1 005 bytes.
private func makeTree() throws -> TemporaryDirectory {
    let tree = try TemporaryDirectory("cairn-tree")
    try FileManager.default.createDirectory(at: tree.path("a/b/c"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: tree.path("empty"), withIntermediateDirectories: true)
    try Data().write(to: tree.path("zero"))
    try Data("hello".utf8).write(to: tree.path("a/five"))
    try Data(repeating: 7, count: 1000).write(to: tree.path("a/b/c/thousand"))
    try FileManager.default.createSymbolicLink(atPath: tree.path("a/link").path, withDestinationPath: "five")
    return tree
}

private func findCount(_ directory: URL) throws -> Int {
    Int(try runShell("find '\(directory.path)' -type f | wc -l").text.trimmingCharacters(in: .whitespacesAndNewlines))!
}

// MARK: Tests

@Suite("Native actions through libffi")
struct NativeActionTests {
    // The real C plugin

    @Test func directoryCountFilesMatchesFind() throws {
        let plugin = try bundledDirectoryPlugin()
        let tree = try makeTree()
        #expect(try call(plugin, "count_files", [.string(tree.url.path)]) == .number(Double(try findCount(tree.url))))
        #expect(try findCount(tree.url) == 3)
        let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
        #expect(try call(plugin, "count_files", [.string(sources.path)]) == .number(Double(try findCount(sources))))
    }

    @Test func directoryDescribeReturnsAHostAllocatedString() throws {
        let plugin = try bundledDirectoryPlugin()
        let tree = try makeTree()
        #expect(try call(plugin, "describe", [.string(tree.url.path)]) == .string("3 files, 1005 bytes"))
        #expect(try call(plugin, "describe", [.string(tree.path("a/b").path)]) == .string("1 file, 1000 bytes"))
    }

    @Test func directoryActionsReportErrorsThroughTheirValueAndTheLog() throws {
        let plugin = try bundledDirectoryPlugin()
        let logs = LogRecorder()
        #expect(try call(plugin, "count_files", [.string("/nonexistent/cairn")], logs: logs) == .number(-1))
        #expect(try call(plugin, "describe", [.string("/nonexistent/cairn")], logs: logs) == .null)
        let lines = logs.lines
        #expect(lines.count == 2)
        #expect(lines.first?.level == .error)
        #expect(lines.first?.plugin == "directory")
        #expect(lines.first?.message == "count_files: cannot open directory '/nonexistent/cairn': No such file or directory")
        #expect(lines.last?.message.hasPrefix("describe: cannot open directory") == true)
    }

    // Marshalling of every type (test_plugin.c)

    /// The same calls through libffi in cairn and in a worker give the same values, and a
    /// worker's string result comes back in memory the host frees.
    @Test func everyTypeCrossesTheSameInAWorkerAndInCairn() throws {
        let dir = try TemporaryDirectory("cairn-action-modes")
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        #expect(PluginIsolation.defaultMode(for: plugin) == .process)
        let calls: [(String, [JSONValue])] = [
            ("add", [.number(-3), .number(1e15)]), ("negate32", [.number(-2_147_483_647)]), ("xor32", [.number(4_294_967_295), .number(1)]),
            ("half64", [.number(0x1p63)]), ("scale", [.number(0.1), .number(3)]), ("not", [.bool(true)]),
            ("mix", [.number(-1), .number(2), .number(-3), .number(4), .number(0.5), .bool(true), .string("six"), .number(-7), .number(8)]),
            ("greet", [.string("wörld")]),
        ]
        for (name, arguments) in calls {
            let inCairn = try call(plugin, name, arguments, isolation: PluginIsolation(mode: .inProcess))
            let inWorker = try call(plugin, name, arguments, isolation: PluginIsolation(mode: .process))
            #expect(inCairn == inWorker, "\(name): \(inCairn) in cairn, \(inWorker) in a worker")
        }
        #expect(try call(plugin, "greet", [.string("wörld")], isolation: PluginIsolation(mode: .process)) != .null)
    }

    @Test func integersCrossInBothDirections() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        #expect(try call(plugin, "add", [.number(-3), .number(1e15)]) == .number(1e15 - 3))
        // Narrow signed results come back widened: a negative int32 must not turn into 4294967291.
        #expect(try call(plugin, "negate32", [.number(5)]) == .number(-5))
        #expect(try call(plugin, "negate32", [.number(-2_147_483_647)]) == .number(2_147_483_647))
        #expect(try call(plugin, "negate32", [.number(2_147_483_647)]) == .number(-2_147_483_647))
        #expect(try call(plugin, "negate32", [.number(0)]) == .number(0))
        #expect(try call(plugin, "xor32", [.number(4_294_967_295), .number(1)]) == .number(4_294_967_294))
        #expect(try call(plugin, "xor32", [.number(0x8000_0000), .number(0)]) == .number(2_147_483_648))
        #expect(try call(plugin, "half64", [.number(0x1p63)]) == .number(0x1p62))
    }

    @Test func doublesAndBooleansCross() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        #expect(try call(plugin, "scale", [.number(2.5), .number(-4)]) == .number(-10))
        #expect(try call(plugin, "scale", [.number(0.1), .number(3)]) == .number(0.1 * 3))
        #expect(try call(plugin, "scale", [.number(1e300), .number(1e-300)]) == .number(1e300 * 1e-300))
        #expect(try call(plugin, "not", [.bool(true)]) == .bool(false))
        #expect(try call(plugin, "not", [.bool(false)]) == .bool(true))
    }

    @Test func manyArgumentsOfEveryTypeReachTheStackInOrder() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        let result = try call(plugin, "mix", [.number(-7), .number(4_000_000_000), .number(-5e12), .number(9e15), .number(0.5),
                                              .bool(true), .string("four"), .number(-1), .number(2)])
        let expected = -7.0 + 4_000_000_000.0 + -5e12 + 9e15 + 0.5 + 1000.0 + 4.0 + -1.0 + 2.0
        #expect(result == .number(expected))
    }

    @Test func stringsCrossAndNullIsNull() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        #expect(try call(plugin, "greet", [.string("wörld")]) == .string("hello, wörld"))
        #expect(try call(plugin, "greet", [.string("")]) == .null)
        let long = String(repeating: "x", count: 100_000)
        #expect(try call(plugin, "greet", [.string(long)]) == .string("hello, " + long))
    }

    @Test func theHostTableCarriesSettingsLogAndTemporaryFolder() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        let settings = PluginSettings(values: [
            "region": .init(value: .string("eu-west-1"), origin: .builtIn, secret: false),
            "token": .init(value: .string("s3cr3t"), origin: .builtIn, secret: true),
        ])
        #expect(try call(plugin, "setting", [.string("region")], settings: settings) == .string("eu-west-1"))
        #expect(try call(plugin, "setting", [.string("token")], settings: settings) == .null)  // secret_get only
        #expect(try call(plugin, "setting", [.string("root")], settings: settings) == .null)

        let logs = LogRecorder()
        let temporary = try TemporaryDirectory("cairn-action")
        #expect(try call(plugin, "touch", [.string("marker"), .string("touched")], logs: logs, temporary: temporary) == .null)
        #expect(FileManager.default.fileExists(atPath: temporary.path("marker").path))
        #expect(logs.lines.map(\.message) == ["touched"])
        #expect(logs.lines.first?.level == .warning)
    }

    // Checking arguments without calling

    @Test func wrongTypesAreNamedWithTheValueGiven() throws {
        let directory = try NativeAction(plugin: try bundledDirectoryPlugin(), name: "count_files")
        #expect(errorMessage { try directory.check(positional: [.number(42)]) }
                    == "action directory.count_files: parameter 'path' expects string, got 42")
        #expect(errorMessage { try directory.check(named: ["path": .bool(true)]) }
                    == "action directory.count_files: parameter 'path' expects string, got true")
        #expect(errorMessage { try directory.check(positional: [.string("a\u{0}b")]) }
                    .contains("expects string, got \"a\\u0000b\" (contains a NUL character)"))

        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        let negate = try NativeAction(plugin: plugin, name: "negate32")
        #expect(errorMessage { try negate.check(positional: [.string("5")]) }
                    == "action teststore.negate32: parameter 'value' expects int32, got \"5\"")
        #expect(errorMessage { try negate.check(positional: [.number(1.5)]) }
                    == "action teststore.negate32: parameter 'value' expects int32, got 1.5 (not a whole number)")
        #expect(errorMessage { try negate.check(positional: [.number(2_147_483_648)]) }
                    == "action teststore.negate32: parameter 'value' expects int32, got 2147483648 (out of range -2147483648...2147483647)")
        #expect(errorMessage { try negate.check(positional: [.number(-2_147_483_649)]) }.contains("out of range"))
        #expect(try negate.check(positional: [.number(-2_147_483_648)]) == [.number(-2_147_483_648)])
        let xor = try NativeAction(plugin: plugin, name: "xor32")
        #expect(errorMessage { try xor.check(positional: [.number(-1), .number(0)]) }
                    == "action teststore.xor32: parameter 'a' expects uint32, got -1 (out of range 0...4294967295)")
        #expect(errorMessage { try xor.check(positional: [.number(1), .number(4_294_967_296)]) }.contains("parameter 'b'"))
        let half = try NativeAction(plugin: plugin, name: "half64")
        #expect(errorMessage { try half.check(positional: [.number(0x1p64)]) }.contains("out of range 0...18446744073709551615"))
        let not = try NativeAction(plugin: plugin, name: "not")
        #expect(errorMessage { try not.check(positional: [.number(1)]) } == "action teststore.not: parameter 'flag' expects bool, got 1")
        let scale = try NativeAction(plugin: plugin, name: "scale")
        #expect(try scale.check(positional: [.number(2), .number(0.5)]) == [.number(2), .number(0.5)])
        #expect(errorMessage { try scale.check(positional: [.number(2), .string("x")]) }.contains("parameter 'factor' expects double, got \"x\""))
    }

    @Test func missingExtraAndUnknownArgumentsAreReported() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        let xor = try NativeAction(plugin: plugin, name: "xor32")
        #expect(errorMessage { try xor.check(positional: [.number(1)]) }
                    == "action teststore.xor32: missing argument 'b' (uint32); it takes xor32(a: uint32, b: uint32) -> uint32")
        #expect(errorMessage { try xor.check(positional: []) }.contains("missing arguments 'a' (uint32), 'b' (uint32)"))
        #expect(errorMessage { try xor.check(positional: [.number(1), .number(2), .number(3), .string("x")]) }
                    == "action teststore.xor32: too many arguments: it takes 2 (xor32(a: uint32, b: uint32) -> uint32), got 4; extra: 3, \"x\"")
        #expect(errorMessage { try xor.check(named: ["a": .number(1)]) }.contains("missing argument 'b' (uint32)"))
        #expect(errorMessage { try xor.check(named: ["a": .number(1), "b": .number(2), "bb": .number(3)]) }
                    == "action teststore.xor32: unknown parameter 'bb' (xor32(a: uint32, b: uint32) -> uint32). Did you mean 'b'?")
        // By name, the result is still in declaration order.
        #expect(try xor.check(named: ["b": .number(2), "a": .number(1)]) == [.number(1), .number(2)])
        // call checks too, before anything reaches the plugin.
        #expect(errorMessage { try call(plugin, "xor32", [.number(1)]) }.contains("missing argument 'b'"))
    }

    @Test func unknownActionsListTheActions() throws {
        let plugin = try bundledDirectoryPlugin()
        let message = errorMessage { try NativeAction(plugin: plugin, name: "count") }
        #expect(message == "plugin directory has no action 'count' (actions: count_files, describe).")
        #expect(errorMessage { try NativeAction(plugin: plugin, name: "describ") }.hasSuffix("Did you mean 'describe'?"))
        #expect((try? NativeAction(plugin: plugin, name: "count")) == nil)
    }

    @Test func commandLineWordsAreReadAsTheDeclaredTypes() throws {
        let dir = try TemporaryDirectory()
        let plugin = try PluginLoader.load(try buildFixture(in: dir))
        let mix = try NativeAction(plugin: plugin, name: "mix")
        #expect(try mix.parse(commandLine: ["-7", "4000000000", "-5000000000000", "9000000000000000", "0.5", "true", "42", "-1", "h=2"])
                    == [.number(-7), .number(4e9), .number(-5e12), .number(9e15), .number(0.5), .bool(true), .string("42"), .number(-1), .number(2)])
        let xor = try NativeAction(plugin: plugin, name: "xor32")
        #expect(try xor.parse(commandLine: ["b=2", "a=1"]) == [.number(1), .number(2)])
        #expect(try xor.parse(commandLine: ["1", "b=2"]) == [.number(1), .number(2)])
        #expect(errorMessage { try xor.parse(commandLine: ["x", "2"]) } == "action teststore.xor32: parameter 'a' expects uint32, got \"x\"")
        #expect(errorMessage { try xor.parse(commandLine: ["1.5", "2"]) }.contains("got 1.5 (not a whole number)"))
        #expect(errorMessage { try xor.parse(commandLine: ["-1", "2"]) }.contains("got -1 (out of range 0...4294967295)"))
        #expect(errorMessage { try xor.parse(commandLine: ["a=1", "a=2"]) } == "action teststore.xor32: argument 'a' is given twice")
        #expect(errorMessage { try xor.parse(commandLine: ["1", "a=2"]) }.contains("argument 'a' is given twice (by position and by name)"))
        #expect(errorMessage { try xor.parse(commandLine: ["b=2", "1"]) }.contains("positional argument '1' follows a named one"))
        #expect(errorMessage { try xor.parse(commandLine: ["1", "2", "3"]) }.contains("too many arguments"))
        #expect(errorMessage { try xor.parse(commandLine: ["a=1", "b=2", "3"]) }.contains("follows a named one"))
        #expect(errorMessage { try xor.parse(commandLine: ["1"]) }.contains("missing argument 'b'"))
        let not = try NativeAction(plugin: plugin, name: "not")
        #expect(try not.parse(commandLine: ["false"]) == [.bool(false)])
        #expect(errorMessage { try not.parse(commandLine: ["yes"]) } == "action teststore.not: parameter 'flag' expects bool, got \"yes\"")
        let scale = try NativeAction(plugin: plugin, name: "scale")
        #expect(try scale.parse(commandLine: ["1e3", "-0.25"]) == [.number(1000), .number(-0.25)])
        #expect(errorMessage { try scale.parse(commandLine: ["nan", "1"]) }.contains("expects double, got \"nan\""))
        // A word `x=y` is named only when x is a parameter; otherwise it is a value.
        let greet = try NativeAction(plugin: plugin, name: "greet")
        #expect(try greet.parse(commandLine: ["a=b"]) == [.string("a=b")])
        #expect(try greet.parse(commandLine: ["name=a=b"]) == [.string("a=b")])
        // Whole numbers beyond 2^53 would arrive rounded; refuse them rather than pass another value.
        let add = try NativeAction(plugin: plugin, name: "add")
        #expect(errorMessage { try add.parse(commandLine: ["9007199254740993", "0"]) }
                    == "action teststore.add: parameter 'a': 9007199254740993 cannot be passed exactly (arguments are JSON numbers, exact up to ±2^53)")
        #expect(try add.parse(commandLine: ["9007199254740992", "-9223372036854775808"]) == [.number(9_007_199_254_740_992), .number(-9_223_372_036_854_775_808)])
        let half = try NativeAction(plugin: plugin, name: "half64")
        #expect(errorMessage { try half.parse(commandLine: ["18446744073709551615"]) }.contains("cannot be passed exactly"))
        #expect(errorMessage { try half.parse(commandLine: ["18446744073709551616"]) }.contains("out of range"))
    }

    @Test func manifestsRefuseVoidParametersAndDuplicateNames() throws {
        let voidParameter = try buildFixture(in: try TemporaryDirectory(), actions: ["x": action("teststore_add", [("a", "void")], "int64")])
        #expect(voidParameter.problem?.contains("action 'x': parameter 'a' cannot be void (void is allowed as a return type only)") == true)
        let duplicate = try buildFixture(in: try TemporaryDirectory(), actions: ["x": action("teststore_add", [("a", "int64"), ("a", "int64")], "int64")])
        #expect(duplicate.problem?.contains("action 'x': parameter 'a' is declared twice") == true)
        let badName = try buildFixture(in: try TemporaryDirectory(), actions: ["x": action("teststore_add", [("a=b", "int64")], "int64")])
        #expect(badName.problem?.contains("parameter name 'a=b' must be letters") == true)
        let unknownReturn = try buildFixture(in: try TemporaryDirectory(), actions: ["x": action("teststore_add", [], "float")])
        #expect(unknownReturn.problem?.contains("unknown return type 'float'") == true)
        let stringAndVoid = try buildFixture(in: try TemporaryDirectory(), actions: [
            "g": action("teststore_greet", [("name", "string")], "string"),
            "t": action("teststore_touch", [("name", "string"), ("message", "string")], "void"),
        ])
        #expect(stringAndVoid.problem == nil)
    }

    // The command line

    @Test func cairnPluginsCallRunsTheDirectoryAction() throws {
        let tree = try makeTree()
        let work = try TemporaryDirectory("cairn-call")
        func cairn(_ arguments: [String]) throws -> ToolResult {
            try runCairn(arguments, config: nil, in: work.url, unset: ["CAIRN_PLUGIN_PATH", "CAIRN_DIRECTORY_PATH"])
        }

        let plain = try cairn(["plugins", "call", "directory", "count_files", tree.url.path])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.text == "\(try findCount(tree.url))\n")

        let json = try cairn(["plugins", "call", "directory", "describe", "path=\(tree.url.path)", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try JSONValue.parse(json.text) == .object(["plugin": .string("directory"), "action": .string("describe"),
                                                          "result": .string("3 files, 1005 bytes")]))

        // No failure channel beyond the value: -1 is printed and the call itself succeeded.
        let missing = try cairn(["plugins", "call", "directory", "count_files", work.path("absent").path])
        #expect(missing.status == 0)
        #expect(missing.text == "-1\n")
        #expect(missing.stderr.contains("count_files: cannot open directory"))

        let badArguments = try cairn(["plugins", "call", "directory", "count_files"])
        #expect(badArguments.status == 2)
        #expect(badArguments.stderr.contains("action directory.count_files: missing argument 'path' (string)"))
        let extra = try cairn(["plugins", "call", "directory", "count_files", "/a", "-5"])
        #expect(extra.status == 2)
        #expect(extra.stderr.contains("extra: \"-5\""))
        let unknownAction = try cairn(["plugins", "call", "directory", "count"])
        #expect(unknownAction.status == 2)
        #expect(unknownAction.stderr.contains("plugin directory has no action 'count' (actions: count_files, describe)"))
        let unknownPlugin = try cairn(["plugins", "call", "direktory", "count_files", "/"])
        #expect(unknownPlugin.status == 2)
        #expect(unknownPlugin.stderr.contains("unknown plugin 'direktory'"))
        #expect(unknownPlugin.stderr.contains("Did you mean 'directory'?"))

        let help = try cairn(["plugins", "call", "--help"])
        #expect(help.text.contains("cairn plugins call directory count_files /etc"))
    }

    @Test func cairnPluginsCallUsesConfiguredSettingsAndTypedWords() throws {
        let plugins = try TemporaryDirectory("cairn-plugins")
        _ = try buildFixture(in: plugins)
        let work = try TemporaryDirectory("cairn-call")
        // The required `root` is absent: actions run without `open`, so that is no obstacle.
        try "storage:\n  type: teststore\n  region: eu-west-1\n".write(to: work.path("cairn.yaml"), atomically: true, encoding: .utf8)
        func cairn(_ arguments: [String]) throws -> ToolResult {
            try runCairn(["plugins", "call", "teststore"] + arguments, config: nil, in: work.url,
                         environment: ["CAIRN_PLUGIN_PATH": plugins.url.path, "TESTSTORE_TOKEN": "s3cr3t"])
        }
        #expect(try cairn(["setting", "region"]).text == "eu-west-1\n")
        #expect(try cairn(["setting", "token"]).text == "null\n")
        #expect(try cairn(["negate32", "-5"]).text == "5\n")
        #expect(try cairn(["negate32", "--", "7"]).text == "-7\n")
        #expect(try cairn(["scale", "1.5", "2"]).text == "3.0\n")
        #expect(try cairn(["not", "flag=true"]).text == "false\n")
        #expect(try cairn(["add", "9007199254740992", "-1"]).text == "9007199254740991\n")
        #expect(try cairn(["touch", "marker", "hello"]).text == "")
        let outOfRange = try cairn(["negate32", "2147483648"])
        #expect(outOfRange.status == 2)
        #expect(outOfRange.stderr.contains("parameter 'value' expects int32, got 2147483648 (out of range"))
    }
}
