import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// The runbook's emergency backup, daily validation, integrity test and reports with all three
/// kinds of part Cairn meets in production: a real redis-server, the Weaviate test server (both
/// of its backends) and an S3 store on moto with signatures checked, plus a Redis component
/// whose server is down. Judged with the AWS CLI, GNU tar and jq, as the runbook does.
@Suite("Runbook operations with Redis and Weaviate on moto", .serialized)
struct OperationsWithWeaviateTests {
    let s3: MotoCairn
    let redis: RedisServer
    let weaviate: FakeWeaviate
    let backups: URL
    let downPort: Int

    init() throws {
        s3 = try MotoCairn("cairn-ops-weaviate")
        redis = try RedisServer(in: s3.temp.path("redis"))
        try redis.cli(["DEBUG", "POPULATE", "200", "key", "16"])
        backups = s3.temp.path("weaviate-backups")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
        weaviate = try FakeWeaviate(in: s3.temp.path("weaviate"), config: ["backups_path": backups.path, "classes": ["Article": 3, "Author": 2]])
        downPort = try freePort()
        try writeConfig(weaviateBackend: "filesystem")
    }

    /// Redis, Weaviate with `weaviateBackend`, and the cache whose server is down; the store is
    /// the bucket "ops", which Weaviate's s3 backend writes to as well.
    func writeConfig(weaviateBackend: String) throws {
        try s3.writeConfig(bucket: "ops", """
            components:
              redis:
                plugin: redis
                url: redis://127.0.0.1:\(redis.port)
              weaviate:
                plugin: weaviate
                url: \(weaviate.url)
                backend: \(weaviateBackend)
                backups_path: \(backups.path)
                poll_interval_ms: 20
                poll_max_interval_ms: 60
                deadline: 30
              cache:
                plugin: redis
                url: redis://127.0.0.1:\(downPort)
            """)
    }

    /// backup_metadata.json of a component's latest.tar.gz in the bucket, read as the runbook
    /// reads it (GNU tar needs --wildcards) and parsed by jq.
    func storedMetadata(_ component: String) throws -> ToolResult {
        try s3.aws("s3 cp s3://ops/\(component)/test/latest.tar.gz - | tar -xzO --wildcards '*/backup_metadata.json' | jq -c '{backup_id, component, plugin, files: (.files | length)}'")
    }

    func rows(_ result: ToolResult) throws -> [String: JSONValue] {
        guard case .array(let rows)? = try JSONValue.parse(result.text)["rows"] else { throw ToolFailure(command: "json rows", result: result) }
        return Dictionary(rows.compactMap { row in row["component"]?.stringValue.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
    }

    @Test func emergencyRunThenValidateIntegrityAndReports() throws {
        #expect(try s3.aws("s3 mb s3://ops").status == 0)

        // Emergency run: the cache's server is down, Redis and Weaviate still complete.
        let run = try s3.cairn(["backup", "--all"])
        #expect(run.status == 3, "\(run.text)\(run.stderr)")
        #expect(run.text.contains("FAIL cache") && run.text.contains("ok   redis") && run.text.contains("ok   weaviate"), "\(run.text)")
        #expect(run.text.contains("127.0.0.1:\(downPort)"), "the summary says why the cache failed: \(run.text)")
        let logs = try FileManager.default.contentsOfDirectory(atPath: s3.temp.path("logs/backup").path)
        #expect(["cache", "redis", "weaviate"].allSatisfy { name in logs.contains { $0.hasPrefix("backup_\(name)_") } }, "\(logs)")
        let listing = try s3.aws("s3 ls s3://ops/ --recursive").text
        #expect(!listing.contains("cache/"), "\(listing)")
        var ids: [String: String] = [:]
        // dump.rdb; Weaviate's backup_config.json, node1/backup.json and a chunk per collection.
        for (component, files) in [("redis", 1.0), ("weaviate", 4.0)] {
            let read = try storedMetadata(component)
            #expect(read.status == 0, "\(component): \(read.stderr)")
            let meta = try JSONValue.parse(read.text)
            #expect(meta["component"]?.stringValue == component && meta["plugin"]?.stringValue == component, "\(read.text)")
            #expect(meta["files"] == .number(files), "\(read.text)")
            let id = try #require(meta["backup_id"]?.stringValue, "\(read.text)")
            #expect(id.hasPrefix("\(component)_"))
            #expect(listing.contains("\(component)/test/\(id).tar.gz"), "\(listing)")
            ids[component] = id
        }
        // Weaviate's own files are in its archive, next to the metadata.
        let weaviateFiles = try s3.aws("s3 cp s3://ops/weaviate/test/latest.tar.gz - | tar -tz").text
        for path in ["backup_config.json", "node1/backup.json", "node1/Article/chunk-1", "node1/Author/chunk-1"] {
            #expect(weaviateFiles.contains("\(ids["weaviate"] ?? "?")/\(path)"), "\(path) not in \(weaviateFiles)")
        }

        // Daily validation: the two backups are fresh, the cache has none.
        let validate = try s3.cairn(["validate", "--json"])
        #expect(validate.status == 1, "\(validate.text)\(validate.stderr)")
        var health = try MotoCairn.healthResults(validate)
        for component in ["redis", "weaviate"] {
            #expect(health[component]?["status"]?.stringValue == "ok", "\(health[component] ?? .null)")
            #expect(health[component]?["backup_id"]?.stringValue == ids[component])
        }
        #expect(health["cache"]?["problem"]?.stringValue == "missing", "\(health["cache"] ?? .null)")
        #expect(health["cache"]?["evidence"]?.stringValue?.contains("cache/test/") == true, "\(health["cache"] ?? .null)")

        // Integrity with the restore drill: Redis is loaded into a throwaway server; Weaviate's
        // descriptors are validated, and it is said plainly that it has no drill.
        let integrity = try s3.cairn(["integrity", "--restore-drill", "--json"])
        #expect(integrity.status == 1, "\(integrity.text)\(integrity.stderr)")
        health = try MotoCairn.healthResults(integrity)
        #expect(health["redis"]?["status"]?.stringValue == "ok", "\(health["redis"] ?? .null)")
        #expect(health["redis"]?["evidence"]?.stringValue?.contains("restore drill: key counts match the metadata (db0 200 keys)") == true,
                "\(health["redis"] ?? .null)")
        let weaviateHealth = health["weaviate"] ?? .null
        #expect(weaviateHealth["status"]?.stringValue == "ok", "\(weaviateHealth)")
        let passed = weaviateHealth["checks"]?.arrayValue?.filter { $0["status"]?.stringValue == "pass" }.compactMap { $0["name"]?.stringValue } ?? []
        #expect(passed.contains("weaviate.layout") && passed.contains("weaviate.classes"), "\(weaviateHealth)")
        #expect(weaviateHealth["evidence"]?.stringValue?.contains("no restore drill") == true, "\(weaviateHealth)")
        #expect(health["cache"]?["problem"]?.stringValue == "missing")

        // Nor does `restore --drill` pretend to have one: refused before a byte is downloaded or
        // Weaviate is asked anything.
        let asked = weaviate.requests.count
        let drill = try s3.cairn(["restore", "weaviate", "--drill"])
        #expect(drill.status == 2, "\(drill.text)\(drill.stderr)")
        #expect(drill.stderr.contains("component 'weaviate' (plugin weaviate) has no restore drill"), "\(drill.stderr)")
        #expect(!drill.stderr.contains("restoring"), "\(drill.stderr)")
        #expect(weaviate.requests.count == asked)

        // Reports list the Weaviate component with what the bucket holds.
        let latest = try rows(try s3.cairn(["latest", "--json"]))
        #expect(latest["weaviate"]?["backup_id"]?.stringValue == ids["weaviate"], "\(latest)")
        #expect(latest["weaviate"]?["verified"] == .bool(true), "\(latest["weaviate"] ?? .null)")
        #expect(latest["redis"]?["backup_id"]?.stringValue == ids["redis"])
        guard case .array(let today)? = try JSONValue.parse(try s3.cairn(["status", "--json"]).text)["components"] else { Issue.record("no status"); return }
        let outcomes = Dictionary(today.compactMap { c in c["component"]?.stringValue.map { ($0, c["outcome"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
        #expect(outcomes == ["redis": "ok", "weaviate": "ok", "cache": "failed"], "\(today)")
        let size = try rows(try s3.cairn(["size", "--json"]))
        let stored = try s3.aws("s3api head-object --bucket ops --key weaviate/test/\(ids["weaviate"] ?? "?").tar.gz --query ContentLength --output text")
        let archiveBytes = try #require(Double(stored.text.trimmingCharacters(in: .whitespacesAndNewlines)), "\(stored.text)\(stored.stderr)")
        #expect(size["weaviate"]?["archives"] == .number(1), "\(size)")
        #expect(size["weaviate"]?["latest_compressed_bytes"] == .number(archiveBytes), "\(size["weaviate"] ?? .null)")

        // Weaviate's own validation decides too: metadata that records one collection too few,
        // with every file and checksum intact, fails integrity on weaviate.classes.
        #expect(try s3.aws("s3 cp s3://ops/weaviate/test/latest.tar.gz weaviate.tar.gz").status == 0)
        let relabelled = try StoreFixtures.rearchive(s3.temp.path("weaviate.tar.gz"), as: try #require(ids["weaviate"]), date: Date(),
                                                     into: s3.temp.path("relabelled"), jqFilter: ".source.backup_classes = [\"Article\"]",
                                                     scratch: s3.temp.url)
        #expect(try s3.aws("s3 cp '\(relabelled.path)' s3://ops/weaviate/test/latest.tar.gz").status == 0)
        let mislabelled = try s3.cairn(["integrity", "weaviate", "--json"])
        #expect(mislabelled.status == 1, "\(mislabelled.text)\(mislabelled.stderr)")
        let classes = try MotoCairn.healthResults(mislabelled)["weaviate"] ?? .null
        #expect(classes["problem"]?.stringValue == "corrupt", "\(classes)")
        #expect(classes["evidence"]?.stringValue?.contains("the descriptors hold collections [Article, Author] but backup_metadata.json records [Article]") == true,
                "\(classes)")
        #expect(classes["checks"]?.arrayValue?.contains { $0["name"]?.stringValue == "checksums" && $0["status"]?.stringValue == "pass" } == true, "\(classes)")

        // A byte flipped inside the stored Weaviate archive, through the AWS CLI.
        try StoreFixtures.flipByte(in: s3.temp.path("weaviate.tar.gz"))
        #expect(try s3.aws("s3 cp weaviate.tar.gz s3://ops/weaviate/test/latest.tar.gz").status == 0)
        let damaged = try s3.cairn(["integrity", "--json"])
        #expect(damaged.status == 1, "\(damaged.text)\(damaged.stderr)")
        health = try MotoCairn.healthResults(damaged)
        #expect(health["weaviate"]?["problem"]?.stringValue == "corrupt", "\(health["weaviate"] ?? .null)")
        #expect(health["weaviate"]?["evidence"]?.stringValue?.contains("weaviate/test/latest.tar.gz") == true, "\(health["weaviate"] ?? .null)")
        #expect(health["redis"]?["status"]?.stringValue == "ok", "\(health["redis"] ?? .null)")
        let table = try s3.cairn(["integrity"])
        #expect(table.status == 1)
        #expect(table.text.contains("weaviate") && table.text.contains("corrupt"), "\(table.text)")

        #expect(try weaviate.checkResponsesAgainstSpec().status == 0)
    }

    /// With Weaviate's s3 backend, Weaviate writes the backup into the store's bucket itself and
    /// Cairn archives only its descriptors: the emergency run, integrity and the reports handle
    /// that, and integrity notices a chunk gone from Weaviate's objects.
    @Test func weaviatesS3BackendInTheEmergencyRunAndIntegrity() throws {
        try weaviate.update(["backend": "s3", "s3": ["endpoint": s3.moto.endpoint, "bucket": "ops", "path": "weaviate-backups",
                                                     "access_key": s3.moto.accessKey, "secret_key": s3.moto.secretKey]])
        try writeConfig(weaviateBackend: "s3")
        #expect(try s3.aws("s3 mb s3://ops").status == 0)

        let run = try s3.cairn(["backup", "--all"])
        #expect(run.status == 3, "\(run.text)\(run.stderr)")
        #expect(run.text.contains("FAIL cache") && run.text.contains("ok   redis") && run.text.contains("ok   weaviate"), "\(run.text)")
        let id = try #require(try JSONValue.parse(try storedMetadata("weaviate").text)["backup_id"]?.stringValue)
        let objects = try s3.aws("s3 ls s3://ops/weaviate-backups/\(id)/ --recursive").text
        #expect(objects.contains("weaviate-backups/\(id)/node1/Author/chunk-1"), "\(objects)")

        let validate = try MotoCairn.healthResults(try s3.cairn(["validate", "--json"]))
        #expect(validate["weaviate"]?["status"]?.stringValue == "ok", "\(validate["weaviate"] ?? .null)")
        let integrity = try MotoCairn.healthResults(try s3.cairn(["integrity", "--json"]))
        let passed = integrity["weaviate"]?["checks"]?.arrayValue?.filter { $0["status"]?.stringValue == "pass" }.compactMap { $0["name"]?.stringValue } ?? []
        #expect(integrity["weaviate"]?["status"]?.stringValue == "ok" && passed.contains("s3.objects"), "\(integrity["weaviate"] ?? .null)")
        #expect(integrity["redis"]?["status"]?.stringValue == "ok")

        // Weaviate's own objects are not Cairn archives: not foreign objects of the weaviate
        // component, and latest/size still list the component by its archive.
        #expect(validate["weaviate"]?["foreign_objects"] == .array([]), "\(validate["weaviate"] ?? .null)")
        #expect(try rows(try s3.cairn(["latest", "--json"]))["weaviate"]?["backup_id"]?.stringValue == id)
        #expect(try rows(try s3.cairn(["size", "--json"]))["weaviate"]?["archives"] == .number(1))

        // A chunk lost from the bucket: every archived byte is intact, Weaviate's validation is not.
        #expect(try s3.aws("s3 rm s3://ops/weaviate-backups/\(id)/node1/Author/chunk-1").status == 0)
        let damaged = try s3.cairn(["integrity", "--json"])
        #expect(damaged.status == 1)
        let weaviateHealth = try MotoCairn.healthResults(damaged)["weaviate"] ?? .null
        #expect(weaviateHealth["problem"]?.stringValue == "corrupt", "\(weaviateHealth)")
        #expect(weaviateHealth["evidence"]?.stringValue?.contains("no longer matches backup \(id): missing: node1/Author/chunk-1") == true, "\(weaviateHealth)")

        #expect(try weaviate.checkResponsesAgainstSpec().status == 0)
    }
}
