import CairnCore
import CairnPluginHost
import CairnTestSupport
import Foundation
import Testing

/// The plugin author's kit as an author meets it: `cairn plugins new` skeletons built against the
/// installed header, `cairn plugins test` on them, on the bundled plugins and on a plugin that
/// breaks the rules; and the interrupt a blocked plugin registers, fired by a step's timeout and
/// by SIGTERM through the real binary.
@Suite("Plugin author's kit: plugins new, plugins test, interrupts", .serialized)
struct PluginKitTests {
    let temp: TemporaryDirectory
    let data: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-kit")
        data = temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: data.appendingPathComponent("a.txt"))
        try StoreConformanceData.random(200_000).write(to: data.appendingPathComponent("b.bin"))
    }

    func cairn(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: nil, in: directory ?? temp.url, environment: environment)
    }

    /// Cases by name -> (status, detail), from `plugins test --json`.
    func cases(_ result: ToolResult) throws -> [String: (String, String)] {
        guard case .array(let items)? = try JSONValue.parse(result.text)["cases"] else { return [:] }
        return Dictionary(uniqueKeysWithValues: items.compactMap { item in
            item["name"]?.stringValue.map { ($0, (item["status"]?.stringValue ?? "", item["detail"]?.stringValue ?? "")) }
        })
    }

    /// Eight cases, all passed but the threading rule, which a worker cannot show and skips.
    static func passedInAWorker(_ results: [String: (String, String)]) -> Bool {
        results.count == 8 && results["host services only during a call"]?.0 == "skip"
            && results.filter { $0.key != "host services only during a call" }.values.allSatisfy { $0.0 == "pass" }
    }

    /// Installs the built binaries under a prefix, as an operator would: the header and
    /// cairn-plugin.pc an outside author builds against.
    func install() throws -> URL {
        let prefix = temp.path("prefix")
        let install = try runShell("CAIRN_BIN_DIR='\(TestPaths.buildDirectory.path)' '\(TestPaths.packageRoot.path)/scripts/install' '\(prefix.path)'",
                                   check: false)
        #expect(install.status == 0, "\(install.stderr)")
        return prefix
    }

    @Test func theBundledPluginsPassTheConformanceSuite() throws {
        let directory = try cairn(["plugins", "test", "directory", "--set", "path=\(data.path)", "--json"])
        #expect(directory.status == 0, "\(directory.text)\(directory.stderr)")
        let results = try cases(directory)
        #expect(results.count == 8)
        #expect(results.values.allSatisfy { $0.0 == "pass" }, "\(results)")
        #expect(results["verify catches a flipped byte"]?.1 == "a byte of 'b.bin' flipped")

        let filesystem = try cairn(["plugins", "test", "filesystem", "--set", "root=\(temp.path("store").path)"])
        #expect(filesystem.status == 0, "\(filesystem.text)\(filesystem.stderr)")
        #expect(filesystem.text.contains("ok    a conditional write creates only what is absent and replaces only what is unchanged"))
        #expect(filesystem.text.contains("14 passed, 0 with warnings, 0 failed, 0 skipped"), "\(filesystem.text)")
    }

    @Test func theBundledPluginsPassTheConformanceSuiteInAWorkerProcess() throws {
        let directory = try cairn(["plugins", "test", "directory", "--isolation", "process", "--set", "path=\(data.path)", "--json"])
        #expect(directory.status == 0, "\(directory.text)\(directory.stderr)")
        let results = try cases(directory)
        #expect(Self.passedInAWorker(results), "\(results)")
        #expect(results["verify catches a flipped byte"]?.1 == "a byte of 'b.bin' flipped")

        let filesystem = try cairn(["plugins", "test", "filesystem", "--isolation", "process", "--set", "root=\(temp.path("store").path)"])
        #expect(filesystem.status == 0, "\(filesystem.text)\(filesystem.stderr)")
        #expect(filesystem.text.contains("13 passed, 0 with warnings, 0 failed, 1 skipped"), "\(filesystem.text)")

        let wrong = try cairn(["plugins", "test", "directory", "--isolation", "sandbox", "--set", "path=\(data.path)"])
        #expect(wrong.status == 2 && wrong.stderr.contains("--isolation must be process or in-process, got 'sandbox'"), "\(wrong.stderr)")
    }

    @Test func aPluginThatBreaksTheRulesFailsWithNamedReasons() throws {
        let folder = temp.path("broken")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try runTool(["cc", "-shared", "-fPIC", "-pthread", "-I", TestPaths.header.path, "-o", folder.appendingPathComponent("libbroken.so").path,
                     TestPaths.fixtures.appendingPathComponent("broken_component.c").path])
        try #"{"name":"broken","kind":"component","version":"1.0.0","abi":{"major":1,"minor":\#(HostABI.minor)},"library":"libbroken.so","language":"c"}"#
            .write(to: folder.appendingPathComponent("plugin.json"), atomically: true, encoding: .utf8)
        let started = Date()
        // In-process: a stray call from a worker waits on its channel, unseen (that case is skipped there).
        let result = try cairn(["plugins", "test", folder.appendingPathComponent("libbroken.so").path, "--cancel-bound", "1",
                                "--isolation", "in-process", "--json"])
        #expect(result.status == 1, "\(result.text)\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        let results = try cases(result)
        #expect(results["verify catches a flipped byte"]?.0 == "fail")
        #expect(results["verify catches a flipped byte"]?.1.contains("verify passed a backup whose file 'data.txt' has a flipped byte") == true)
        #expect(results["a restore that cannot write fails with a message"]?.1.contains("restore failed without a message") == true, "\(results)")
        #expect(results["a cancelled backup stops within 1 s"]?.1.contains("backup was still running 1 s after the run was cancelled") == true, "\(results)")
        #expect(results["host services only during a call"]?.1.contains("call(s) of log after the operation returned") == true, "\(results)")
        // What it does right still passes: the suite names the broken rules, not the plugin.
        #expect(results["backs up into a store, and the archive reads back and verifies"]?.0 == "pass")
    }

    @Test func aCSkeletonBuildsAgainstTheInstalledHeaderAndPasses() throws {
        let prefix = try install()
        let new = try cairn(["plugins", "new", "my-db", "--lang", "c"])
        #expect(new.status == 0, "\(new.stderr)")
        #expect(new.text.contains("next: cd"))
        let folder = temp.path("my-db")
        let build = try runShell("cd '\(folder.path)' && PKG_CONFIG_PATH='\(prefix.path)/lib/pkgconfig' make", check: false)
        #expect(build.status == 0, "\(build.text)\(build.stderr)")
        #expect(!build.stderr.contains("warning"), "\(build.stderr)")
        // An author's plugin runs in a worker by default, as a configured instance of it would.
        let result = try cairn(["plugins", "test", "./libmy-db.so", "--set", "path=\(data.path)", "--json"], in: folder)
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(Self.passedInAWorker(try cases(result)))
        let inProcess = try cairn(["plugins", "test", "./libmy-db.so", "--isolation", "in-process", "--set", "path=\(data.path)", "--json"], in: folder)
        #expect(inProcess.status == 0, "\(inProcess.text)\(inProcess.stderr)")
        let results = try cases(inProcess)
        #expect(results.count == 8 && results.values.allSatisfy { $0.0 == "pass" }, "\(results)")
        // A second skeleton into the same folder is refused; a bad name is a usage error.
        #expect(try cairn(["plugins", "new", "my-db", "--lang", "c"]).status == 2)
        let badName = try cairn(["plugins", "new", "My DB", "--lang", "c"])
        #expect(badName.status == 2)
        #expect(badName.stderr.contains("must start with a lower-case letter"), "\(badName.stderr)")
        #expect(try cairn(["plugins", "new", "x", "--lang", "rust"]).stderr.contains("--lang rust: expected c or swift"))
    }

    @Test func aSwiftSkeletonBuildsWithSwiftPMAndPasses() throws {
        let prefix = try install()
        #expect(try cairn(["plugins", "new", "swiftdb", "--lang", "swift"]).status == 0)
        let folder = temp.path("swiftdb")
        let build = try runShell("cd '\(folder.path)' && PKG_CONFIG_PATH='\(prefix.path)/lib/pkgconfig' swift build -c release 2>&1", check: false)
        #expect(build.status == 0, "\(build.text)")
        let result = try cairn(["plugins", "test", ".build/release/libSwiftdb.so", "--set", "path=\(data.path)", "--json"], in: folder)
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(Self.passedInAWorker(try cases(result)))
    }

    // MARK: Interrupts through the real binary

    /// The probe plugin (Tests/Fixtures/probe_plugin.c) in block mode, as a configured component
    /// running in `isolation` (in a worker, cairn's SIGUSR1 makes the worker call the interrupt).
    func blockedProbe(_ isolation: PluginIsolation.Mode) throws -> URL {
        let folder = temp.path("plugins/probe")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try runTool(["cc", "-shared", "-fPIC", "-pthread", "-I", TestPaths.header.path, "-o", folder.appendingPathComponent("libprobe.so").path,
                     TestPaths.fixtures.appendingPathComponent("probe_plugin.c").path])
        try #"{"name":"probe","kind":"component","version":"1.0.0","abi":{"major":1,"minor":\#(HostABI.minor)},"library":"libprobe.so","language":"c","settings":{"mode":{"type":"string"}}}"#
            .write(to: folder.appendingPathComponent("plugin.json"), atomically: true, encoding: .utf8)
        let config = temp.path("cairn.yaml")
        try writeFilesystemConfig(config, store: temp.path("store"), """
            plugin_dirs: [\(temp.path("plugins").path)]
            components:
              probe: { plugin: probe, mode: block, isolation: \(isolation.rawValue) }
            pipelines:
              p:
                steps:
                  - backup: probe
                    timeout: 1s
            """)
        return config
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func aStepTimeoutWakesABlockedPluginThroughItsInterrupt(isolation: PluginIsolation.Mode) throws {
        let config = try blockedProbe(isolation)
        let started = Date()
        let run = try runCairn(["run", "p"], config: config, in: temp.url)
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 1, "\(run.text)\(run.stderr)")
        #expect(seconds < 20, "took \(seconds) s")
        #expect((run.text + run.stderr).contains("woken by the host's interrupt"), "\(run.text)\(run.stderr)")
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func sigtermWakesABlockedPluginThroughItsInterrupt(isolation: PluginIsolation.Mode) throws {
        let config = try blockedProbe(isolation)
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = ["backup", "probe"]
        process.currentDirectoryURL = temp.url
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_CONFIG"] = config.path
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)   // into the blocked backup
        let signalled = Date()
        process.terminate()                  // SIGTERM
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(signalled) < 15)
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("woken by the host's interrupt"), "\(stderr)")
    }
}

/// Bytes that do not compress, for a file the flipped-byte case can pick.
enum StoreConformanceData {
    static func random(_ count: Int) -> Data { StoreConformance.randomData(count, seed: 7) }
}
