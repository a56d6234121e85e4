import Foundation
import Testing
import CairnCore
import CairnInterfaces
import CairnTestSupport

/// Pipelines, hooks, history, locking and output, through the real `cairn` binary.
@Suite("Pipelines end to end", .serialized)
struct PipelineRunTests {
    let temp: TemporaryDirectory
    let source: URL
    let trace: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-pipeline")
        source = temp.path("source")
        trace = temp.path("trace.txt")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        for name in ["a/one.txt", "a/b/two.txt", "three.txt"] {
            try Data("content of \(name)\n".utf8).write(to: source.appendingPathComponent(name))
        }
        // A hook that appends "<its name> <phase> <status>" to the trace file, then exits with $1 (default 0).
        try hook("tracer.sh", """
            #!/bin/sh
            echo "$(basename "$0") ${CAIRN_HOOK_PHASE} ${CAIRN_STATUS} ${CAIRN_COMPONENT:-} $*" >> '\(trace.path)'
            exit "${1:-0}"
            """)
    }

    @discardableResult
    func hook(_ name: String, _ body: String) throws -> URL {
        let url = temp.path(name)
        try body.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    func config(_ extra: String = "", componentHooks: String = "") throws {
        try """
            environment: test
            storage: { type: filesystem, root: \(temp.path("store").path) }
            logs: { dir: \(temp.path("logs").path) }
            components:
              files:
                plugin: directory
                path: \(source.path)
            \(componentHooks.isEmpty ? "" : "    hooks: \(componentHooks)")
            \(extra)
            """.write(to: temp.path("cairn.yaml"), atomically: true, encoding: .utf8)
    }

    func cairn(_ arguments: [String]) throws -> ToolResult {
        try runCairn(arguments, config: temp.path("cairn.yaml"), in: temp.url,
                     environment: ["AWS_SECRET_ACCESS_KEY": "must-not-reach-hooks"])
    }

    /// Starts cairn without waiting for it, then waits (up to 10 s) until `marker` exists.
    func startInBackground(_ arguments: [String], waitingFor marker: URL) throws -> Process {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_CONFIG"] = temp.path("cairn.yaml").path
        process.environment = environment
        process.currentDirectoryURL = temp.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: marker.path) { Thread.sleep(forTimeInterval: 0.1) }
        return process
    }

    func traceLines() -> [String] {
        ((try? String(contentsOf: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func jsonLines(_ text: String) throws -> [JSONValue] {
        try text.split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    @Test func builtInBackupPipelineIsListedAndShown() throws {
        try config()
        let list = try cairn(["pipelines", "list"])
        #expect(list.status == 0)
        #expect(list.text.contains("backup") && list.text.contains("checks"))
        let show = try cairn(["pipelines", "show", "backup", "--component", "files"])
        #expect(show.status == 0, "\(show.stderr)")
        for step in ["host checks", "check files", "storage check", "backup files", "verify files (new)", "publish files latest"] {
            #expect(show.text.contains(step), "missing \(step) in \(show.text)")
        }
    }

    @Test func hooksFireInOrderAroundRunComponentAndStep() throws {
        try config("""
            hooks:
              before: [tracer.sh]
              after: [tracer.sh]
              finally: [tracer.sh]
            pipelines:
              nightly:
                steps:
                  - backup: files
                    hooks: { before: [{ path: tracer.sh, args: ["0", "step"] }], after: [{ path: tracer.sh, args: ["0", "step"] }] }
                  - verify: files
                  - publish: files
            """, componentHooks: "{ before: [{ path: tracer.sh, args: ['0', 'component'] }], finally: [{ path: tracer.sh, args: ['0', 'component'] }] }")
        let run = try cairn(["run", "nightly"])
        #expect(run.status == 0, "\(run.text)\(run.stderr)")
        #expect(traceLines() == [
            "tracer.sh before running  ",
            "tracer.sh before running files 0 component",
            "tracer.sh before running files 0 step",
            "tracer.sh after success files 0 step",
            "tracer.sh finally success files 0 component",
            "tracer.sh after success  ",
            "tracer.sh finally success  ",
        ])
    }

    @Test func exit75SkipsTheComponentWithoutFailing() throws {
        try config(componentHooks: "{ before: [{ path: tracer.sh, args: ['75'] }] }")
        let run = try cairn(["backup", "files"])
        #expect(run.status == 75, "\(run.text)\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: temp.path("store/files/test").path))
    }

    @Test func aFailingBeforeHookAbortsTheComponentAndFinallyStillRuns() throws {
        try config("hooks: { finally: [tracer.sh] }", componentHooks: "{ before: [{ path: tracer.sh, args: ['3'] }] }")
        let run = try cairn(["backup", "files"])
        #expect(run.status == 1)
        #expect(run.text.contains("a before hook of component files failed"))
        #expect(!FileManager.default.fileExists(atPath: temp.path("store/files/test").path))
        #expect(traceLines().last == "tracer.sh finally failure files ")
    }

    @Test func hooksGetNoSecretsButTheirCAIRNVariables() throws {
        try hook("env.sh", "#!/bin/sh\nenv > '\(temp.path("env.txt").path)'\ncat > '\(temp.path("event.json").path)'\n")
        try config("pipelines: { p: { steps: [ { backup: files }, { verify: files }, { publish: files }, { hook: env.sh } ] } }")
        let run = try cairn(["run", "p", "--component", "files"])
        #expect(run.status == 0, "\(run.stderr)")
        let env = try String(contentsOf: temp.path("env.txt"), encoding: .utf8)
        #expect(!env.contains("must-not-reach-hooks"))
        #expect(env.contains("CAIRN_PIPELINE=p"))
        #expect(env.contains("CAIRN_ENVIRONMENT=test"))
        #expect(env.contains("CAIRN_BACKUP_ID=files_"))
        let event = try JSONValue.parse(try String(contentsOf: temp.path("event.json"), encoding: .utf8))
        #expect(event["pipeline"] == .string("p"))
    }

    @Test func retriesAndContinueAndPartial() throws {
        // Fails on the first call, succeeds on the second.
        try hook("flaky.sh", "#!/bin/sh\nf='\(temp.path("count").path)'\nn=$(cat \"$f\" 2>/dev/null || echo 0)\necho $((n+1)) > \"$f\"\n[ \"$n\" -ge 1 ]\n")
        try config("""
            pipelines:
              p:
                steps:
                  - hook: flaky.sh
                    retries: 2
                    retry_delay: 0.2
                  - hook: { path: tracer.sh, args: ["4"] }
                    on_error: continue
                  - backup: files
            """)
        let run = try cairn(["run", "p", "--json"])
        #expect(run.status == 3, "\(run.text)\(run.stderr)")
        let lines = try jsonLines(run.text)
        let summary = try #require(lines.last { $0["type"] == .string("summary") })
        #expect(summary["outcome"] == .string("partial"))
        guard case .array(let steps) = summary["steps"] else { Issue.record("no steps"); return }
        #expect(steps.first?["attempts"] == .number(2))
        #expect(steps.first?["outcome"] == .string("success"))
        #expect(steps.dropFirst().first?["outcome"] == .string("continued"))
        #expect(lines.contains { $0["type"] == .string("step") && $0["status"] == .string("started") })
    }

    @Test func nativeActionThroughLibffiInAPipeline() throws {
        try config("""
            pipelines:
              count:
                steps:
                  - action: directory.count_files
                    args: ["\(source.path)"]
            """)
        let run = try cairn(["run", "count", "--json"])
        #expect(run.status == 0, "\(run.text)\(run.stderr)")
        let summary = try #require(try jsonLines(run.text).last)
        guard case .array(let steps) = summary["steps"] else { Issue.record("no steps"); return }
        #expect(steps.first?["result"] == .number(3))
    }

    @Test func badPipelinesAreRefusedAtLoadTimeWithFileAndLine() throws {
        let cases: [(String, String)] = [
            ("pipelines: { p: { steps: [ { bakup: files } ] } }", "has no step type ('bakup' is not one)"),
            ("pipelines: { p: { steps: [] } }", "pipeline 'p' has no steps"),
            ("pipelines: { p: { steps: [ { backup: nosuch } ] } }", "unknown component 'nosuch'"),
            ("pipelines: { p: { steps: [ { action: directory.nosuch } ] } }", "nosuch"),
            ("pipelines: { p: { steps: [ { action: directory.count_files, args: [42] } ] } }", "parameter 'path' expects string"),
            ("pipelines: { p: { steps: [ { pipeline: q } ] }, q: { steps: [ { pipeline: p } ] } }", "cycle: p -> q -> p"),
            ("pipelines: { p: { steps: [ { hook: missing.sh } ] } }", "missing.sh"),
        ]
        for (yaml, message) in cases {
            try config(yaml)
            let run = try cairn(["run", "p"])
            #expect(run.status == 2, "\(yaml): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(yaml): \(run.stderr)")
            #expect(run.stderr.contains("cairn.yaml:"), "\(yaml): no file:line in \(run.stderr)")
        }
    }

    @Test func logFileAndRecordFileFollowTheRunbook() throws {
        try config()
        let run = try cairn(["backup", "files"])
        #expect(run.status == 0, "\(run.stderr)")
        let day = BackupID.day(Date())
        let log = try String(contentsOf: temp.path("logs/backup/backup_files_\(day).log"), encoding: .utf8)
        #expect(log.contains("backing up"))
        let record = try String(contentsOf: temp.path("logs/manual_backups.log"), encoding: .utf8)
        #expect(record.contains("files backup success: backup_id=files_"))
        #expect(record.contains("latest.tar.gz"))
    }

    @Test func secondRunIsRefusedWhileTheFirstHoldsTheLockAndKillMinus9IsMarkedInterrupted() throws {
        try hook("sleepy.sh", "#!/bin/sh\necho started > '\(temp.path("started").path)'\nsleep 30\n")
        try config("pipelines: { slow: { steps: [ { hook: sleepy.sh } ] } }")
        let first = try startInBackground(["run", "slow"], waitingFor: temp.path("started"))
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let second = try cairn(["run", "slow"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("pipeline 'slow' for environment 'test' is already running"))
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let history = try cairn(["history", "--json"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.text.contains("interrupted"), "\(history.text)")
    }

    @Test func finallyHooksRunAfterSIGTERM() throws {
        try hook("sleepy.sh", "#!/bin/sh\necho started > '\(temp.path("started").path)'\nsleep 30\n")
        try config("""
            hooks: { finally: [tracer.sh] }
            pipelines: { slow: { steps: [ { hook: sleepy.sh } ] } }
            """)
        let run = try startInBackground(["run", "slow"], waitingFor: temp.path("started"))
        defer { if run.isRunning { kill(run.processIdentifier, SIGKILL) } }
        kill(run.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while run.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!run.isRunning, "cairn did not stop after SIGTERM")
        #expect(run.terminationStatus == 1)
        #expect(traceLines().last?.hasPrefix("tracer.sh finally cancelled") == true, "\(traceLines())")
    }

    @Test func aStepTimeoutStopsAHangingHookAndFailsTheStep() throws {
        try hook("hang.sh", "#!/bin/sh\nsleep 60\n")
        try config("pipelines: { p: { steps: [ { hook: hang.sh, timeout: 1s } ] } }")
        let started = Date()
        let run = try cairn(["run", "p"])
        #expect(run.status == 1)
        #expect(run.text.contains("timed out after 1s"), "\(run.text)")
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test func jsonModeEndsWithAnErrorObjectWhenARunCannotStart() throws {
        try config()
        let run = try cairn(["run", "nosuch", "--json"])
        #expect(run.status == 2)
        let last = try #require(try jsonLines(run.text).last)
        #expect(last["type"] == .string("error"))
        #expect(last["exit_code"] == .number(2))
        #expect(last["message"]?.stringValue?.contains("unknown pipeline 'nosuch'") == true)
    }

    @Test func typeFlagIsCheckedAgainstThePlugin() throws {
        try config()
        let run = try cairn(["backup", "files", "--type", "both"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("command-line option --type: component 'files' takes no --type (plugin directory has no such options)"), "\(run.stderr)")
    }

    /// A --component value is a name, not a path: it would become part of the run log's file name.
    @Test func aComponentThatIsAPathIsRefusedBeforeAnythingIsWritten() throws {
        try config()
        let run = try cairn(["run", "backup", "--component", "../../../escaped"])
        #expect(run.status == 2, "\(run.text)\(run.stderr)")
        #expect(run.stderr.contains("--component '../../../escaped' must be lowercase letters"), "\(run.stderr)")
        let history = try cairn(["history", "--json"])
        #expect((try JSONSerialization.jsonObject(with: history.stdout) as? [Any])?.isEmpty == true, "no run may have started: \(history.text)")
    }
}
