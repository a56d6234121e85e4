import CCairnPlugin
import Foundation
import Logging
import Synchronization
import Testing
@testable import CairnArchive
@testable import CairnCore
@testable import CairnInterfaces
@testable import CairnPluginHost
import CairnTestSupport

/// Counts the log lines the probe's threads write ("probe worker"), from whichever thread; cairn's
/// own lines (which worker process an instance runs in) are not counted.
private struct CountingLogHandler: LogHandler {
    let lines: Lines
    final class Lines: Sendable { let count = Atomic<Int>(0) }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { metadata[key] } set { metadata[key] = newValue } }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        if message.description == "probe worker" { lines.count.add(1, ordering: .relaxed) }
    }
}

/// The probe plugin (Tests/Fixtures/probe_plugin.c), built for the test: the ABI's promises since 1.1.
struct Probe {
    let dir: TemporaryDirectory
    let plugin: LoadedPlugin

    init() throws {
        dir = try TemporaryDirectory("probe")
        try runTool(["cc", "-shared", "-fPIC", "-pthread", "-I", TestPaths.header.path, "-o", dir.path("libprobe.so").path,
                     TestPaths.fixtures.appendingPathComponent("probe_plugin.c").path])
        let settings: [String: Any] = ["mode": ["type": "string", "default": "plain"], "retries": ["type": "int", "default": 3],
                                       "verbose": ["type": "bool", "env": "PROBE_VERBOSE"], "wait": ["type": "string"],
                                       "names": ["type": "list", "env": "PROBE_NAMES"]]
        let manifest: [String: Any] = ["name": "probe", "kind": "component", "version": "1.0.0", "abi": ["major": 1, "minor": Int(HostABI.minor)],
                                       "library": "libprobe.so", "language": "c", "settings": settings]
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.path("plugin.json"))
        plugin = try PluginLoader.load(try PluginDiscovery.candidate(forPath: dir.path("libprobe.so").path))
    }

    /// An instance in `mode`: every promise is kept alike in cairn and in a worker process.
    func open(_ configured: [String: JSONValue] = [:], environment: [String: String] = [:], logger: Logger = Logger(label: "probe"),
              cancellation: Cancellation = Cancellation(), mode: PluginIsolation.Mode = .inProcess) throws -> PluginComponent {
        let settings = try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: configured.mapValues { ConfigValue($0, .file(path: "cairn.yaml", line: 1, column: 1)) },
            environment: environment, baseDirectory: dir.url, workingDirectory: dir.url, owner: "component 'probe'")
        return try PluginComponent(plugin: plugin, instanceName: "probe", settings: settings, logger: logger,
                                   cancellation: cancellation, tempDirectory: dir.url.path, isolation: PluginIsolation(mode: mode))
    }

    /// Backs up into memory; the facts and the archive's bytes.
    func backup(_ component: PluginComponent) throws -> (facts: [String: JSONValue], archive: Data) {
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: "probe_1")
        let facts = try component.backup(id: "probe_1", environment: "test", options: .object([:]), into: writer, progress: nil)
        var metadata = testMetadata(id: "probe_1", files: writer.files)
        metadata.source = facts
        try writer.finish(metadata: try metadata.encoded())
        return (facts, sink.data)
    }
}

@Suite("ABI 1.1 promises, kept by a C plugin built in the suite")
struct ABIPromisesTests {
    @Test(arguments: PluginIsolation.Mode.allCases)
    func typedGettersReadEachTypeAndTheManifestDefault(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        let component = try probe.open(["wait": .string("1m30s"), "names": .array([.string("alpha"), .string("beta")])],
                                       environment: ["PROBE_VERBOSE": "yes"], mode: mode)
        let settings = try probe.backup(component).facts["settings"]
        #expect(settings?["retries"] == .number(3))        // the manifest's default, a JSON number
        #expect(settings?["verbose"] == .number(1))        // "yes" from the environment
        #expect(settings?["wait_ms"] == .number(90_000))
        #expect(settings?["names"] == .number(2))
        #expect(settings?["first_name"] == .string("alpha"))
        // A list from a variable is split at commas.
        let fromVariable = try probe.backup(try probe.open(environment: ["PROBE_NAMES": "x, y ,z"], mode: mode)).facts["settings"]
        #expect(fromVariable?["names"] == .number(3))
        #expect(fromVariable?["wait_ms"] == .number(0))    // unset: CAIRN_NOT_FOUND left the plugin's own value
    }

    /// A worker kept after one instance closed serves the next with that one's settings, not the
    /// strings it handed the closed one.
    @Test func aKeptWorkerServesTheNextInstanceWithItsOwnSettings() throws {
        let probe = try Probe()
        let first = try probe.open(["names": .array([.string("alpha"), .string("beta")]), "wait": .string("2s")], mode: .process)
        let firstWorker = try #require(first.workerPID)
        #expect(try probe.backup(first).facts["settings"]?["first_name"] == .string("alpha"))
        first.close()
        let second = try probe.open(["names": .array([.string("gamma")])], mode: .process)
        #expect(second.workerPID == firstWorker)
        let settings = try probe.backup(second).facts["settings"]
        #expect(settings?["first_name"] == .string("gamma"))
        #expect(settings?["names"] == .number(1))
        #expect(settings?["wait_ms"] == .number(0))
        second.close()
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func aValueOfTheWrongTypeFailsOpenNamingTheSettingAndWhereItCameFrom(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        #expect(throws: CairnError.self) { _ = try probe.open(["wait": .string("soon")], mode: mode) }
        do { _ = try probe.open(["wait": .string("soon")], mode: mode) } catch {
            let message = describe(error)
            #expect(message.contains("cairn.yaml:1:1"), "\(message)")
            #expect(message.contains("setting 'wait' must be a positive duration such as 250ms, 30s, 5m or 1h30m, got \"soon\""), "\(message)")
        }
    }

    @Test func durationsAndOtherConversions() {
        #expect(TypedSetting.milliseconds(.string("250ms")) == 250)
        #expect(TypedSetting.milliseconds(.string("2d")) == 172_800_000)
        #expect(TypedSetting.milliseconds(.number(1.5)) == 1500)
        #expect(TypedSetting.milliseconds(.string("90")) == 90_000)
        #expect(TypedSetting.milliseconds(.string("0s")) == nil)
        #expect(TypedSetting.milliseconds(.number(-1)) == nil)
        #expect(TypedSetting.int(.number(2.5)) == nil)
        #expect(TypedSetting.int(.string(" 42 ")) == 42)
        #expect(TypedSetting.bool(.string("Off")) == false)
        #expect(TypedSetting.bool(.string("maybe")) == nil)
        #expect(TypedSetting.list(.object([:])) == nil)
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func verifyReadsTheBackupsOwnFactsWithoutJSON(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        let component = try probe.open(mode: mode)
        let (_, archive) = try probe.backup(component)
        let checks = try component.verify(reader: ArchiveReader(source: DataByteSource(archive)), rootFolder: "probe_1",
                                          metadata: String(decoding: try readAllEntries(DataByteSource(archive)).last!.data, as: UTF8.self))
        let facts = try #require(checks.first { $0.name == "facts" })
        #expect(facts.status == .pass)
        let detail = try #require(facts.detail)
        #expect(detail["count"] == .number(1))
        #expect(detail["count_status"] == .number(Double(CAIRN_OK.rawValue)))
        #expect(detail["nested"] == .number(7))                          // "nested.inner.value"
        #expect(detail["label_status"] == .number(Double(CAIRN_INVALID.rawValue)))   // text is not a whole number
        #expect(detail["missing_status"] == .number(Double(CAIRN_NOT_FOUND.rawValue)))
        #expect(detail["label"] == .string("a probe"))                   // a string fact without its quotes
        #expect(detail["object_length"] == .number(Double(#"{"inner":{"value":7}}"#.count)))
        #expect(detail["missing_text"] == .null)
        // A check message is one line wherever it is shown.
        #expect(facts.message == "facts read back; with a second line")
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func hostServicesAreSafeFromThePluginsOwnThreads(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        let lines = CountingLogHandler.Lines()
        let logger = Logger(label: "probe") { _ in CountingLogHandler(lines: lines) }
        let progress = Atomic<Int>(0)
        let component = try probe.open(["mode": .string("threads"), "names": .array([.string("a")])], logger: logger, mode: mode)
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: "probe_1")
        _ = try component.backup(id: "probe_1", environment: "test", options: .object([:]), into: writer) { _, _, _ in
            progress.add(1, ordering: .relaxed)
        }
        // 8 threads x 250 rounds: every call arrived, none lost to a race.
        #expect(lines.count.load(ordering: .relaxed) == 8 * 250)
        #expect(progress.load(ordering: .relaxed) == 8 * 250)
        // In a worker, alloc is the worker's own malloc, which cairn does not count.
        if mode == .inProcess { #expect(component.context.allocatedBytes == 8 * 250 * 100) }
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func theInterruptWakesABlockedBackupWhenTheRunIsCancelled(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        let cancellation = Cancellation()
        let step = Cancellation(parent: cancellation)   // as a step's: Ctrl-C cancels the run, the parent
        let component = try probe.open(["mode": .string("block")], cancellation: step, mode: mode)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        let start = Date()
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "probe_1")
        do {
            _ = try component.backup(id: "probe_1", environment: "test", options: .object([:]), into: writer, progress: nil)
            Issue.record("a blocked backup returned without being cancelled")
        } catch {
            #expect(describe(error).contains("probe: backup failed (cancelled): probe: woken by the host's interrupt"), "\(describe(error))")
        }
        #expect(Date().timeIntervalSince(start) < 5)
        // Registered after the cancellation: called at once, so a plugin cannot miss it.
        let late = try probe.open(["mode": .string("block")], cancellation: step, mode: mode)
        let lateStart = Date()
        do {
            _ = try late.backup(id: "probe_2", environment: "test", options: .object([:]),
                                into: try ArchiveWriter(sink: DataByteSink(), rootFolder: "probe_2"), progress: nil)
            Issue.record("a backup that registered its interrupt after the cancellation blocked and returned")
        } catch {
            // Woken by the interrupt itself, not by a worker killed after its grace.
            #expect(describe(error).contains("woken by the host's interrupt"), "\(describe(error))")
        }
        #expect(Date().timeIntervalSince(lateStart) < 5)
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func aReplacedInterruptIsNeverCalledAndItsReplacementOnce(mode: PluginIsolation.Mode) throws {
        let probe = try Probe()
        let cancellation = Cancellation()
        let component = try probe.open(["mode": .string("replace")], cancellation: cancellation, mode: mode)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        do {
            _ = try component.backup(id: "probe_1", environment: "test", options: .object([:]),
                                     into: try ArchiveWriter(sink: DataByteSink(), rootFolder: "probe_1"), progress: nil)
            Issue.record("the replace probe returned without being cancelled")
        } catch {
            #expect(describe(error).contains("the replacing interrupt was called 1 time(s), the replaced one 0"), "\(describe(error))")
        }
    }

    @Test func aPluginBuiltAgainstANewerMinorsHostTableStillLoadsAndRuns() throws {
        // The header of a future minor: fields appended to the host table, the entry source and the
        // descriptor. The probe, built against it, reads only what the host's struct_size covers.
        let probe = try Probe()
        var header = try String(contentsOf: TestPaths.header.appendingPathComponent("cairn_plugin.h"), encoding: .utf8)
        for (old, new) in [("#define CAIRN_ABI_MINOR \(HostABI.minor)", "#define CAIRN_ABI_MINOR \(HostABI.minor + 1)"),
                           ("} cairn_host_api;", "    void *added_in_next_minor;\n} cairn_host_api;"),
                           ("} cairn_entry_source;", "    void *added_in_next_minor;\n} cairn_entry_source;"),
                           ("} cairn_plugin;", "    void *added_in_next_minor;\n} cairn_plugin;")] {
            #expect(header.contains(old))
            header = header.replacingOccurrences(of: old, with: new)
        }
        let include = probe.dir.path("next-minor")
        try FileManager.default.createDirectory(at: include, withIntermediateDirectories: true)
        try header.write(to: include.appendingPathComponent("cairn_plugin.h"), atomically: true, encoding: .utf8)
        try runTool(["cc", "-shared", "-fPIC", "-pthread", "-I", include.path, "-o", probe.dir.path("libprobe.so").path,
                     TestPaths.fixtures.appendingPathComponent("probe_plugin.c").path])
        var manifest = try JSONValue.parse(String(contentsOf: probe.dir.path("plugin.json"), encoding: .utf8))
        if case .object(var fields) = manifest { fields["abi"] = .object(["major": .number(1), "minor": .number(Double(HostABI.minor + 1))]); manifest = .object(fields) }
        try manifest.jsonText.write(to: probe.dir.path("plugin.json"), atomically: true, encoding: .utf8)
        // A fresh path: the old library stays mapped under the old name (RTLD_NODELETE).
        try FileManager.default.moveItem(at: probe.dir.path("libprobe.so"), to: probe.dir.path("libprobe-next.so"))
        try manifest.jsonText.replacingOccurrences(of: "libprobe.so", with: "libprobe-next.so")
            .write(to: probe.dir.path("plugin.json"), atomically: true, encoding: .utf8)
        let newer = try PluginLoader.load(try PluginDiscovery.candidate(forPath: probe.dir.path("libprobe-next.so").path))
        #expect(newer.abiMinor == HostABI.minor + 1)
        let settings = try SettingsResolver.resolve(manifest: newer.manifest, configured: [:], environment: [:], baseDirectory: probe.dir.url,
                                                    workingDirectory: probe.dir.url, owner: "component 'probe'")
        let component = try PluginComponent(plugin: newer, instanceName: "probe", settings: settings, logger: Logger(label: "probe"),
                                            cancellation: Cancellation(), tempDirectory: probe.dir.url.path)
        let (facts, _) = try Probe.backup(probe)(component)
        #expect(facts["settings"]?["retries"] == .number(3))
    }
}
