import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// What a killed or cancelled `cairn` leaves, and who removes it: a real binary killed with
/// SIGKILL or stopped with SIGTERM at a known point (a hook that says it is ready, or the partial
/// file appearing), then the next run or `cairn prune`.
@Suite("Debris of killed and cancelled runs", .serialized)
struct KilledRunDebrisTests {
    let temp: TemporaryDirectory
    let source: URL
    let store: URL
    let staging: URL
    var folder: URL { store.appendingPathComponent("files/test") }

    init() throws {
        temp = try TemporaryDirectory("cairn-debris")
        source = temp.path("source")
        store = temp.path("store")
        staging = temp.path("staging")
        for made in [source, staging] { try FileManager.default.createDirectory(at: made, withIntermediateDirectories: true) }
        try Data("small\n".utf8).write(to: source.appendingPathComponent("small.txt"))
        // Says it is ready, then waits to be killed: between the stored archive and its verification.
        try hook("noop.sh", "#!/bin/sh\nexit 0\n")
        try hook("ready.sh", "#!/bin/sh\necho ready > '\(temp.path("ready").path)'\nsleep 60\n")
        try writeFilesystemConfig(temp.path("cairn.yaml"), store: store, """
            state: { path: \(temp.path("state.sqlite").path) }
            logs: { dir: \(temp.path("logs").path) }
            staging_dir: \(staging.path)
            archive: { compression_level: 9, threads: 1 }
            escalation: { consecutive_failures: 2 }
            components:
              files: { plugin: directory, path: \(source.path) }
            pipelines:
              stalled:
                steps:
                  - backup: files
                  - hook: ready.sh
                  - verify: files
                  - publish: files
              quiet:
                steps:
                  - hook: noop.sh
              timed_out:
                steps:
                  - backup: files
                  - hook: ready.sh
                    timeout: 1s
                  - verify: files
                  - publish: files
            """)
    }

    func hook(_ name: String, _ body: String) throws {
        try body.write(to: temp.path(name), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: temp.path(name).path)
    }

    func cairn(_ arguments: [String]) throws -> ToolResult {
        try runCairn(arguments, config: temp.path("cairn.yaml"), in: temp.url)
    }

    /// The cairn binary running in the background, to be killed mid-run.
    func start(_ arguments: [String], environment: [String: String]? = nil, in directory: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = arguments
        process.environment = environment ?? ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": temp.path("cairn.yaml").path]) { $1 }
        process.currentDirectoryURL = directory ?? temp.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (up to 60 s) until `found` says yes; false if it never did.
    func waitFor(_ found: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if found() { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }

    func names(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    func partials() -> [String] { names(in: folder).filter { $0.contains(".partial-") } }

    func latestID() throws -> String {
        try runShell("tar --wildcards -xzOf '\(folder.appendingPathComponent("latest.tar.gz").path)' '*/backup_metadata.json' | jq -r .backup_id")
            .text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func listed() throws -> [JSONValue] {
        let list = try cairn(["list", "files", "--json"])
        guard case .array(let rows) = try JSONValue.parse(list.text) else { return [] }
        return rows
    }

    @Test func aRunKilledWhileWritingLeavesAPartialAndAScratchFolderThatTheNextRunRemoves() throws {
        #expect(try cairn(["backup", "files"]).status == 0)
        let good = try latestID()
        // 48 MiB of random bytes at gzip level 9 on one thread: seconds of writing to kill into.
        try runShell("head -c 50331648 /dev/urandom > '\(source.appendingPathComponent("big.bin").path)'")
        let killed = try start(["backup", "files"])
        // The archive's partial, not the lock's (cairn.lock is written through a partial too).
        let sawPartial = waitFor { partials().contains { $0.hasPrefix(".files_") } }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        try #require(sawPartial, "no partial file appeared")
        #expect(partials().contains { $0.contains("-\(killed.processIdentifier)-") }, "\(partials())")
        #expect(names(in: staging).contains { $0.hasPrefix("cairn-\(killed.processIdentifier)-") }, "\(names(in: staging))")
        #expect(try latestID() == good, "latest changed under a killed run")

        try FileManager.default.removeItem(at: source.appendingPathComponent("big.bin"))
        let next = try cairn(["backup", "files"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(partials().isEmpty, "the killed run's partial stayed: \(names(in: folder))")
        #expect(names(in: staging).isEmpty, "a scratch folder stayed: \(names(in: staging))")
        #expect(try latestID() != good)
        #expect(try cairn(["verify", "files", "--backup", "latest"]).status == 0)
    }

    @Test func anArchiveAKilledRunNeverVerifiedIsListedAsSuchAndTheNextRunRemovesIt() throws {
        #expect(try cairn(["backup", "files"]).status == 0)
        let good = try latestID()
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let killed = try start(["run", "stalled"])
        let ready = waitFor { FileManager.default.fileExists(atPath: temp.path("ready").path) }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        try #require(ready, "the hook never ran")
        let rows = try listed()
        let unverified = rows.filter { $0["verified"] == .bool(false) }
        #expect(rows.count == 2 && unverified.count == 1, "\(rows)")
        let stranded = try #require(unverified.first?["key"]?.stringValue)
        #expect(try latestID() == good)

        Thread.sleep(forTimeInterval: 1.1)
        let next = try cairn(["backup", "files"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("removed \(stranded)"), "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: store.appendingPathComponent(stranded).path), "\(names(in: folder))")
        let after = try listed()
        #expect(after.count == 2 && after.allSatisfy { $0["verified"] == .bool(true) }, "\(after)")
        #expect(try latestID() != good)
    }

    @Test func runsKilledBeforeTheyFinishCountAsFailedBackupsAndOpenAnIncident() throws {
        for _ in 0..<2 {
            try? FileManager.default.removeItem(at: temp.path("ready"))
            let killed = try start(["run", "stalled"])
            let ready = waitFor { FileManager.default.fileExists(atPath: temp.path("ready").path) }
            kill(killed.processIdentifier, SIGKILL)
            killed.waitUntilExit()
            try #require(ready, "the hook never ran")
            Thread.sleep(forTimeInterval: 1.1)  // a new run id
        }
        #expect(try cairn(["incidents", "--json"]).text.contains("consecutive_failures") == false)
        // `cairn history` shows them as interrupted, but only looks: the escalation is still to come.
        let history = try cairn(["history", "--pipeline", "stalled"])
        #expect(history.text.components(separatedBy: "interrupted").count == 3, "\(history.text)")
        #expect(!history.text.contains("running"), "\(history.text)")
        // The next pipeline run, though it backs nothing up, finds both dead runs: two failed backups of files.
        let next = try cairn(["run", "quiet"])
        #expect(next.status == 0, "\(next.stderr)")
        let incidents = try cairn(["incidents", "--json"]).text
        #expect(incidents.contains("cairn/test/files/consecutive_failures"), "\(incidents)")
        #expect(incidents.contains("died before it finished"), "\(incidents)")
    }

    @Test func aRunWhoseStepTimedOutBeforeTheVerificationRemovesItsArchive() throws {
        #expect(try cairn(["backup", "files"]).status == 0)
        let good = try latestID()
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let run = try cairn(["run", "timed_out"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.text.contains("timed out after 1s"), "\(run.text)")
        #expect(run.stderr.contains("the run failed before it was verified"), "\(run.stderr)")
        let rows = try listed()
        #expect(rows.count == 1 && rows.first?["backup_id"]?.stringValue == good, "\(rows)")
        #expect(try latestID() == good)
        #expect(names(in: staging).isEmpty, "a scratch folder stayed: \(names(in: staging))")
    }

    @Test func pruneRemovesPartialsOfDeadWritersAndOldOnesOfOtherHostsOnly() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let host = try runTool(["hostname"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        let ended = try runTool(["sh", "-c", "echo $$"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        let live = String(getpid())
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86400)
        let files: [(name: String, old: Bool, removed: Bool)] = [
            (".files_a.tar.gz.partial-\(host)-\(ended)-1f", false, true),    // this host, process gone
            (".files_b.tar.gz.partial-\(host)-\(live)-2f", true, false),     // this host, process alive
            (".files_c.tar.gz.partial-elsewhere-\(live)-3f", true, true),    // another host, old
            (".files_d.tar.gz.partial-elsewhere-\(ended)-4f", false, false), // another host, recent
            (".files_e.tar.gz.partial-\(ended)-5f", true, true),             // no host recorded, old
        ]
        for file in files {
            let url = folder.appendingPathComponent(file.name)
            try Data("part".utf8).write(to: url)
            if file.old { try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: url.path) }
        }
        let prune = try cairn(["prune", "--json"])
        #expect(prune.status == 0, "\(prune.stderr)")
        guard case .array(let components) = try JSONValue.parse(prune.text)["components"] else {
            Issue.record("no report: \(prune.text)"); return
        }
        #expect(components.first?["cleaned_up"] == .number(3), "\(prune.text)")
        for file in files {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file.name).path) == !file.removed, "\(file.name)")
        }
    }

    /// moto with the `stalled` pipeline, and `cairn run stalled` started against it.
    /// The variables MotoCairn.cairn runs with: moto's keys and config, none of the operator's.
    func motoEnvironment(_ s3: MotoCairn) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in MotoCairn.overridingVariables { environment[name] = nil }
        return environment.merging(s3.awsEnvironment.merging(["CAIRN_CONFIG": s3.configFile.path, "HOME": s3.temp.url.path]) { $1 }) { $1 }
    }

    func stalledOnMoto() throws -> (MotoCairn, Process) {
        let s3 = try MotoCairn("cairn-debris-s3")
        try s3.writeConfig(bucket: "cairn-test", """
            staging_dir: \(staging.path)
            components:
              files: { plugin: directory, path: \(source.path) }
            pipelines:
              stalled:
                steps:
                  - backup: files
                  - hook: \(temp.path("ready.sh").path)
                  - verify: files
                  - publish: files
            """)
        let process = try start(["run", "stalled"], environment: motoEnvironment(s3), in: s3.temp.url)
        return (s3, process)
    }

    @Test func anArchiveAKilledRunLeftUnverifiedInTheBucketIsRemovedByTheNextRun() throws {
        let (s3, process) = try stalledOnMoto()
        let ready = waitFor { FileManager.default.fileExists(atPath: temp.path("ready").path) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(ready, "the hook never ran")
        let stranded = try s3.aws("s3 ls s3://cairn-test/files/test/ --recursive").text
        #expect(stranded.contains(".tar.gz"), "nothing was stored before the kill: \(stranded)")
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let next = try s3.cairn(["backup", "files", "--json"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("was interrupted before verifying it"), "\(next.stderr)")
        let rows = try JSONValue.parse(try s3.cairn(["list", "files", "--json"]).text)
        guard case .array(let listed) = rows else { Issue.record("\(rows)"); return }
        #expect(listed.count == 1 && listed.first?["verified"] == .bool(true) && listed.first?["latest"] == .bool(true), "\(listed)")
    }

    /// Killed while its multipart upload is open (a watcher kills it the moment moto lists the
    /// upload): the next backup aborts that upload at once, not only after the day-old sweep.
    @Test func anUploadAKilledRunLeftOpenIsAbortedByTheNextRun() throws {
        let s3 = try MotoCairn("cairn-debris-upload")
        try s3.writeConfig(bucket: "cairn-test", """
            archive: { compression_level: 9, threads: 1 }
            components:
              files: { plugin: directory, path: \(source.path) }
            """)
        try runShell("head -c 50331648 /dev/urandom > '\(source.appendingPathComponent("big.bin").path)'")
        let process = try start(["backup", "files"], environment: motoEnvironment(s3), in: s3.temp.url)
        let watcher = """
            import boto3, os, signal, sys, time
            s3 = boto3.client("s3", endpoint_url=sys.argv[2], region_name="us-east-1")
            deadline = time.time() + 60
            while time.time() < deadline:
                if s3.list_multipart_uploads(Bucket="cairn-test").get("Uploads"):
                    os.kill(int(sys.argv[1]), signal.SIGKILL)
                    print("killed")
                    break
                time.sleep(0.02)
            """
        let watched = try runTool(["python3", "-c", watcher, String(process.processIdentifier), s3.moto.endpoint],
                                  environment: motoEnvironment(s3), check: false)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try #require(watched.text.contains("killed"), "no upload was seen open: \(watched.stderr)")
        #expect(try s3.aws("s3api list-multipart-uploads --bucket cairn-test").text.contains("UploadId"))

        try FileManager.default.removeItem(at: source.appendingPathComponent("big.bin"))
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let next = try s3.cairn(["backup", "files"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("was interrupted while writing it"), "\(next.stderr)")
        let uploads = try s3.aws("s3api list-multipart-uploads --bucket cairn-test").text
        #expect(!uploads.contains("UploadId"), "the killed run's upload stayed open: \(uploads)")
    }

    @Test func aSIGTERMedBackupLeavesNoArchiveInTheBucketNorAScratchFolder() throws {
        let (s3, process) = try stalledOnMoto()
        let ready = waitFor { FileManager.default.fileExists(atPath: temp.path("ready").path) }
        let stored = try s3.aws("s3 ls s3://cairn-test/files/test/ --recursive").text
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try #require(ready, "the hook never ran")
        #expect(stored.contains(".tar.gz"), "nothing was stored before the signal: \(stored)")
        #expect(process.terminationStatus == 1)
        let listing = try s3.aws("s3 ls s3://cairn-test/files/test/ --recursive")
        #expect(!listing.text.contains(".tar.gz"), "the cancelled run's archive stayed: \(listing.text)")
        #expect(names(in: staging).isEmpty, "a scratch folder stayed: \(names(in: staging))")
        let list = try s3.cairn(["list", "files", "--json"])
        #expect(try JSONValue.parse(list.text) == .array([]), "\(list.text)\(list.stderr)")
    }
}
