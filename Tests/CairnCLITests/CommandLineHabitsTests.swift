import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// The command line as people use it: pipes that close early, options in any order, typos,
/// --quiet, colour on terminals, and summaries that say what happened once.
@Suite("Command-line habits", .serialized)
struct CommandLineHabitsTests {
    let setup: EscalationHarness

    init() throws {
        setup = try EscalationHarness("habits")
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "consecutive_failures: 1")
    }

    var cairnPath: String { TestPaths.cairnExecutable.path }

    /// A shell line with the harness's config; `$CAIRN` is the binary.
    func shell(_ script: String) throws -> ToolResult {
        try runShell("export CAIRN_CONFIG='\(setup.configFile.path)' CAIRN='\(cairnPath)'; \(script)", in: setup.temp.url, check: false)
    }

    func lastRunOutcome() throws -> String? {
        let history = try setup.cairn(["history", "--json", "--limit", "1"])
        guard case .array(let runs) = try JSONValue.parse(history.text) else { return nil }
        return runs.first?["outcome"]?.stringValue
    }

    /// Inside a pseudo-terminal, as a person at a shell sees it (stdout and stderr together).
    func onTerminal(_ command: String, noColor: Bool = false) throws -> String {
        try shell("\(noColor ? "export NO_COLOR=1" : "unset NO_COLOR"); script -qec \"$CAIRN \(command)\" /dev/null").text
    }

    @Test(arguments: ["2>&1 >/dev/null | head -c 1 >/dev/null", "| head -c 1 >/dev/null"])
    func aReaderThatGoesAwayDoesNotStopTheRun(redirection: String) throws {
        // -v writes log lines for the whole run, so most of them meet a closed pipe.
        let result = try shell("bash -c '\"$CAIRN\" backup configs -v \(redirection); echo \"exit ${PIPESTATUS[0]}\"'")
        #expect(result.text.contains("exit 0"), "\(result.text) \(result.stderr)")
        #expect(try lastRunOutcome() == "success")
    }

    @Test func globalOptionsMayComeBeforeTheCommand() throws {
        let result = try shell("$CAIRN --config '\(setup.configFile.path)' --json --environment other list configs")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONValue.parse(result.text) == .array([]))
        let nested = try shell("$CAIRN --json plugins list")
        #expect(nested.status == 0, "\(nested.stderr)")
    }

    @Test func aMistypedCommandNamesTheOneMeant() throws {
        let result = try setup.cairn(["bakup", "configs"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown command 'bakup'. Did you mean 'backup'?"), "\(result.stderr)")
    }

    @Test func argumentErrorsReachJSONReaders() throws {
        let result = try setup.cairn(["history", "--limit", "0", "--json"])
        #expect(result.status == 2)
        let error = try JSONValue.parse(result.text)
        #expect(error["type"] == .string("error"))
        #expect(error["exit_code"]?.numberValue == 2)
        #expect(error["message"]?.stringValue?.contains("--limit") == true)
    }

    @Test func quietPrintsNothingOnSuccessAndTheErrorOnFailure() throws {
        let ok = try setup.cairn(["backup", "configs", "--quiet"])
        #expect(ok.status == 0)
        #expect(ok.text.isEmpty && ok.stderr.isEmpty, "\(ok.text) \(ok.stderr)")
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path),
                              escalation: "consecutive_failures: 5")
        let failed = try setup.cairn(["backup", "configs", "-q"])
        #expect(failed.status == 1)
        #expect(failed.text.isEmpty)
        #expect(failed.stderr.hasPrefix("cairn: error: backup failure: ") && failed.stderr.split(separator: "\n").count == 1,
                "\(failed.stderr)")
        #expect(failed.stderr.contains("missing"))
    }

    @Test func aTerminalGetsColourUnlessNoColorIsSetAndEachStepOnce() throws {
        let coloured = try onTerminal("backup configs")
        #expect(coloured.contains("\u{1B}[32mok  \u{1B}[0m"), "\(coloured)")
        // The progress display showed the steps; the summary does not list them again.
        #expect(coloured.components(separatedBy: "publish configs latest (").count == 2, "\(coloured)")
        let plain = try onTerminal("backup configs", noColor: true)
        #expect(!plain.contains("\u{1B}[32m") && plain.contains("ok   publish configs latest"), "\(plain)")
        let flag = try onTerminal("backup configs --no-color")
        #expect(!flag.contains("\u{1B}[32m"))
        // Piped, there is no colour whatever the terminal.
        #expect(!(try setup.cairn(["backup", "configs"]).text.contains("\u{1B}[")))
    }

    @Test func statusNamesEachComponentAndItsDayOnce() throws {
        for _ in 0..<2 { #expect(try setup.cairn(["backup", "configs"]).status == 0) }
        let status = try setup.cairn(["status"])
        let rows = status.text.split(separator: "\n").filter { $0.contains("configs_") }
        #expect(rows.count == 2, "\(status.text)")
        #expect(rows.first?.hasPrefix("configs") == true && rows.first?.contains("ok") == true)
        #expect(rows.last?.hasPrefix(" ") == true, "the second row repeats the component: \(status.text)")
    }

    @Test func aDryRunChecksEverythingAndWritesNothing() throws {
        let dryRun = try setup.cairn(["backup", "configs", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.text.contains("6. publish configs latest [publish]"), "\(dryRun.text)")
        #expect(dryRun.text.contains("ok   directory:configs/readable") && dryRun.text.contains("filesystem/writable"), "\(dryRun.text)")
        #expect(dryRun.text.contains("configs/test/configs_YYYYMMDD_HHMMSS.tar.gz"))
        #expect(!FileManager.default.fileExists(atPath: setup.store.appendingPathComponent("configs").path), "a backup was written")
        #expect(!FileManager.default.fileExists(atPath: setup.temp.path("state.sqlite").path), "history was written")
        #expect(!FileManager.default.fileExists(atPath: setup.temp.path("logs").path), "a run log was written")

        // A check that fails fails the dry run, still without a trace.
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path), escalation: "consecutive_failures: 1")
        let failing = try setup.cairn(["backup", "--all", "--dry-run"])
        #expect(failing.status == 1)
        #expect(failing.text.contains("FAIL directory:configs/path"), "\(failing.text)")
        #expect(!FileManager.default.fileExists(atPath: setup.temp.path("state.sqlite").path))
    }

    @Test func jsonLogsAreOneObjectPerLine() throws {
        let result = try setup.cairn(["backup", "configs", "-v"], environment: ["CAIRN_LOG_FORMAT": "json"])
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count > 5)
        let objects = try lines.map { try JSONValue.parse(String($0)) }
        #expect(objects.allSatisfy { $0["time"]?.stringValue != nil }, "\(result.stderr)")
        #expect(objects.contains { $0["level"] == .string("info") && $0["message"]?.stringValue?.contains("pipeline backup for configs") == true })
        #expect(objects.contains { $0["type"] == .string("summary") && $0["outcome"] == .string("success") })
        let flag = try setup.cairn(["--log-format", "json", "backup", "configs"])
        #expect(flag.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "\(flag.stderr)")
        #expect(try setup.cairn(["backup", "configs", "--log-format", "xml"]).status == 2)
    }

    @Test func versionNamesThePluginsAndTheirABI() throws {
        let result = try setup.cairn(["version", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONValue.parse(result.text)
        #expect(report["version"]?.stringValue?.isEmpty == false)
        #expect(report["plugin_abi"]?.stringValue?.hasPrefix("1.") == true)
        guard case .array(let plugins) = report["plugins"] else { Issue.record("no plugins"); return }
        let names = Set(plugins.compactMap { $0["name"]?.stringValue })
        #expect(names.isSuperset(of: ["directory", "filesystem", "redis", "s3", "weaviate"]))
    }

    @Test func incidentsCountHooksNotAttempts() throws {
        // A hook that refuses its first event and takes the rest: two deliveries, one hook, reached.
        let hook = setup.temp.path("flaky-hook.sh")
        try """
            #!/bin/sh
            cat >/dev/null
            if [ -e "$0.seen" ]; then exit 0; fi
            touch "$0.seen"; exit 1
            """.write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path),
                              escalation: "consecutive_failures: 1\nhooks: [{ path: \(hook.path) }]")
        for _ in 0..<2 { #expect(try setup.cairn(["backup", "configs"]).status == 1) }
        let incident = try #require(try setup.incidents().first)
        guard case .array(let deliveries) = incident["deliveries"] else { Issue.record("no deliveries"); return }
        #expect(deliveries.count == 2)
        let table = try setup.cairn(["incidents"]).text
        #expect(table.contains(" 1/1 "), "\(table)")
    }
}
