import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// End to end through the real `cairn` binary and the Weaviate plugin against the Weaviate test
/// server, with the filesystem store: checks, backup, verify and restore, judged by tar and jq.
@Suite("Weaviate backups", .serialized)
struct WeaviateBackupTests {
    let temp: TemporaryDirectory
    let store: URL
    let backups: URL
    let configFile: URL
    let weaviate: FakeWeaviate

    init() throws {
        temp = try TemporaryDirectory("cairn-weaviate")
        store = temp.path("store")
        backups = temp.path("weaviate-backups")
        configFile = temp.path("cairn.yaml")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
        weaviate = try FakeWeaviate(in: temp.path("server"), config: [
            "backups_path": backups.path, "classes": ["Article": 3, "Author": 2], "api_key": "test-key-1",
        ])
        try writeConfig()
    }

    /// The component with short polls so the suite stays fast; `extra` ("key: value" lines) adds
    /// or replaces settings.
    func writeConfig(_ extra: String = "") throws {
        var settings = ["url": weaviate.url, "poll_interval_ms": "20", "poll_max_interval_ms": "60", "deadline": "30"]
        for line in extra.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            settings[String(parts[0])] = String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        try writeFilesystemConfig(configFile, store: store, """
            components:
              weaviate:
            \(settings.sorted { $0.key < $1.key }.map { "    \($0.key): \($0.value)" }.joined(separator: "\n"))
            """)
    }

    /// Every answer the test server gave in this test follows Weaviate's spec.
    func expectSpecConformance(_ server: FakeWeaviate, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try server.checkResponsesAgainstSpec()
        #expect(result.status == 0, "\(result.text)\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// Waits for the next wall-clock second: Cairn names backups by the second, and Weaviate
    /// refuses an id it has seen unless that backup was cancelled.
    func nextSecond() {
        let now = Date().timeIntervalSince1970
        Thread.sleep(forTimeInterval: now.rounded(.down) + 1.02 - now)
    }

    func cairn(_ arguments: [String], environment extra: [String: String] = ["WEAVIATE_API_KEY": "test-key-1"]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, unset: [
            "WEAVIATE_URL", "WEAVIATE_API_KEY", "WEAVIATE_BACKUPS_PATH", "WEAVIATE_BACKUP_BACKEND", "WEAVIATE_BACKUP_DEADLINE",
        ], environment: extra)
    }

    var latest: URL { store.appendingPathComponent("weaviate/test/latest.tar.gz") }

    /// Every archive in the store, relative and sorted; the host's state aside.
    func storeFiles() -> [String] {
        let root = store.appendingPathComponent("weaviate/test").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func metadata(of archive: URL) throws -> JSONValue {
        try JSONValue.parse(try runShell("tar -xzO --wildcards '*/backup_metadata.json' < '\(archive.path)'").text)
    }

    @Test func checksBackupVerifyAndRestoreRoundTrip() throws {
        let check = try cairn(["check", "weaviate"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        // Check results go to the log on stderr; the summary to stdout.
        for line in ["is ready (GET /v1/.well-known/ready answered 200)", "Weaviate 1.39.0 with backup-filesystem",
                     "Weaviate's backup folder is readable here at \(backups.path)", "1 node HEALTHY: node1",
                     "2 collections: Article (3 objects), Author (2 objects)"] {
            #expect(check.stderr.contains(line), "\(line) not in \(check.stderr)")
        }

        let backup = try cairn(["backup", "weaviate"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let listing = try runTool(["tar", "-tzf", latest.path]).text.split(separator: "\n").map(String.init)
        let id = try #require(listing.first?.split(separator: "/").first.map(String.init))
        #expect(id.hasPrefix("weaviate_"))
        for path in ["backup_config.json", "node1/backup.json", "node1/Article/chunk-1", "node1/Author/chunk-1", "backup_metadata.json"] {
            #expect(listing.contains("\(id)/\(path)"), "\(path) missing from \(listing)")
        }
        // The runbook's own command reads backup_metadata.json out of latest.tar.gz.
        let meta = try metadata(of: latest)
        #expect(meta["backup_id"]?.stringValue == id)
        #expect(meta["source"]?["weaviate_version"]?.stringValue == "1.39.0")
        #expect(meta["source"]?["nodes"] == .array([.string("node1")]))
        #expect(meta["source"]?["backup_classes"] == .array([.string("Article"), .string("Author")]))
        let statuses = meta["source"]?["status_timeline"]?.arrayValue?.compactMap { $0["status"]?.stringValue }
        #expect(statuses == ["STARTED", "TRANSFERRING", "SUCCESS"], "\(String(describing: statuses))")
        // Weaviate got Cairn's backup id and the configured CPU share and compression.
        #expect(weaviate.requests.contains("POST /v1/backups/filesystem"))
        #expect(weaviate.requests.contains("GET /v1/backups/filesystem/\(id)"))

        let verify = try cairn(["verify", "weaviate", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("backup_config.json has status SUCCESS; 1 node (node1), each with its backup.json and chunks"), "\(verify.text)")
        #expect(verify.text.contains("collections Article, Author match backup_metadata.json"), "\(verify.text)")

        // Both collections still exist: the restore names them and changes nothing.
        let refused = try cairn(["restore", "weaviate", "--backup", "latest"])
        #expect(refused.status == 1, "\(refused.text)\(refused.stderr)")
        #expect((refused.text + refused.stderr).contains("collections Article, Author already exist in Weaviate, and a restore never overwrites one"),
                "\(refused.text)\(refused.stderr)")
        #expect(!weaviate.requests.contains { $0.hasSuffix("/restore") && $0.hasPrefix("POST") })

        // Weaviate restores into itself: no folder target, no drill.
        let folder = try cairn(["restore", "weaviate", "--target", temp.path("restore").path])
        #expect(folder.status == 1 && folder.stderr.contains("leave out --target"), "\(folder.stderr)")
        let drill = try cairn(["restore", "weaviate", "--drill"])
        #expect(drill.status == 2 && drill.stderr.contains("(plugin weaviate) has no restore drill"), "\(drill.stderr)")

        // Lose the data and Weaviate's copy of the backup; the restore brings both back.
        try weaviate.request("DELETE", "/v1/schema/Article")
        try weaviate.request("DELETE", "/v1/schema/Author")
        try FileManager.default.removeItem(at: backups.appendingPathComponent(id))
        #expect(try weaviate.objectCounts().isEmpty)
        let restore = try cairn(["restore", "weaviate", "--backup", id])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        #expect(restore.text.contains("Weaviate restored backup \(id): Article, Author (STARTED → TRANSFERRING → SUCCESS)"), "\(restore.text)")
        #expect(FileManager.default.fileExists(atPath: backups.appendingPathComponent("\(id)/node1/Article/chunk-1").path))
        #expect(try weaviate.objectCounts() == ["Article": 3, "Author": 2])
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: backups.path)) ?? []).contains { $0.hasPrefix(".") },
                "a partial restore folder was left behind")

        // A folder in place that differs from the archive is not used.
        let chunk = backups.appendingPathComponent("\(id)/node1/Author/chunk-1")
        let original = try Data(contentsOf: chunk)
        try Data(original.dropLast()).write(to: chunk)
        try weaviate.request("DELETE", "/v1/schema/Author")
        try writeConfig("include: [Author]")
        let differs = try cairn(["restore", "weaviate", "--backup", id])
        #expect(differs.status == 1)
        #expect(differs.stderr.contains("\(backups.path)/\(id) already exists and differs from the stored backup (node1/Author/chunk-1): move it out of the way"),
                "\(differs.stderr)")
        try original.write(to: chunk)

        // A second restore finds the folder in place (byte for byte) and only the schema in the way.
        let again = try cairn(["restore", "weaviate", "--backup", id])
        #expect(again.status == 0, "\(again.text)\(again.stderr)")
        #expect(again.text.contains("already holds this backup, byte for byte"), "\(again.text)")
        #expect(try weaviate.objectCounts() == ["Article": 3, "Author": 2])
        try expectSpecConformance(weaviate)
    }

    @Test func theRunbooksEnvironmentAloneIsEnough() throws {
        try writeFilesystemConfig(configFile, store: store, "")
        let backup = try cairn(["backup", "weaviate"], environment: ["WEAVIATE_URL": weaviate.url, "WEAVIATE_API_KEY": "test-key-1"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        #expect(FileManager.default.fileExists(atPath: latest.path))
        #expect(!(backup.text + backup.stderr).contains("test-key-1"))
        try expectSpecConformance(weaviate)
    }

    /// Runs a backup expected to fail with `message`, and checks nothing reached the store:
    /// latest.tar.gz keeps its bytes and no new archive appears.
    func expectRefused(_ messages: String..., exit: Int32 = 1, environment: [String: String] = ["WEAVIATE_API_KEY": "test-key-1"],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = storeFiles()
        let latestBytes = try? Data(contentsOf: latest)
        let result = try cairn(["backup", "weaviate"], environment: environment)
        let output = result.text + result.stderr
        #expect(result.status == exit, "\(output)", sourceLocation: sourceLocation)
        for message in messages {
            #expect(output.contains(message), "expected «\(message)» in: \(output)", sourceLocation: sourceLocation)
        }
        #expect(storeFiles() == before, "the store changed", sourceLocation: sourceLocation)
        #expect((try? Data(contentsOf: latest)) == latestBytes, "latest.tar.gz changed", sourceLocation: sourceLocation)
        #expect(!output.contains("test-key-1"), "the API key leaked", sourceLocation: sourceLocation)
    }

    @Test func everyBadInputGetsItsOwnMessageAndLeavesLatestAlone() throws {
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        #expect(storeFiles().count == 2)

        // 401: no key, then a wrong one.
        try expectRefused("answered 401 to GET /v1/meta (unauthorized: anonymous access not enabled",
                          "no API key was sent: set api_key in the config or WEAVIATE_API_KEY", environment: [:])
        try expectRefused("(unauthorized: unauthorized: invalid api key); the API key was refused", environment: ["WEAVIATE_API_KEY": "wrong"])

        // Nothing listening at the URL.
        try writeConfig("url: http://127.0.0.1:\(try freePort())")
        try expectRefused("cannot reach Weaviate at http://127.0.0.1:", "Check 'url' (WEAVIATE_URL) and that Weaviate is running")
        try writeConfig()

        // /ready answers 503.
        try weaviate.update(["ready_status": 503])
        try expectRefused("is not ready: GET /v1/.well-known/ready answered 503")
        try weaviate.update(["ready_status": 200])

        // An unhealthy node is named.
        try weaviate.update(["nodes": [["name": "node1", "status": "HEALTHY"], ["name": "node2", "status": "UNHEALTHY"]]])
        try expectRefused("a backup needs every node HEALTHY, but node2 is UNHEALTHY (of 2 nodes)")
        try weaviate.update(["nodes": [["name": "node1", "status": "HEALTHY"]]])

        // 422 for nothing to back up: Weaviate's own refusal (the include matches nothing).
        try writeConfig("include: [Nothing*]")
        try expectRefused("Weaviate refused the backup because it holds no collections to back up (422: no available classes to backup, there's nothing to do here)")
        try writeConfig()

        // FAILED with Weaviate's error.
        try weaviate.update(["backup_mode": "fail"])
        nextSecond()
        try expectRefused("FAILED: node node1: backup class \"Article\": write chunk: no space left on device")

        // Stuck in STARTED past the deadline: cancelled in Weaviate.
        try weaviate.update(["backup_mode": "stuck"])
        try writeConfig("deadline: 1")
        nextSecond()
        try expectRefused("was still STARTED after the 1 s deadline (setting 'deadline'); asked Weaviate to cancel it (DELETE /v1/backups/filesystem/")
        #expect(weaviate.requests.contains { $0.hasPrefix("DELETE /v1/backups/filesystem/weaviate_") })
        try writeConfig()

        // Weaviate reports SUCCESS but the folder is not where Cairn looks, or is incomplete.
        try weaviate.update(["backup_mode": "no_folder"])
        nextSecond()
        try expectRefused("does not exist (Weaviate wrote to \(backups.path)/weaviate_")
        try weaviate.update(["backup_mode": "incomplete"])
        nextSecond()
        try expectRefused("is incomplete (Weaviate wrote to \(backups.path)/weaviate_", "node1/backup.json is missing. Nothing was stored")
        try weaviate.update(["backup_mode": "normal"])

        // A backups_path Cairn cannot see.
        try writeConfig("backups_path: \(temp.path("elsewhere").path)")
        try expectRefused("Weaviate's backup folder \(temp.path("elsewhere").path) is not visible here (No such file or directory): set backups_path")
        try writeConfig()

        // 422 for an id Weaviate already has: the next two minutes' ids are taken (a loaded machine
        // can take several seconds to start cairn).
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        for second in 0 ..< 120 {
            let taken = backups.appendingPathComponent("weaviate_" + formatter.string(from: Date().addingTimeInterval(Double(second))))
            try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: true)
            try Data("{\"status\":\"SUCCESS\"}".utf8).write(to: taken.appendingPathComponent("backup_config.json"))
        }
        try expectRefused("Weaviate already has a backup named weaviate_", "ids are unique per backend and folder")
        try expectSpecConformance(weaviate)
    }

    @Test func ctrlCCancelsTheRunningBackupInWeaviate() throws {
        try weaviate.update(["backup_mode": "stuck"])
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_CONFIG"] = configFile.path
        environment["WEAVIATE_API_KEY"] = "test-key-1"
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = ["backup", "weaviate"]
        process.environment = environment
        process.currentDirectoryURL = temp.url
        let output = temp.path("interrupted.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Interrupt once Weaviate has been asked for the backup's status (the only request with an id
        // in its path at this point). A plain text search: decoding the whole log each time is too slow.
        for _ in 0 ..< 800 where !weaviate.rawLog.contains("\"/v1/backups/filesystem/weaviate_") {
            Thread.sleep(forTimeInterval: 0.025)
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        try handle.close()
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(text.contains("cancelled while backup weaviate_"), "\(text)")
        #expect(text.contains("was STARTED; asked Weaviate to cancel it (DELETE /v1/backups/filesystem/weaviate_"), "\(text)")
        #expect(weaviate.requests.contains { $0.hasPrefix("DELETE /v1/backups/filesystem/weaviate_") })
        #expect(storeFiles().isEmpty)
        try expectSpecConformance(weaviate)
    }

    @Test func aConflictWeaviateReportsOnlyAtTheEndIsNamed() throws {
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        // The schema read misses the collections, so only Weaviate's restore status tells.
        try weaviate.update(["stale_schema": true])
        let restore = try cairn(["restore", "weaviate", "--backup", "latest"])
        let output = restore.text + restore.stderr
        #expect(restore.status == 1, "\(output)")
        #expect(output.contains("FAILED: restore class \"Article\": class name Article already exists"), "\(output)")
        try expectSpecConformance(weaviate)
    }

    @Test func olderCopiesCairnMadeAreRemovedFromWeaviatesFolder() throws {
        let manual = backups.appendingPathComponent("nightly-manual")
        try FileManager.default.createDirectory(at: manual, withIntermediateDirectories: true)
        try Data("{\"status\":\"SUCCESS\"}".utf8).write(to: manual.appendingPathComponent("backup_config.json"))
        func cairnCopies() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: backups.path).filter { $0.hasPrefix("weaviate_") }.sorted()
        }
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        let first = try cairnCopies()
        nextSecond()
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        let second = try cairnCopies()
        #expect(second.count == 1 && second != first, "\(first) then \(second)")
        #expect(FileManager.default.fileExists(atPath: manual.path), "a backup Cairn did not make was removed")

        try writeConfig("local_copies: 0")
        nextSecond()
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        #expect(try cairnCopies().count == 2)
        #expect(storeFiles().count == 4)  // three archives and latest.tar.gz: the store keeps them all
        try expectSpecConformance(weaviate)
    }

    @Test func theCheckFailsOnAnEmptyDatabaseAndAMissingModule() throws {
        let fresh = try FakeWeaviate(in: temp.path("empty"), config: ["backups_path": backups.path, "classes": [String: Int]()])
        try writeFilesystemConfig(configFile, store: store, """
            components:
              weaviate:
                url: \(fresh.url)
            """)
        let check = try cairn(["check", "weaviate"], environment: [:])
        #expect(check.status == 1, "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("Weaviate holds no collections: there is nothing to back up, and Weaviate refuses to back up an empty database (422)"), "\(check.stderr)")
        let backup = try cairn(["backup", "weaviate"], environment: [:])
        #expect(backup.status == 1)
        #expect(storeFiles().isEmpty)

        try fresh.update(["classes": ["Article": 1], "no_module": true])
        let noModule = try cairn(["check", "weaviate"], environment: [:])
        #expect(noModule.status == 1)
        #expect(noModule.stderr.contains("Weaviate 1.39.0 has no backup-filesystem module enabled (/v1/meta lists none): start it with ENABLE_MODULES=backup-filesystem"), "\(noModule.stderr)")
        try expectSpecConformance(fresh)
    }

    @Test func aBackupWhoseDescriptorsDisagreeFailsVerification() throws {
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        let out = temp.path("extracted")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", latest.path, "-C", out.path])
        let id = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first)
        let folder = out.appendingPathComponent(id)
        // Drop Author from backup_config.json, re-archive with matching checksums.
        let config = folder.appendingPathComponent("backup_config.json")
        try runShell("jq -c '.nodes.node1.classes = [\"Article\"]' '\(config.path)' > '\(config.path).new' && mv '\(config.path).new' '\(config.path)'")
        let sha = try runTool(["sha256sum", config.path]).text.split(separator: " ")[0]
        let size = try Data(contentsOf: config).count
        let meta = folder.appendingPathComponent("backup_metadata.json")
        try runShell("jq '(.files[] | select(.path == \"backup_config.json\")) |= (.sha256 = \"\(sha)\" | .size = \(size))' '\(meta.path)' > '\(meta.path).new' && mv '\(meta.path).new' '\(meta.path)'")
        // Stored over the original archive (latest.tar.gz keeps the good copy).
        try runShell("cd '\(out.path)' && tar --format=pax -czf '\(store.appendingPathComponent("weaviate/test/\(id).tar.gz").path)' '\(id)'")

        let verify = try cairn(["verify", "weaviate", "--backup", id])
        #expect(verify.status == 1, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("node1/backup.json holds collections [Article, Author] but backup_config.json lists [Article] for that node"), "\(verify.text)")
        #expect(verify.text.contains("the descriptors hold collections [Article] but backup_metadata.json records [Article, Author]"), "\(verify.text)")

        // Restore refuses it before Weaviate is asked, and leaves no folder behind.
        try weaviate.request("DELETE", "/v1/schema/Article")
        try weaviate.request("DELETE", "/v1/schema/Author")
        try FileManager.default.removeItem(at: backups.appendingPathComponent(id))
        let restore = try cairn(["restore", "weaviate", "--backup", id])
        #expect(restore.status == 1, "\(restore.text)\(restore.stderr)")
        // The host's check runs the plugin's verify first, so its findings are the refusal.
        #expect(restore.stderr.contains("refusing to restore weaviate/test/\(id).tar.gz: component 'weaviate' (plugin weaviate) refuses its contents: "
                                        + "node1/backup.json holds collections [Article, Author] but backup_config.json lists [Article]"), "\(restore.stderr)")
        #expect(!weaviate.requests.contains { $0.hasPrefix("POST") && $0.hasSuffix("/restore") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups.path).isEmpty)
        try expectSpecConformance(weaviate)
    }

    @Test func everyResponseOfTheTestServerFollowsWeaviatesSpec() throws {
        // Drive every endpoint and failure mode the suite uses, then check each response.
        #expect(try cairn(["check", "weaviate"]).status == 0)
        #expect(try cairn(["backup", "weaviate"]).status == 0)
        _ = try cairn(["backup", "weaviate"], environment: [:])
        _ = try cairn(["restore", "weaviate"])
        try weaviate.request("DELETE", "/v1/schema/Article")
        try weaviate.request("DELETE", "/v1/schema/Author")
        #expect(try cairn(["restore", "weaviate", "--backup", "latest"]).status == 0)
        nextSecond()
        try weaviate.update(["backup_mode": "fail"])
        _ = try cairn(["backup", "weaviate"])
        try weaviate.update(["backup_mode": "stuck", "ready_status": 503])
        try writeConfig("deadline: 1")
        _ = try cairn(["check", "weaviate"])
        try weaviate.update(["ready_status": 200])
        nextSecond()
        _ = try cairn(["backup", "weaviate"])
        try weaviate.update(["nodes": [["name": "node1", "status": "HEALTHY"], ["name": "node2", "status": "UNAVAILABLE"]]])
        _ = try cairn(["check", "weaviate"])
        try writeConfig("include: [Nothing]")
        try weaviate.update(["nodes": [["name": "node1", "status": "HEALTHY"]], "backup_mode": "normal"])
        _ = try cairn(["backup", "weaviate"])

        let result = try weaviate.checkResponsesAgainstSpec()
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        for kind in ["GET /.well-known/ready 200", "GET /.well-known/ready 503", "GET /meta 401", "GET /meta 200", "GET /nodes 200",
                     "GET /schema 200", "POST /backups/{backend} 200", "POST /backups/{backend} 422", "GET /backups/{backend}/{id} 200",
                     "DELETE /backups/{backend}/{id} 204", "POST /backups/{backend}/{id}/restore 200",
                     "GET /backups/{backend}/{id}/restore 200"] {
            #expect(result.text.contains(kind), "\(kind) was not exercised: \(result.text)")
        }

        // The check has teeth: a status outside the spec's enum and an undeclared code fail it.
        let bad = temp.path("bad.jsonl")
        try Data("""
            {"method":"GET","path":"/v1/backups/filesystem/x","template":"/backups/{backend}/{id}","status":200,"body":{"id":"x","status":"DONE"}}
            {"method":"GET","path":"/v1/meta","template":"/meta","status":404,"body":{"error":[{"message":"no"}]}}
            {"method":"GET","path":"/v1/nodes","template":"/nodes","status":200,"body":{"nodes":[{"name":"n","status":"SICK"}]}}

            """.utf8).write(to: bad)
        let rejected = try FakeWeaviate.checkResponses(bad)
        #expect(rejected.status == 1)
        #expect(rejected.text.contains("status: 'DONE' is not one of"), "\(rejected.text)")
        #expect(rejected.text.contains("status 404 is not declared for GET /meta"), "\(rejected.text)")
        #expect(rejected.text.contains("nodes/0/status: 'SICK' is not one of"), "\(rejected.text)")
    }

    /// The subset in the repository is exactly what make_api_subset.py takes from the official
    /// spec, when that spec is beside the repository to compare with.
    @Test(.enabled(if: TestPaths.weaviateSpec != nil)) func theSpecSubsetIsCurrent() throws {
        let check = try runTool(["python3", TestPaths.fixtures.appendingPathComponent("weaviate/check_responses.py").path,
                                 "--check-subset", try #require(TestPaths.weaviateSpec).path, TestPaths.weaviateAPISubset.path],
                                check: false)
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
    }
}
