import Foundation
import Synchronization
import Testing
@testable import CairnCore
@testable import CairnHooks
import CairnTestSupport

/// Lines a hook printed, collected from the runner's callback.
final class HookOutput: Sendable {
    private let lines = Mutex<[(text: String, isError: Bool)]>([])
    var callback: @Sendable (String, Bool) -> Void { { line, isError in self.lines.withLock { $0.append((line, isError)) } } }
    var stdout: [String] { lines.withLock { $0.filter { !$0.isError }.map(\.text) } }
    var stderr: [String] { lines.withLock { $0.filter(\.isError).map(\.text) } }
}

@Suite("Hook runner", .serialized)
struct HookRunnerTests {
    let directory: TemporaryDirectory
    var runner: HookRunner

    init() throws {
        directory = try TemporaryDirectory("hooks")
        runner = HookRunner(searchDirectories: [directory.url])
    }

    /// Writes an executable script (mode 0755 unless told otherwise).
    @discardableResult
    func script(_ name: String, _ body: String, mode: Int = 0o755, in folder: URL? = nil) throws -> URL {
        let url = (folder ?? directory.url).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(body.utf8).write(to: url)
        #expect(chmod(url.path, mode_t(mode)) == 0)
        return url
    }

    func context(_ phase: HookPhase = .before) -> HookContext {
        HookContext(phase: phase, pipeline: "nightly", runID: "run-42", component: "redis", environment: "prod")
    }

    func run(_ spec: HookSpec, _ context: HookContext? = nil, cancellation: Cancellation = Cancellation(),
             output: HookOutput = HookOutput()) throws -> HookResult {
        try runner.run(spec, context: context ?? self.context(), cancellation: cancellation, output: output.callback)
    }

    func refusal(_ spec: HookSpec) -> String {
        let error = #expect(throws: CairnError.self) { try runner.resolve(spec) }
        #expect(error?.kind == .usage)
        return error?.message ?? ""
    }

    /// Gone, or a zombie nobody has reaped yet (PID 1 in a container may not reap).
    static func isDead(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return errno == ESRCH }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[close...].dropFirst(2).first == "Z"
    }

    // MARK: argv, stdin, environment

    @Test func argumentsArePassedVerbatimWithoutAShell() throws {
        let victim = directory.path("victim")
        try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: true)
        let hook = try script("args.sh", "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n")
        let args = ["two words", "$(rm -rf \(victim.path))", "; rm -rf \(victim.path)", "*", ""]
        let output = HookOutput()
        let result = try run(HookSpec(path: hook.path, args: args), output: output)
        #expect(result.status == .ok)
        #expect(output.stdout == args.map { "<\($0)>" })
        #expect(FileManager.default.fileExists(atPath: victim.path))
    }

    @Test func eventOnStdinMatchesTheContext() throws {
        let saved = directory.path("event.json")
        let hook = try script("event.sh", "#!/bin/sh\ncat > \"$1\"\n")
        var context = HookContext(phase: .onError, pipeline: "nightly", runID: "run-7", step: "upload",
                                  component: "weaviate", environment: "staging", backupID: "20250101-000000",
                                  status: "failure", artifactURL: "s3://bucket/weaviate/staging/x.tar.gz",
                                  logFile: "/var/log/cairn/run-7.log", error: "upload failed: 503",
                                  details: ["bytes": .number(42), "note": .string("héllo \"quoted\"")])
        let before = Date()
        let result = try run(HookSpec(path: hook.path, args: [saved.path]), context)
        #expect(result.status == .ok)   // cat ended, so stdin was closed after the event

        let text = try String(contentsOf: saved, encoding: .utf8)
        #expect(text.hasSuffix("}\n") && text.filter { $0 == "\n" }.count == 1)
        let event = try JSONValue.parse(text)
        let expected: [String: String] = [
            "event": "hook", "phase": "on_error", "pipeline": "nightly", "run_id": "run-7", "step": "upload",
            "component": "weaviate", "environment": "staging", "backup_id": "20250101-000000", "status": "failure",
            "artifact_url": "s3://bucket/weaviate/staging/x.tar.gz", "log_file": "/var/log/cairn/run-7.log",
            "error": "upload failed: 503",
        ]
        for (key, value) in expected { #expect(event[key]?.stringValue == value, "\(key)") }
        #expect(event["details"] == .object(["bytes": .number(42), "note": .string("héllo \"quoted\"")]))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let time = try #require(event["time"]?.stringValue.flatMap { formatter.date(from: $0) })
        #expect(abs(time.timeIntervalSince(before)) < 5)

        // jq judges it too, and absent optionals are null, not missing.
        context.step = nil
        _ = try run(HookSpec(path: hook.path, args: [saved.path]), context)
        let check = try runTool(["jq", "-e", #"has("step") and .step == null and .details.bytes == 42"#, saved.path], check: false)
        #expect(check.status == 0, "\(check.text)")
    }

    @Test func passEnvTakesASecretFromTheFileItsFileVariableNames() throws {
        let secret = directory.url.appendingPathComponent("webhook-url")
        try Data("https://hooks.example/T0/s3cret-from-file\n".utf8).write(to: secret)
        setenv("CAIRN_TEST_WEBHOOK_FILE", secret.path, 1)
        defer { unsetenv("CAIRN_TEST_WEBHOOK_FILE"); unsetenv("CAIRN_TEST_WEBHOOK") }
        func env(_ names: [String]) throws -> (HookResult, [String]) {
            let output = HookOutput()
            let result = try run(HookSpec(path: "/usr/bin/env", passEnv: names), output: output)
            return (result, output.stdout)
        }

        // Passed on purpose, as the variable's own value, trailing newline dropped; the path is not passed.
        let (passed, lines) = try env(["CAIRN_TEST_WEBHOOK"])
        #expect(passed.status == .ok)
        #expect(lines.contains("CAIRN_TEST_WEBHOOK=https://hooks.example/T0/s3cret-from-file"), "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("CAIRN_TEST_WEBHOOK_FILE=") })
        // Not named in pass_env: nothing of it reaches the hook.
        let (_, plain) = try env([])
        #expect(!plain.joined().contains("s3cret") && !plain.joined().contains("webhook-url"), "\(plain)")

        // Unreadable or empty: the hook is not started and the message names the file, not the secret.
        setenv("CAIRN_TEST_WEBHOOK_FILE", directory.url.appendingPathComponent("missing").path, 1)
        let (missing, _) = try env(["CAIRN_TEST_WEBHOOK"])
        #expect(missing.status == .failed(exitCode: 127))
        #expect(missing.message.contains("environment variable CAIRN_TEST_WEBHOOK_FILE (for pass_env CAIRN_TEST_WEBHOOK): cannot use secret file '\(directory.url.path)/missing': no such file"),
                "\(missing.message)")
        let empty = directory.url.appendingPathComponent("empty")
        try Data("\n".utf8).write(to: empty)
        setenv("CAIRN_TEST_WEBHOOK_FILE", empty.path, 1)
        #expect(try env(["CAIRN_TEST_WEBHOOK"]).0.message.contains("'\(empty.path)': it is empty"))
        // Both set: which one is meant is unclear.
        setenv("CAIRN_TEST_WEBHOOK_FILE", secret.path, 1)
        setenv("CAIRN_TEST_WEBHOOK", "https://hooks.example/other", 1)
        let (both, _) = try env(["CAIRN_TEST_WEBHOOK"])
        #expect(both.status == .failed(exitCode: 127))
        #expect(both.message.contains("both CAIRN_TEST_WEBHOOK and CAIRN_TEST_WEBHOOK_FILE are set"), "\(both.message)")
        #expect(!both.message.contains("s3cret") && !both.message.contains("hooks.example"))
    }

    @Test func environmentIsBuiltFromScratch() throws {
        setenv("AWS_SECRET_ACCESS_KEY", "hunter2", 1)
        setenv("REDIS_URL", "redis://:secret@db:6379", 1)
        setenv("CAIRN_RUN_ID", "spoofed", 1)
        defer { unsetenv("AWS_SECRET_ACCESS_KEY"); unsetenv("REDIS_URL"); unsetenv("CAIRN_RUN_ID") }

        // /usr/bin/env is itself a valid hook and adds nothing, unlike a shell.
        func environment(passing names: [String]) throws -> [String: String] {
            let output = HookOutput()
            let result = try run(HookSpec(path: "/usr/bin/env", passEnv: names), output: output)
            #expect(result.status == .ok)
            return Dictionary(output.stdout.compactMap { line in
                line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            }, uniquingKeysWith: { a, _ in a })
        }

        let plain = try environment(passing: [])
        let cairn = ["CAIRN_HOOK_PHASE": "before", "CAIRN_PIPELINE": "nightly", "CAIRN_RUN_ID": "run-42",
                     "CAIRN_STEP": "", "CAIRN_COMPONENT": "redis", "CAIRN_ENVIRONMENT": "prod", "CAIRN_BACKUP_ID": "",
                     "CAIRN_STATUS": "running", "CAIRN_ARTIFACT_URL": "", "CAIRN_LOG_FILE": "", "CAIRN_ERROR": ""]
        for (name, value) in cairn { #expect(plain[name] == value, "\(name)") }
        #expect(plain["AWS_SECRET_ACCESS_KEY"] == nil)
        #expect(plain["REDIS_URL"] == nil)
        let inherited = HookEnvironment.inherited.filter { getenv($0) != nil }
        #expect(Set(plain.keys) == Set(cairn.keys).union(inherited).union(["PATH"]))
        if let home = getenv("HOME") { #expect(plain["HOME"] == String(cString: home)) }

        let passed = try environment(passing: ["REDIS_URL", "CAIRN_RUN_ID", "NOT_SET_ANYWHERE"])
        #expect(passed["REDIS_URL"] == "redis://:secret@db:6379")
        #expect(passed["AWS_SECRET_ACCESS_KEY"] == nil)
        #expect(passed["CAIRN_RUN_ID"] == "run-42")   // Cairn's own values cannot be spoofed
        #expect(passed["NOT_SET_ANYWHERE"] == nil)
    }

    // MARK: outcomes

    @Test func exitCodesMapToOutcomes() throws {
        let hook = try script("exit.sh", "#!/bin/sh\n[ \"$1\" = kill ] && kill -KILL $$\nexit \"$1\"\n")
        #expect(try run(HookSpec(path: hook.path, args: ["0"])).status == .ok)
        #expect(try run(HookSpec(path: hook.path, args: ["75"])).status == .skip)
        let failed = try run(HookSpec(path: hook.path, args: ["3"]))
        #expect(failed.status == .failed(exitCode: 3))
        #expect(failed.message.hasPrefix("hook \(hook.path) exited 3 after "))
        #expect(failed.resolvedPath == hook.path)
        let killed = try run(HookSpec(path: hook.path, args: ["kill"]))
        #expect(killed.status == .killedBySignal(SIGKILL))
        #expect(killed.message.contains("SIGKILL"))
    }

    @Test func brokenInterpreterIsAFailureNotACrash() throws {
        let hook = try script("broken.sh", "#!/nonexistent/interpreter\n")
        let result = try run(HookSpec(path: hook.path))
        #expect(result.status == .failed(exitCode: 127))
        #expect(result.message.contains("could not be started"))
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        // Both the hook and its background grandchild ignore SIGTERM, so only the SIGKILL
        // after the grace period can end them.
        let pidFile = directory.path("grandchild.pid")
        let hook = try script("slow.sh", """
            #!/bin/sh
            trap '' TERM
            sh -c 'exec sleep 300' &
            echo $! > "$1"
            sleep 30
            """)
        var runner = self.runner
        runner.terminationGrace = 0.5
        let result = try runner.run(HookSpec(path: hook.path, args: [pidFile.path], timeout: 1), context: context(),
                                    cancellation: Cancellation(), output: { _, _ in })
        #expect(result.status == .timedOut)
        #expect(result.seconds >= 1 && result.seconds < 4)
        #expect(result.message.contains("timed out"))

        let text = try String(contentsOf: pidFile, encoding: .utf8)
        let grandchild = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let limit = Date().addingTimeInterval(2)
        while !Self.isDead(grandchild) && Date() < limit { usleep(20_000) }
        #expect(Self.isDead(grandchild), "grandchild \(grandchild) survived the timeout")
    }

    @Test func cancellationStopsARunningHook() throws {
        let hook = try script("wait.sh", "#!/bin/sh\nsleep 30\n")
        let cancellation = Cancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        let result = try run(HookSpec(path: hook.path), cancellation: cancellation)
        #expect(result.status == .cancelled)
        #expect(result.seconds < 3)

        // Once cancelled, other hooks do not start, but finally hooks still run.
        let marker = directory.path("ran")
        let touch = try script("touch.sh", "#!/bin/sh\ntouch \"$1\"\n")
        #expect(try run(HookSpec(path: touch.path, args: [marker.path]), cancellation: cancellation).status == .cancelled)
        #expect(!FileManager.default.fileExists(atPath: marker.path))
        #expect(try run(HookSpec(path: touch.path, args: [marker.path]), context(.finally), cancellation: cancellation).status == .ok)
        #expect(FileManager.default.fileExists(atPath: marker.path))
    }

    @Test func childGetsDefaultSignalsAndAnEmptyMask() throws {
        // The host ignores SIGTERM and a test runner may block it; neither may reach the hook.
        var term = sigset_t(), savedMask = sigset_t()
        sigemptyset(&term); sigaddset(&term, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &term, &savedMask)
        let savedHandler = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, savedHandler); pthread_sigmask(SIG_SETMASK, &savedMask, nil) }

        let hook = try script("term.sh", "#!/bin/sh\nkill -TERM $$\nexit 0\n")
        let result = try run(HookSpec(path: hook.path))
        #expect(result.status == .killedBySignal(SIGTERM))

        // grep run directly as the hook reads its own mask; a shell would show its own wait mask.
        let output = HookOutput()
        #expect(try run(HookSpec(path: "/bin/grep", args: ["-E", "^Sig(Blk|Ign):", "/proc/self/status"]), output: output).status == .ok)
        func mask(_ name: String) -> UInt64? {
            output.stdout.first { $0.hasPrefix(name + ":") }
                .flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        #expect(mask("SigBlk") == 0)
        // Signals 1-31 (glibc leaves its two reserved real-time signals, 32 and 33, ignored).
        #expect(mask("SigIgn").map { $0 & 0x7FFF_FFFF } == 0)
    }

    // MARK: output

    @Test func megabytesOfOutputNeitherBlockNorGetLost() throws {
        // 600 KB on stderr first: reading only stdout would deadlock on the full stderr pipe.
        let line = String(repeating: "0123456789", count: 10)
        let hook = try script("chatty.sh", """
            #!/bin/sh
            yes 'stderr line' | head -n 50000 >&2
            yes '\(line)' | head -n 200000
            echo done >&2
            """)
        let counts = Mutex<(good: Int, bad: Int, errors: Int, last: String)>((0, 0, 0, ""))
        let result = try runner.run(HookSpec(path: hook.path, timeout: 60), context: context(), cancellation: Cancellation()) { text, isError in
            counts.withLock {
                if isError { $0.errors += 1; $0.last = text } else if text == line { $0.good += 1 } else { $0.bad += 1 }
            }
        }
        #expect(result.status == .ok)
        counts.withLock {
            #expect($0.good == 200_000)   // 20.2 MB
            #expect($0.bad == 0)
            #expect($0.errors == 50_001)
            #expect($0.last == "done")
        }
    }

    @Test func overlongLinesAreCut() throws {
        let hook = try script("long.sh", "#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' a\necho\nprintf 'after'\n")
        let output = HookOutput()
        #expect(try run(HookSpec(path: hook.path), output: output).status == .ok)
        #expect(output.stdout == [String(repeating: "a", count: 8192) + OutputLineSplitter.cutMarker, "after"])
    }

    @Test func aHugeLineDoesNotGrowMemory() throws {
        // 64 MB without a newline: kept whole, it would raise the peak resident size by as much.
        func peakKilobytes() -> Int { var usage = rusage(); getrusage(RUSAGE_SELF.rawValue, &usage); return usage.ru_maxrss }
        let hook = try script("huge.sh", "#!/bin/sh\nhead -c 64000000 /dev/zero | tr '\\0' b\n")
        let before = peakKilobytes()
        let output = HookOutput()
        #expect(try run(HookSpec(path: hook.path, timeout: 60), output: output).status == .ok)
        #expect(output.stdout == [String(repeating: "b", count: 8192) + OutputLineSplitter.cutMarker])
        #expect(peakKilobytes() - before < 16_000)
    }

    @Test func hookThatIgnoresAHugeEventDoesNotHangOrKillTheHost() throws {
        // The write to its stdin fails with EPIPE; SIGPIPE must not take the host down.
        let hook = try script("quick.sh", "#!/bin/sh\nexit 0\n")
        var big = context()
        big.details = ["blob": .string(String(repeating: "x", count: 1_000_000))]
        let result = try run(HookSpec(path: hook.path, timeout: 10), big)
        #expect(result.status == .ok)
        #expect(result.seconds < 5)
    }

    // MARK: refusals and search

    @Test func unsafeOrMissingHooksAreRefusedBeforeRunning() throws {
        let missing = directory.path("missing.sh").path
        #expect(refusal(HookSpec(path: missing)) == "hook \(missing) does not exist")

        let plain = try script("plain.sh", "#!/bin/sh\n", mode: 0o644).path
        #expect(refusal(HookSpec(path: plain)) == "hook \(plain) is not executable (mode 0644); chmod +x \(plain)")

        let marker = directory.path("ran")
        let world = try script("world.sh", "#!/bin/sh\ntouch \(marker.path)\n", mode: 0o757).path
        #expect(refusal(HookSpec(path: world)) == "hook \(world) is writable by other users (mode 0757); chmod go-w \(world)")
        #expect(throws: CairnError.self) { try run(HookSpec(path: world)) }
        #expect(!FileManager.default.fileExists(atPath: marker.path))

        let group = try script("group.sh", "#!/bin/sh\n", mode: 0o775).path
        #expect(refusal(HookSpec(path: group)) == "hook \(group) is writable by other users (mode 0775); chmod go-w \(group)")

        #expect(refusal(HookSpec(path: directory.url.path)).contains("is not a regular file (it is a directory)"))

        let origin = ValueOrigin.file(path: "cairn.yaml", line: 12, column: 5)
        #expect(refusal(HookSpec(path: missing, origin: origin)).hasSuffix("(configured at cairn.yaml:12:5)"))
        #expect(refusal(HookSpec(path: plain, timeout: 0)).contains("timeout must be a positive number"))
        #expect(refusal(HookSpec(path: plain, passEnv: ["A=B"])).contains("'A=B' is not an environment variable name"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give a file away"))
    func hooksOwnedByAnotherUserAreRefused() throws {
        let hook = try script("foreign.sh", "#!/bin/sh\n").path
        #expect(chown(hook, 4242, 4242) == 0)
        #expect(refusal(HookSpec(path: hook)).hasPrefix("hook \(hook) is owned by uid 4242"))
    }

    @Test func relativePathsFollowTheSearchOrder() throws {
        let config = directory.path("config"), extra = directory.path("extra"), bundled = directory.path("bundled")
        try script("only-bundled.sh", "#!/bin/sh\n", in: bundled)
        try script("shared.sh", "#!/bin/sh\n", in: bundled)
        try script("shared.sh", "#!/bin/sh\n", in: extra)
        try script("hooks/nested.sh", "#!/bin/sh\n", in: config)
        try script("shadowed.sh", "#!/bin/sh\n", mode: 0o644, in: extra)
        try script("shadowed.sh", "#!/bin/sh\n", in: bundled)
        let searching = HookRunner(searchDirectories: [config, extra, bundled])

        #expect(try searching.resolve(HookSpec(path: "only-bundled.sh")).path == bundled.appendingPathComponent("only-bundled.sh").path)
        #expect(try searching.resolve(HookSpec(path: "shared.sh")).path == extra.appendingPathComponent("shared.sh").path)
        #expect(try searching.resolve(HookSpec(path: "hooks/nested.sh")).path == config.appendingPathComponent("hooks/nested.sh").path)
        // The first match is the hook, even when it is refused: a later folder never stands in.
        let error = #expect(throws: CairnError.self) { try searching.resolve(HookSpec(path: "shadowed.sh")) }
        #expect(error?.message.contains(extra.appendingPathComponent("shadowed.sh").path + " is not executable") == true)
        let notFound = #expect(throws: CairnError.self) { try searching.resolve(HookSpec(path: "nowhere.sh")) }
        #expect(notFound?.message == "hook nowhere.sh not found in \(config.path), \(extra.path), \(bundled.path)")
    }

    // MARK: the hooks shipped in hooks/

    @Test func shippedExampleHooksFollowTheContract() throws {
        let runID = "test-\(UUID().uuidString)"
        let shipped = HookRunner(searchDirectories: [TestPaths.packageRoot.appendingPathComponent("hooks")])
        func run(_ name: String, _ phase: HookPhase, args: [String] = [], passEnv: [String] = [],
                 output: HookOutput = HookOutput()) throws -> HookResult.Status {
            let context = HookContext(phase: phase, pipeline: "nightly", runID: runID,
                                      component: "redis", environment: "prod", backupID: "b1", status: "success",
                                      artifactURL: "s3://bucket/redis/prod/b1.tar.gz")
            return try shipped.run(HookSpec(path: name, args: args, passEnv: passEnv), context: context,
                                   cancellation: Cancellation(), output: output.callback).status
        }
        let marker = URL(fileURLWithPath: (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/cairn-\(runID).in-progress")
        defer { try? FileManager.default.removeItem(at: marker) }

        let flag = directory.path("skip")
        setenv("CAIRN_SKIP_FLAG", flag.path, 1)
        defer { unsetenv("CAIRN_SKIP_FLAG") }
        #expect(try run("pre-backup-example.sh", .before, args: ["/nonexistent/data"]) == .failed(exitCode: 1))
        #expect(try run("pre-backup-example.sh", .before, args: [directory.url.path]) == .ok)   // flag not passed
        #expect(FileManager.default.fileExists(atPath: marker.path))
        _ = FileManager.default.createFile(atPath: flag.path, contents: nil)
        #expect(try run("pre-backup-example.sh", .before, passEnv: ["CAIRN_SKIP_FLAG"]) == .skip)

        let post = HookOutput()
        #expect(try run("post-backup-example.sh", .after, output: post) == .ok)
        #expect(post.stdout.contains("post-backup: artifact s3://bucket/redis/prod/b1.tar.gz"))

        #expect(try run("finally-cleanup-example.sh", .finally) == .ok)
        #expect(!FileManager.default.fileExists(atPath: marker.path))

        let log = directory.path("events.jsonl")
        #expect(try run("notify-log.py", .finally, args: [log.path]) == .ok)
        #expect(try run("notify-log.py", .finally, args: [log.path]) == .ok)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try lines.map { try JSONValue.parse(String($0))["run_id"]?.stringValue } == [runID, runID])
    }
}
