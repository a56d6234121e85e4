import Foundation
import Testing
import CairnCore
import CairnInterfaces
import CairnState
import CairnTestSupport

/// The runbook's remaining procedures end to end through the `cairn` binary, against a real
/// redis-server and a filesystem store: emergency backup, daily validation, weekly integrity
/// test, reports and retention. Stored data is judged with GNU tar and jq.
@Suite("Runbook operations end to end", .serialized)
struct OperationsTests {
    let temp: TemporaryDirectory
    let store: URL
    let source: URL
    let configFile: URL
    let redis: RedisServer
    /// A port nothing listens on: the "server is down" component.
    let downPort: Int

    init() throws {
        temp = try TemporaryDirectory("cairn-ops")
        store = temp.path("store")
        source = temp.path("source")
        configFile = temp.path("cairn.yaml")
        redis = try RedisServer(in: temp.path("redis"))
        try redis.cli(["DEBUG", "POPULATE", "500", "key", "32"])
        try redis.cli(["SET", "in-db2", "x"], db: 2)
        downPort = try freePort()
        try FileManager.default.createDirectory(at: source.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try Data(String(repeating: "gremlins config line\n", count: 4000).utf8).write(to: source.appendingPathComponent("etc/app.conf"))
        try Data("hello\n".utf8).write(to: source.appendingPathComponent("etc/hello.txt"))
        try writeConfig()
    }

    /// `components` is added under components: (two-space indented entries), `top` at the top level.
    func writeConfig(components extra: String = "", top: String = "") throws {
        try writeFilesystemConfig(configFile, store: store, """
            logs:
              dir: \(temp.path("logs").path)
            components:
              configs:
                plugin: directory
                path: \(source.path)
              redis:
                plugin: redis
                url: redis://127.0.0.1:\(redis.port)
            \(extra)
            \(top)
            """)
    }

    func cairn(_ arguments: [String]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url,
                     unset: ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "ENVIRONMENT", "S3_BUCKET"])
    }

    func json(_ result: ToolResult) throws -> JSONValue { try JSONValue.parse(result.text) }

    /// Results of validate/integrity --json by component.
    func results(_ result: ToolResult) throws -> [String: JSONValue] {
        guard case .array(let rows)? = try json(result)["results"] else { throw ToolFailure(command: "json", result: result) }
        return Dictionary(rows.compactMap { row in row["component"]?.stringValue.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
    }

    func folder(_ component: String) -> URL { store.appendingPathComponent("\(component)/test") }

    @Test func emergencyBackupWithOneServerDownIsPartialAndKeepsTheGoodBackups() throws {
        try writeConfig(components: """
              cache:
                plugin: redis
                url: redis://127.0.0.1:\(downPort)
            """)
        let run = try cairn(["backup", "--all", "--json"])
        #expect(run.status == 3, "\(run.text)\(run.stderr)")
        let summary = try JSONValue.parse(String(run.text.split(separator: "\n").last ?? ""))
        #expect(summary["outcome"]?.stringValue == "partial")
        guard case .array(let components)? = summary["components"] else { Issue.record("no components: \(run.text)"); return }
        let byName = Dictionary(components.compactMap { c in c["component"]?.stringValue.map { ($0, c) } }, uniquingKeysWith: { a, _ in a })
        #expect(byName["configs"]?["outcome"]?.stringValue == "success")
        #expect(byName["redis"]?["outcome"]?.stringValue == "success")
        #expect(byName["cache"]?["outcome"]?.stringValue == "failure")
        #expect(byName["cache"]?["error"]?.stringValue?.contains("127.0.0.1:\(downPort)") == true, "\(byName["cache"] ?? .null)")

        // Both good backups are published and readable by GNU tar; the failed one left nothing.
        for name in ["configs", "redis"] {
            let id = try runShell("tar --wildcards -xzOf '\(folder(name).appendingPathComponent("latest.tar.gz").path)' '*/backup_metadata.json' | jq -r .backup_id")
            #expect(id.text.hasPrefix("\(name)_"), "\(name): \(id.stderr)")
            #expect(byName[name]?["backup_id"]?.stringValue == id.text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(!FileManager.default.fileExists(atPath: folder("cache").path))

        // One log per component, as the runbook's emergency procedure kept them.
        let logs = temp.path("logs/backup")
        let names = try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted()
        #expect(names.count == 3 && names.allSatisfy { $0.hasPrefix("backup_") }, "\(names)")
        let cacheLog = try String(contentsOf: logs.appendingPathComponent(try unwrap(names.first { $0.hasPrefix("backup_cache_") })), encoding: .utf8)
        #expect(cacheLog.contains("cannot connect"))
        let configsLog = try String(contentsOf: logs.appendingPathComponent(try unwrap(names.first { $0.hasPrefix("backup_configs_") })), encoding: .utf8)
        #expect(configsLog.contains("configs") && !configsLog.contains("cannot connect"))

        // The record file: verification details of the good ones, the failure of the bad one.
        let record = try String(contentsOf: temp.path("logs/manual_backups.log"), encoding: .utf8)
        #expect(record.contains("redis backup success") && record.contains("verification=\"archive/checksums pass"), "\(record)")
        #expect(record.contains("cache backup failed"), "\(record)")
        // History: what the post-backup verification checked.
        let state = try StateStore(path: store.appendingPathComponent(".cairn/state.sqlite").path)
        let redisRecord = try state.backups(component: "redis", environment: "test").first
        #expect(redisRecord?.verified == true)
        #expect(redisRecord?.verification?.contains("archive/checksums pass") == true, "\(redisRecord?.verification ?? "nil")")
        #expect(redisRecord?.verification?.contains("redis") == true, "\(redisRecord?.verification ?? "nil")")

        // Today's status shows all three, the failed one as failed.
        let status = try cairn(["status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        guard case .array(let rows)? = try json(status)["components"] else { Issue.record("\(status.text)"); return }
        let outcomes = Dictionary(rows.compactMap { r in r["component"]?.stringValue.map { ($0, r["outcome"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
        #expect(outcomes == ["configs": "ok", "redis": "ok", "cache": "failed"], "\(status.text)")
    }

    @Test func ownPipelinesRunTheBackupPipelinePerComponent() throws {
        try writeConfig(top: """
            pipelines:
              both:
                steps:
                  - parallel:
                      - pipeline: backup
                        component: configs
                      - pipeline: backup
                        component: redis
            """)
        let run = try cairn(["run", "both", "--json"])
        #expect(run.status == 0, "\(run.text)\(run.stderr)")
        let summary = try JSONValue.parse(String(run.text.split(separator: "\n").last ?? ""))
        guard case .array(let backups)? = summary["backups"] else { Issue.record("\(run.text)"); return }
        #expect(Set(backups.compactMap { $0["component"]?.stringValue }) == ["configs", "redis"])
        #expect(backups.allSatisfy { $0["published"] == .bool(true) })
        // A pipeline that cannot run is refused at load, by every command (the whole file is checked).
        try writeConfig(top: """
            pipelines:
              unnamed:
                steps:
                  - pipeline: backup
            """)
        let missing = try cairn(["run", "both"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("pipeline 'backup' needs a component (write 'component: NAME' next to 'pipeline: backup')"), "\(missing.stderr)")
    }

    @Test func aBackupDamagedInTheStoreFailsPostBackupValidationAndSaysWhy() throws {
        // A hook between backup and verify damages the new archive in the store.
        let hook = temp.path("damage.sh")
        try """
            #!/bin/sh
            f=$(ls -t '\(folder("configs").path)'/configs_*.tar.gz | head -1)
            python3 -c 'import sys; p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0x5A; open(p, "wb").write(d)' "$f"
            """.write(to: hook, atomically: true, encoding: .utf8)
        try runTool(["chmod", "+x", hook.path])
        try writeConfig(top: """
            pipelines:
              damaged:
                steps:
                  - backup: configs
                  - hook: \(hook.path)
                  - verify: configs
                  - publish: configs
            """)
        #expect(try cairn(["backup", "configs"]).status == 0)
        let latest = folder("configs").appendingPathComponent("latest.tar.gz")
        let before = try Data(contentsOf: latest)
        let run = try cairn(["run", "damaged"])
        #expect(run.status == 1, "\(run.text)\(run.stderr)")
        #expect(try Data(contentsOf: latest) == before)
        let archives = try FileManager.default.contentsOfDirectory(atPath: folder("configs").path).filter { $0 != "latest.tar.gz" }
        #expect(archives.count == 1, "the damaged archive must be removed: \(archives)")

        let state = try StateStore(path: store.appendingPathComponent(".cairn/state.sqlite").path)
        let records = try state.backups(component: "configs", environment: "test")
        #expect(records.count == 2)
        let damaged = try unwrap(records.first { !$0.verified }, "the damaged backup's record")
        #expect(damaged.outcome == .failure)
        #expect(damaged.verification?.hasPrefix("failed: archive/structure") == true, "\(damaged.verification ?? "nil")")
        let record = try String(contentsOf: temp.path("logs/manual_backups.log"), encoding: .utf8)
        #expect(record.contains("configs backup verification failed (archive removed): backup_id=\(damaged.backupID)"), "\(record)")
        #expect(record.contains("verification=\"failed: archive/structure"), "\(record)")
    }

    @Test func dailyValidationFlagsStaleMissingAndUnreadableBackups() throws {
        try writeConfig(components: """
              old:
                plugin: directory
                path: \(source.path)
              never:
                plugin: directory
                path: \(source.path)
              broken:
                plugin: directory
                path: \(source.path)
            """)
        #expect(try cairn(["backup", "configs"]).status == 0)
        let latest = folder("configs").appendingPathComponent("latest.tar.gz")
        // A component whose newest backup is two days old (a real archive under an old id).
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86400)
        try StoreFixtures.rearchive(latest, as: BackupID.make(component: "old", date: twoDaysAgo), date: twoDaysAgo,
                                    into: folder("old"), scratch: temp.url)
        // A component whose newest backup carries metadata that is not JSON.
        let brokenID = BackupID.make(component: "broken", date: Date())
        let work = temp.path("broken-work/\(brokenID)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data("not json {".utf8).write(to: work.appendingPathComponent("backup_metadata.json"))
        try FileManager.default.createDirectory(at: folder("broken"), withIntermediateDirectories: true)
        try runShell("cd '\(temp.path("broken-work").path)' && tar -czf '\(folder("broken").appendingPathComponent("\(brokenID).tar.gz").path)' \(brokenID)/backup_metadata.json")
        // A foreign object next to good backups: reported, not a failure.
        try Data("notes".utf8).write(to: folder("configs").appendingPathComponent("README.txt"))

        let result = try cairn(["validate", "--json"])
        #expect(result.status == 1, "\(result.text)\(result.stderr)")
        let byName = try results(result)
        #expect(byName["configs"]?["status"]?.stringValue == "warning")
        #expect(byName["configs"]?["foreign_objects"] == .array([.string("configs/test/README.txt")]))
        #expect(byName["redis"]?["problem"]?.stringValue == "missing")
        #expect(byName["never"]?["problem"]?.stringValue == "missing")
        #expect(byName["old"]?["problem"]?.stringValue == "stale")
        #expect(byName["old"]?["evidence"]?.stringValue?.contains("older than the allowed 1d2h") == true, "\(byName["old"] ?? .null)")
        #expect((byName["old"]?["age_seconds"]?.numberValue ?? 0) > 47 * 3600)
        #expect(byName["broken"]?["problem"]?.stringValue == "unreadable_metadata")
        #expect(byName["broken"]?["evidence"]?.stringValue?.contains("\(brokenID)/backup_metadata.json is not JSON") == true, "\(byName["broken"] ?? .null)")

        // A per-component max_age of three days makes the old one acceptable; the table names the rest.
        try writeConfig(components: """
              old:
                plugin: directory
                path: \(source.path)
                max_age: 3d
            """)
        let table = try cairn(["validate", "old", "configs"])
        #expect(table.status == 0, "\(table.text)\(table.stderr)")
        #expect(table.text.contains("old") && table.text.contains("ok"))
        let single = try cairn(["validate", "redis"])
        #expect(single.status == 1 && single.text.contains("no backup under redis/test/"), "\(single.text)")
    }

    @Test func integrityFindsAFlippedByteAndDisagreeingChecksumsAndDrillsRedis() throws {
        #expect(try cairn(["backup", "configs"]).status == 0)
        #expect(try cairn(["backup", "redis"]).status == 0)
        let clean = try cairn(["integrity", "--restore-drill", "--json"])
        #expect(clean.status == 0, "\(clean.text)\(clean.stderr)")
        var byName = try results(clean)
        #expect(byName["configs"]?["status"]?.stringValue == "ok")
        let redisEvidence = byName["redis"]?["evidence"]?.stringValue ?? ""
        #expect(redisEvidence.contains("key counts match the metadata (db0 500 keys, db2 1 keys)"), "\(redisEvidence)")

        // A byte flipped inside the stored archive.
        let configsLatest = folder("configs").appendingPathComponent("latest.tar.gz")
        let pristine = try Data(contentsOf: configsLatest)
        try StoreFixtures.flipByte(in: configsLatest)
        let flipped = try cairn(["integrity", "configs", "--json"])
        #expect(flipped.status == 1, "\(flipped.text)")
        byName = try results(flipped)
        #expect(byName["configs"]?["problem"]?.stringValue == "corrupt", "\(byName["configs"] ?? .null)")
        #expect(byName["configs"]?["evidence"]?.stringValue?.contains("configs/test/latest.tar.gz") == true)

        // A well-formed archive whose file no longer matches the SHA-256 in its metadata.
        try pristine.write(to: configsLatest)
        let work = temp.path("tamper")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", configsLatest.path, "-C", work.path])
        let id = try unwrap(try FileManager.default.contentsOfDirectory(atPath: work.path).first)
        try Data("hellO\n".utf8).write(to: work.appendingPathComponent("\(id)/etc/hello.txt"))
        try runShell("cd '\(work.path)' && tar --format=pax -czf '\(configsLatest.path)' $(find \(id) -type f ! -name backup_metadata.json | sort) \(id)/backup_metadata.json")
        let tampered = try cairn(["integrity", "configs"])
        #expect(tampered.status == 1)
        #expect(tampered.text.contains("corrupt") && tampered.text.contains("\(id)/etc/hello.txt") && tampered.text.contains("SHA-256"), "\(tampered.text)")

        // The drill catches a backup whose metadata promises keys the dump does not hold.
        let redisLatest = folder("redis").appendingPathComponent("latest.tar.gz")
        let redisID = try runShell("tar --wildcards -xzOf '\(redisLatest.path)' '*/backup_metadata.json' | jq -r .backup_id").text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let lying = try StoreFixtures.rearchive(redisLatest, as: redisID, date: Date(), into: temp.path("lying"),
                                                jqFilter: ".source.keys.db0.keys = 501", scratch: temp.url)
        try FileManager.default.removeItem(at: redisLatest)
        try FileManager.default.copyItem(at: lying, to: redisLatest)
        let drill = try cairn(["integrity", "redis", "--restore-drill", "--json"])
        #expect(drill.status == 1)
        byName = try results(drill)
        #expect(byName["redis"]?["problem"]?.stringValue == "drill_mismatch")
        #expect(byName["redis"]?["evidence"]?.stringValue?.contains("db0: metadata 501, restored 500") == true, "\(byName["redis"] ?? .null)")
    }

    @Test func pruneKeepsExactlyWhatThePolicySaysAndNeverTheNewestVerified() throws {
        try writeConfig(top: """
            retention:
              keep_monthly: 5
            pipelines:
              store-only:
                steps:
                  - backup: configs
            """)
        // Per-component rules override the top-level ones; keep_monthly stays at 2 here.
        var text = try String(contentsOf: configFile, encoding: .utf8)
        text = text.replacingOccurrences(of: "    plugin: directory\n", with: "    plugin: directory\n    retention: { keep_last: 2, keep_monthly: 2 }\n")
        try text.write(to: configFile, atomically: true, encoding: .utf8)

        // B0: backed up, verified and published here. B1, B2: stored afterwards without verification.
        #expect(try cairn(["backup", "configs"]).status == 0)
        let latest = folder("configs").appendingPathComponent("latest.tar.gz")
        let b0 = try runShell("tar --wildcards -xzOf '\(latest.path)' '*/backup_metadata.json' | jq -r .backup_id").text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cairn(["run", "store-only"]).status == 0)
        #expect(try cairn(["run", "store-only"]).status == 0)
        let recent = try FileManager.default.contentsOfDirectory(atPath: folder("configs").path).filter { $0.hasSuffix(".tar.gz") && $0 != "latest.tar.gz" }.sorted()
        try #require(recent.count == 3, "\(recent)")
        let (b1, b2) = (String(recent[1].dropLast(7)), String(recent[2].dropLast(7)))

        // Old backups from another machine (no record here), a truncated one, and a foreign object.
        let old = ["configs_20240320_100000": "2024-03-20T10:00:00Z", "configs_20240305_100000": "2024-03-05T10:00:00Z",
                   "configs_20240210_100000": "2024-02-10T10:00:00Z", "configs_20240115_100000": "2024-01-15T10:00:00Z"]
        for (id, time) in old {
            try StoreFixtures.rearchive(latest, as: id, date: StoreFixtures.date(time), into: folder("configs"), scratch: temp.url)
        }
        let truncated = folder("configs").appendingPathComponent("configs_20240101_000000.tar.gz")
        try Data(try Data(contentsOf: latest).prefix(200)).write(to: truncated)
        let foreign = folder("configs").appendingPathComponent("operator-notes.txt")
        try Data("do not delete".utf8).write(to: foreign)

        // Dry run: keep_last 2 -> B2, B1; keep_monthly 2 -> B2 (this month), 2024-03-20; B0 is held by
        // latest.tar.gz and is the newest verified backup. Nothing is deleted.
        let dry = try cairn(["prune", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.text)\(dry.stderr)")
        let planned = try json(dry)["components"]
        guard case .array(let comps)? = planned, let configs = comps.first(where: { $0["component"]?.stringValue == "configs" }) else {
            Issue.record("\(dry.text)"); return
        }
        guard case .array(let decisions)? = configs["decisions"] else { Issue.record("\(dry.text)"); return }
        let kept = Set(decisions.filter { $0["keep"] == .bool(true) }.compactMap { $0["backup_id"]?.stringValue })
        #expect(kept == [b2, b1, b0, "configs_20240320_100000"], "\(kept)")
        let b0Reasons = decisions.first { $0["backup_id"]?.stringValue == b0 }?["reasons"]
        #expect(b0Reasons == .array([.string("held by latest.tar.gz"), .string("newest verified")]), "\(b0Reasons ?? .null)")
        #expect(configs["deleted"] == .array(["configs_20240115_100000", "configs_20240210_100000", "configs_20240305_100000"]
            .map { .string("configs/test/\($0).tar.gz") }), "\(configs["deleted"] ?? .null)")
        guard case .array(let untouched)? = configs["untouched"] else { Issue.record("\(dry.text)"); return }
        #expect(untouched.compactMap { $0["key"]?.stringValue }.sorted()
            == ["configs/test/configs_20240101_000000.tar.gz", "configs/test/operator-notes.txt"], "\(untouched)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder("configs").path).count == 10)

        // Without latest.tar.gz, the newest verified backup still stays although no rule keeps it.
        try FileManager.default.removeItem(at: latest)
        let prune = try cairn(["prune"])
        #expect(prune.status == 0, "\(prune.text)\(prune.stderr)")
        #expect(prune.text.contains("keep   \(b0) (newest verified)"), "\(prune.text)")
        #expect(prune.text.contains("LEFT ALONE configs/test/configs_20240101_000000.tar.gz: not a complete Cairn backup"), "\(prune.text)")
        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: folder("configs").path))
        #expect(remaining == Set([b0, b1, b2, "configs_20240320_100000", "configs_20240101_000000"].map { "\($0).tar.gz" } + ["operator-notes.txt"]),
                "\(remaining.sorted())")
        // redis has the top-level policy but no backups: nothing to do, no error.
        #expect(prune.text.contains("redis/test (keep_monthly 5)"), "\(prune.text)")
    }

    @Test func sizeAndLatestReportWhatTheStoreHolds() throws {
        #expect(try cairn(["backup", "configs"]).status == 0)
        #expect(try cairn(["backup", "configs", "--environment", "prod"]).status == 0)
        let size = try cairn(["size", "--json"])
        #expect(size.status == 0, "\(size.stderr)")
        guard case .array(let rows)? = try json(size)["rows"] else { Issue.record("\(size.text)"); return }
        #expect(rows.compactMap { $0["environment"]?.stringValue }.sorted() == ["prod", "test"])
        // Object sizes (latest.tar.gz may be a hard link in a filesystem store, so not du).
        let onDisk = try runShell("cat '\(folder("configs").path)'/*.tar.gz '\(store.appendingPathComponent("configs/prod").path)'/*.tar.gz | wc -c")
        #expect(try json(size)["total_compressed_bytes"]?.numberValue == Double(onDisk.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let human = try cairn(["size"])
        #expect(human.text.contains("total:") && human.text.contains("KiB"), "\(human.text)")

        let latest = try cairn(["latest", "--json"])
        guard case .array(let latestRows)? = try json(latest)["rows"] else { Issue.record("\(latest.text)"); return }
        let configs = latestRows.first { $0["component"]?.stringValue == "configs" }
        let id = try runShell("tar --wildcards -xzOf '\(folder("configs").appendingPathComponent("latest.tar.gz").path)' '*/backup_metadata.json' | jq -r .backup_id").text
        #expect(configs?["backup_id"]?.stringValue == id.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(configs?["verified"] == .bool(true))
        #expect((configs?["age_seconds"]?.numberValue ?? 1e9) < 600)
        #expect(latestRows.first { $0["component"]?.stringValue == "redis" }?["note"]?.stringValue == "no backups")
    }
}
