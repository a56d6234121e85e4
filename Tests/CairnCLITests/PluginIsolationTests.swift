import CairnCore
import CairnPluginHost
import CairnTestSupport
import Foundation
import Testing

/// A plugin in a worker process (isolation: process) that crashes, hangs, spoils its channel or
/// runs out of memory fails its step with one line and nothing left behind, while cairn lives on:
/// the real binary, a C plugin built here (Fixtures/misbehaving_plugin.c) and a filesystem store.
@Suite("Plugins in worker processes", .serialized)
struct PluginIsolationTests {
    let temp: TemporaryDirectory
    var store: URL { temp.path("store") }
    var staging: URL { temp.path("staging") }
    var folder: URL { store.appendingPathComponent("bad/test") }
    var latest: URL { folder.appendingPathComponent("latest.tar.gz") }

    init() throws {
        temp = try TemporaryDirectory("cairn-isolation")
        let plugin = temp.path("plugins/misbehaving")
        for made in [plugin, staging] { try FileManager.default.createDirectory(at: made, withIntermediateDirectories: true) }
        // The worker protocol's header too: the fixture lies in its frames (modes lie-*).
        let ipcHeader = TestPaths.header.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("CairnPluginIPC/include")
        try runTool(["cc", "-shared", "-fPIC", "-pthread", "-o", plugin.appendingPathComponent("libmisbehaving.so").path,
                     "-I", TestPaths.header.path, "-I", ipcHeader.path, TestPaths.fixtures.appendingPathComponent("misbehaving_plugin.c").path])
        try """
            { "name": "misbehaving", "kind": "component", "version": "1.0.0", "abi": { "major": 1, "minor": \(HostABI.minor) },
              "library": "libmisbehaving.so", "language": "c",
              "settings": {
                "mode": { "type": "string", "env": "MISBEHAVE_MODE", "default": "ok", "description": "what backup does" },
                "size": { "type": "int", "env": "MISBEHAVE_SIZE", "default": 0, "description": "bytes to stream" } } }
            """.write(to: plugin.appendingPathComponent("plugin.json"), atomically: true, encoding: .utf8)
        try writeConfig()
    }

    func writeConfig(plugins: String = "misbehaving: { cancel_grace: 1s }", step: String = "") throws {
        try """
            environment: test
            storage: { type: filesystem, root: \(store.path) }
            state: { path: \(temp.path("state.sqlite").path) }
            logs: { dir: \(temp.path("logs").path) }
            staging_dir: \(staging.path)
            plugin_dirs: [\(temp.path("plugins").path)]
            checks: { min_free_disk: 1MB, warn_free_disk: 2MB, min_available_memory: 1MB, warn_available_memory: 2MB, max_load_per_core: 1000, warn_load_per_core: 999 }
            plugins:
              \(plugins)
            components:
              bad: { plugin: misbehaving }
            escalation: { consecutive_failures: 2 }
            \(step)
            """.write(to: temp.path("cairn.yaml"), atomically: true, encoding: .utf8)
    }

    func cairn(_ arguments: [String], mode: String = "ok", _ extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: temp.path("cairn.yaml"), in: temp.url, unset: ["CAIRN_PLUGIN_ISOLATION"],
                     environment: ["MISBEHAVE_MODE": mode].merging(extra) { $1 })
    }

    /// Every name in the component's folder, hidden partials included.
    func storedNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    func history() throws -> [JSONValue] {
        let result = try cairn(["history", "--json", "--limit", "20"])
        guard case .array(let runs) = try JSONValue.parse(result.text) else { return [] }
        return runs
    }

    func runLog() throws -> String {
        let logs = temp.path("logs/backup")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []
        return try names.map { try String(contentsOf: logs.appendingPathComponent($0), encoding: .utf8) }.joined()
    }

    /// A good backup first, then the bad one: the bad one fails with `message`, and the good one is
    /// all the store and the staging folder hold afterwards.
    func expectCleanFailure(mode: String, message: String, _ extra: [String: String] = [:]) throws -> ToolResult {
        let good = try cairn(["backup", "bad"])
        #expect(good.status == 0, "\(good.stderr)")
        let before = try Data(contentsOf: latest)
        let stored = storedNames()
        let started = Date()
        let result = try cairn(["backup", "bad"], mode: mode, extra)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("latest.tar.gz unchanged"), "\(result.stderr)")
        // One line about it on the terminal, no backtrace or plugin output.
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("a line on stderr"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(try Data(contentsOf: latest) == before)
        #expect(storedNames() == stored, "the failed run left something in the store")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).isEmpty, "the failed run left its temp folder")
        let runs = try history()
        #expect(runs.first?["outcome"]?.stringValue == "failure")
        #expect(runs.first?["error"]?.stringValue?.contains(message) == true, "\(String(describing: runs.first))")
        return result
    }

    @Test func aSegfaultFailsTheStepWithOneLineAndTheBacktraceGoesToTheRunLog() throws {
        _ = try expectCleanFailure(mode: "segfault", message: "plugin misbehaving (instance bad) crashed (SIGSEGV) during backup")
    }

    @Test func aLibraryThatCrashesAsItLoadsFailsItsPluginNotCairn() throws {
        let good = try cairn(["backup", "bad"])
        #expect(good.status == 0, "\(good.stderr)")
        let before = try Data(contentsOf: latest)
        let result = try cairn(["backup", "bad"], ["MISBEHAVE_AT_LOAD": "crash"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("plugin misbehaving"), "\(result.stderr)")
        #expect(result.stderr.contains("crashed (SIGSEGV) while loading"), "\(result.stderr)")
        #expect(try Data(contentsOf: latest) == before)
        // Loading it to look at it fails the same way, and cairn goes on to say so.
        let inspected = try cairn(["plugins", "inspect", temp.path("plugins/misbehaving/libmisbehaving.so").path], ["MISBEHAVE_AT_LOAD": "crash"])
        #expect(inspected.status == 2, "\(inspected.stderr)")
        #expect(inspected.stderr.contains("crashed (SIGSEGV) while loading"), "\(inspected.stderr)")
        let hanging = try cairn(["plugins", "inspect", temp.path("plugins/misbehaving/libmisbehaving.so").path], ["MISBEHAVE_AT_LOAD": "hang", "CAIRN_PLUGIN_LOAD_TIMEOUT": "2"])
        #expect(hanging.status == 2, "\(hanging.stderr)")
        #expect(hanging.stderr.contains("did not finish within"), "\(hanging.stderr)")
    }

    @Test func anAbortFailsTheStep() throws {
        _ = try expectCleanFailure(mode: "abort", message: "plugin misbehaving (instance bad) crashed (SIGABRT) during backup")
    }

    @Test func exitFailsTheStep() throws {
        _ = try expectCleanFailure(mode: "exit", message: "plugin misbehaving (instance bad) exited (status 3) during backup")
    }

    @Test func garbageOnTheChannelFailsTheStep() throws {
        _ = try expectCleanFailure(mode: "garbage", message: "plugin misbehaving (instance bad) broke the worker protocol during backup")
    }

    /// Bulk data crosses in the memory the worker shares with cairn, not the socket; a worker that
    /// claims bytes outside its area of it (a frame written straight onto the channel) breaks the
    /// protocol and fails its step, and cairn reads nothing outside the region.
    @Test func theSinksBytesGoThroughSharedMemory() throws {
        let result = try cairn(["backup", "bad"], mode: "shared")
        #expect(result.status == 0, "\(result.stderr)")
        let log = try runLog()
        #expect(log.contains("the sink's bytes are in the shared memory"), "\(log)")
        let verify = try cairn(["verify", "bad", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let members = try runShell("tar -tzf '\(latest.path)'").text
        #expect(members.contains("probe.txt"), "\(members)")
    }

    @Test(arguments: ["lie-offset", "lie-length"])
    func aWorkerClaimingBytesOutsideItsSharedMemoryFailsTheStep(mode: String) throws {
        _ = try expectCleanFailure(mode: mode, message: "plugin misbehaving (instance bad) broke the worker protocol during backup")
    }

    /// A plugin that overwrites the shared memory while cairn reads from it: cairn copies what it
    /// takes before it checks or uses it, so the run ends with a result (the records it saw
    /// spoiled: the protocol broken), never with cairn crashing.
    @Test func aPluginScribblingOnTheSharedMemoryCannotCrashCairn() throws {
        let result = try cairn(["backup", "bad"], mode: "scribble", ["MISBEHAVE_SIZE": String(16 << 20)])
        #expect(result.status == 0 || result.status == 1, "\(result.status): \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        if result.status == 1 {
            #expect(result.stderr.contains("plugin misbehaving (instance bad)"), "\(result.stderr)")
        }
    }

    @Test func aPluginAllocatingPastItsMemoryLimitFailsTheStep() throws {
        try writeConfig(plugins: "misbehaving: { memory_limit: 64MiB }")
        _ = try expectCleanFailure(mode: "allocate", message: "plugin misbehaving (instance bad) crashed (SIGSEGV) during backup (its memory limit is 64 MiB)")
    }

    @Test func aLoopThatIgnoresCancellationIsKilledAfterTheGraceOfAStepTimeout() throws {
        try writeConfig(step: """
            pipelines:
              guarded:
                steps:
                  - backup: bad
                    timeout: 1s
            """)
        let good = try cairn(["backup", "bad"])
        #expect(good.status == 0, "\(good.stderr)")
        let before = try Data(contentsOf: latest)
        let started = Date()
        let result = try cairn(["run", "guarded"], mode: "loop")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("plugin misbehaving (instance bad) did not stop within 1 s of being cancelled during backup; its worker was killed"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(try Data(contentsOf: latest) == before)
        let names = storedNames()
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "\(names)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).isEmpty)
    }

    @Test func aSIGTERMAsksThePluginToStopAndAPluginThatDoesIsNotKilled() throws {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = ["backup", "bad"]
        process.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": temp.path("cairn.yaml").path,
                                                                            "MISBEHAVE_MODE": "polite"]) { $1 }
        process.currentDirectoryURL = temp.url
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("stopped as asked"), "\(stderr)")
        #expect(!stderr.contains("was killed"), "\(stderr)")
        #expect(storedNames().isEmpty)
    }

    @Test func outputOnStdoutGoesToTheRunLogAndTheBackupSucceeds() throws {
        let result = try cairn(["backup", "bad"], mode: "stdout")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("garbage on stdout") && !result.stderr.contains("a line on stderr"), "\(result.stderr)")
        let log = try runLog()
        #expect(log.contains("garbage on stdout") && log.contains("a line on stderr"), "\(log)")
        // Host services called from a thread of the plugin's own, during the call.
        #expect(log.contains("worker thread 0 says hello"), "\(log)")
        let verify = try cairn(["verify", "bad", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    @Test func consecutiveCrashesOpenAnIncidentAtOnce() throws {
        for _ in 0..<2 {
            let result = try cairn(["backup", "bad"], mode: "segfault")
            #expect(result.status == 1, "\(result.stderr)")
        }
        let runs = try history()
        #expect(runs.prefix(2).allSatisfy { $0["outcome"]?.stringValue == "failure" })
        let incidents = try cairn(["incidents", "--json"])
        guard case .array(let list) = try JSONValue.parse(incidents.text) else { Issue.record("no incidents: \(incidents.stderr)"); return }
        #expect(list.contains { $0["condition"]?.stringValue == "consecutive_failures" && $0["component"]?.stringValue == "bad" }, "\(list)")
    }

    @Test func isolationInProcessLoadsThePluginIntoCairn() throws {
        try writeConfig(plugins: "misbehaving: { isolation: in-process }")
        let result = try cairn(["backup", "bad"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func anUnknownPluginUnderPluginsIsAConfigurationError() throws {
        try writeConfig(plugins: "misbehavin: { isolation: process }")
        let result = try cairn(["backup", "bad"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("plugins.misbehavin: no plugin is named 'misbehavin'") && result.stderr.contains("Did you mean 'misbehaving'?"), "\(result.stderr)")
    }

    @Test func aBadIsolationValueIsAConfigurationError() throws {
        try writeConfig(plugins: "misbehaving: { isolation: sandbox }")
        let result = try cairn(["backup", "bad"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("'plugins.misbehaving.isolation' must be process (a worker process of its own) or in-process"), "\(result.stderr)")
    }

    /// The component's worker dies after 40 MiB of incompressible data, while the store (in cairn
    /// or in a worker of its own) is uploading the archive to S3 in parts: the upload is aborted,
    /// no part or object is left in the bucket and latest.tar.gz is the one before.
    @Test(arguments: ["in-process", "process"])
    func aWorkerThatDiesMidStreamLeavesNoUploadInTheBucket(storeIsolation: String) throws {
        let s3 = try MotoCairn("cairn-isolation-s3")
        #expect(try s3.aws("s3 mb s3://cairn-test").status == 0)
        try s3.writeConfig(bucket: "cairn-test", """
            plugin_dirs: [\(temp.path("plugins").path)]
            staging_dir: \(staging.path)
            archive: { compression_level: 1, threads: 1 }
            plugins:
              s3: { isolation: \(storeIsolation) }
            components:
              bad: { plugin: misbehaving }
            """)
        let environment = ["CAIRN_PLUGIN_ISOLATION": ""]
        let good = try s3.cairn(["backup", "bad"], environment: environment.merging(["MISBEHAVE_MODE": "ok"]) { $1 })
        #expect(good.status == 0, "\(good.stderr)")
        let latestBefore = try s3.aws("s3api head-object --bucket cairn-test --key bad/test/latest.tar.gz --query ETag --output text").text
        let listedBefore = try s3.aws("s3 ls s3://cairn-test/bad/test/").text.split(separator: "\n").map { $0.split(separator: " ").last ?? "" }

        let crashed = try s3.cairn(["backup", "bad"], environment: environment.merging(
            ["MISBEHAVE_MODE": "stream", "MISBEHAVE_SIZE": String(40 << 20)]) { $1 })
        #expect(crashed.status == 1, "\(crashed.stderr)")
        #expect(crashed.stderr.contains("plugin misbehaving (instance bad) crashed (SIGSEGV) during backup; latest.tar.gz unchanged"), "\(crashed.stderr)")
        let uploads = try s3.aws("s3api list-multipart-uploads --bucket cairn-test").text
        #expect(!uploads.contains("UploadId"), "an upload stayed open: \(uploads)")
        let listedAfter = try s3.aws("s3 ls s3://cairn-test/bad/test/").text.split(separator: "\n").map { $0.split(separator: " ").last ?? "" }
        #expect(listedAfter == listedBefore, "\(listedAfter) vs \(listedBefore)")
        #expect(try s3.aws("s3api head-object --bucket cairn-test --key bad/test/latest.tar.gz --query ETag --output text").text == latestBefore)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).isEmpty)
    }

    /// The bundled directory and filesystem plugins back up, verify and restore the same in a
    /// worker as in cairn; the restored tree equals the source.
    @Test(arguments: ["process", "in-process"])
    func bundledPluginsBackUpVerifyAndRestoreInEitherMode(mode: String) throws {
        let data = temp.path("data")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try runShell("head -c 3000000 /dev/urandom > '\(data.path)/sub/blob.bin' && seq 1 20000 > '\(data.path)/numbers.txt'")
        try """
            environment: test
            storage: { type: filesystem, root: \(store.path), isolation: \(mode) }
            state: { path: \(temp.path("state.sqlite").path) }
            logs: { dir: \(temp.path("logs").path) }
            staging_dir: \(staging.path)
            checks: { min_free_disk: 1MB, warn_free_disk: 2MB, min_available_memory: 1MB, warn_available_memory: 2MB, max_load_per_core: 1000, warn_load_per_core: 999 }
            components:
              files: { plugin: directory, path: \(data.path), isolation: \(mode) }
            """.write(to: temp.path("cairn.yaml"), atomically: true, encoding: .utf8)
        let backup = try cairn(["backup", "files"])
        #expect(backup.status == 0, "\(backup.stderr)")
        // The run log says where each plugin ran.
        let log = try runLog()
        #expect(log.contains("plugin directory (instance files) runs in worker process") == (mode == "process"), "\(log)")
        #expect(log.contains("plugin filesystem runs in worker process") == (mode == "process"), "\(log)")
        let verify = try cairn(["verify", "files", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let target = temp.path("restored")
        let restore = try cairn(["restore", "files", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let diff = try runTool(["diff", "-r", data.path, target.path], check: false)
        #expect(diff.status == 0, "\(diff.text)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).isEmpty)
    }

    /// cairn killed with SIGKILL mid-backup: its worker notices at once and exits, and the next
    /// run removes what the dead run left and records it as a failure.
    @Test func aWorkerDoesNotOutliveAKilledCairn() throws {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = ["backup", "bad"]
        process.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": temp.path("cairn.yaml").path,
                                                                            "MISBEHAVE_MODE": "polite", "CAIRN_PLUGIN_ISOLATION": ""]) { $1 }
        process.currentDirectoryURL = temp.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        func workers() -> [String] {
            let library = temp.path("plugins/misbehaving/libmisbehaving.so").path
            return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
                guard Int(pid) != nil, let line = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
                return line.contains("cairn-plugin-worker") && line.contains(library)
            }
        }
        // The backup's worker, not the one the configuration check opens and closes first: the
        // archive's partial is in the store by the time the backup runs.
        let deadline = Date().addingTimeInterval(30)
        while (workers().isEmpty || !storedNames().contains { $0.hasPrefix(".") }) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 0.3)
        try #require(!workers().isEmpty, "no worker started")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let gone = Date().addingTimeInterval(5)
        while !workers().isEmpty && Date() < gone { Thread.sleep(forTimeInterval: 0.02) }
        #expect(workers().isEmpty, "the worker outlived cairn: \(workers())")

        let next = try cairn(["backup", "bad"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(storedNames().allSatisfy { !$0.hasPrefix(".") }, "\(storedNames())")
        let runs = try history()
        #expect(runs.dropFirst().first?["outcome"]?.stringValue == "interrupted", "\(runs)")
    }

    /// cairn in the background with `mode`, its stderr in a file.
    func startBackup(mode: String, arguments: [String] = ["backup", "bad"]) throws -> (Process, URL) {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": temp.path("cairn.yaml").path,
                                                                            "MISBEHAVE_MODE": mode, "CAIRN_PLUGIN_ISOLATION": ""]) { $1 }
        process.currentDirectoryURL = temp.url
        let errors = temp.path("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        return (process, errors)
    }

    @Test func aSIGTERMedPluginThatIgnoresItIsKilledAfterItsGrace() throws {
        let (process, errors) = try startBackup(mode: "loop")
        Thread.sleep(forTimeInterval: 1.5)
        let started = Date()
        process.terminate()
        process.waitUntilExit()
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        #expect(process.terminationStatus == 1, "\(stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(stderr.contains("plugin misbehaving (instance bad) did not stop within 1 s of being cancelled during backup; its worker was killed"), "\(stderr)")
        #expect(storedNames().isEmpty, "\(storedNames())")
    }

    /// In cairn itself nothing can stop the plugin: the run log names the plugin the host waits on.
    @Test func aPluginInsideCairnThatIgnoresATimeoutIsNamed() throws {
        try writeConfig(plugins: "misbehaving: { isolation: in-process, cancel_grace: 1s }", step: """
            pipelines:
              guarded:
                steps:
                  - backup: bad
                    timeout: 1s
            """)
        let (process, _) = try startBackup(mode: "loop", arguments: ["run", "guarded"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let expected = "waiting on plugin misbehaving:bad (backup): it has not stopped 1s after being cancelled"
        let deadline = Date().addingTimeInterval(20)
        var log = ""
        while Date() < deadline {
            log = (try? String(contentsOf: temp.path("logs/guarded/guarded_\(Self.today).log"), encoding: .utf8)) ?? ""
            if log.contains(expected) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(log.contains(expected), "\(log)")
        #expect(log.contains("isolation: process"), "\(log)")
        #expect(process.isRunning)
    }

    static var today: String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
