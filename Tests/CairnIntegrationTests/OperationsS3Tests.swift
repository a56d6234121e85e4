import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// Emergency backup, validation, integrity and prune against moto (signatures checked) with a
/// real redis-server, one component whose server is down, and objects put there by the AWS CLI.
@Suite("Runbook operations against moto", .serialized)
struct OperationsS3Tests {
    let s3: MotoCairn
    let redis: RedisServer
    let downPort: Int

    init() throws {
        s3 = try MotoCairn("cairn-ops-s3")
        redis = try RedisServer(in: s3.temp.path("redis"))
        try redis.cli(["DEBUG", "POPULATE", "300", "key", "16"])
        downPort = try freePort()
        let source = s3.temp.path("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data(String(repeating: "setting = value\n", count: 2000).utf8).write(to: source.appendingPathComponent("app.conf"))
        try s3.writeConfig(bucket: "ops", """
            retention:
              keep_last: 1
            components:
              configs:
                plugin: directory
                path: \(source.path)
              redis:
                plugin: redis
                url: redis://127.0.0.1:\(redis.port)
              cache:
                plugin: redis
                url: redis://127.0.0.1:\(downPort)
            """)
    }

    @Test func emergencyValidateIntegrityAndPruneOnS3() throws {
        #expect(try s3.aws("s3 mb s3://ops").status == 0)
        let run = try s3.cairn(["backup", "--all"])
        #expect(run.status == 3, "\(run.text)\(run.stderr)")
        #expect(run.text.contains("FAIL cache") && run.text.contains("ok   configs") && run.text.contains("ok   redis"), "\(run.text)")
        let listing = try s3.aws("s3 ls s3://ops/ --recursive").text
        for key in ["configs/test/latest.tar.gz", "redis/test/latest.tar.gz"] { #expect(listing.contains(key), "\(listing)") }
        #expect(!listing.contains("cache/"))

        // A foreign object and a truncated archive put there by hand.
        try Data("hand-made".utf8).write(to: s3.temp.path("notes.txt"))
        #expect(try s3.aws("s3 cp notes.txt s3://ops/configs/test/notes.txt").status == 0)
        #expect(try s3.aws("s3 cp s3://ops/configs/test/latest.tar.gz full.tar.gz").status == 0)
        try Data(try Data(contentsOf: s3.temp.path("full.tar.gz")).prefix(64)).write(to: s3.temp.path("cut.tar.gz"))
        #expect(try s3.aws("s3 cp cut.tar.gz s3://ops/configs/test/configs_20240101_000000.tar.gz").status == 0)

        let validate = try s3.cairn(["validate", "--json"])
        #expect(validate.status == 1, "\(validate.text)\(validate.stderr)")
        var byName = try MotoCairn.healthResults(validate)
        #expect(byName["configs"]?["status"]?.stringValue == "warning")
        #expect(byName["configs"]?["foreign_objects"] == .array([.string("configs/test/notes.txt")]))
        #expect(byName["redis"]?["status"]?.stringValue == "ok")
        #expect(byName["cache"]?["problem"]?.stringValue == "missing")

        // A byte flipped inside the stored Redis archive, round-tripped through the AWS CLI.
        #expect(try s3.aws("s3 cp s3://ops/redis/test/latest.tar.gz redis.tar.gz").status == 0)
        try StoreFixtures.flipByte(in: s3.temp.path("redis.tar.gz"))
        #expect(try s3.aws("s3 cp redis.tar.gz s3://ops/redis/test/latest.tar.gz").status == 0)
        let integrity = try s3.cairn(["integrity", "--json"])
        #expect(integrity.status == 1)
        byName = try MotoCairn.healthResults(integrity)
        #expect(byName["configs"]?["status"]?.stringValue == "ok", "\(byName["configs"] ?? .null)")
        #expect(byName["redis"]?["problem"]?.stringValue == "corrupt", "\(byName["redis"] ?? .null)")
        #expect(byName["cache"]?["problem"]?.stringValue == "missing")

        // keep_last 1 keeps the one real backup; the truncated and foreign objects stay, by name.
        _ = try s3.aws("s3api create-multipart-upload --bucket ops --key configs/test/in-progress.tar.gz")
        let prune = try s3.cairn(["prune", "configs", "--json"])
        #expect(prune.status == 0, "\(prune.text)\(prune.stderr)")
        guard case .array(let comps)? = try JSONValue.parse(prune.text)["components"], let configs = comps.first else {
            Issue.record("\(prune.text)"); return
        }
        #expect(configs["deleted"] == .array([]))
        guard case .array(let untouched)? = configs["untouched"] else { Issue.record("\(prune.text)"); return }
        #expect(untouched.compactMap { $0["key"]?.stringValue }.sorted() == ["configs/test/configs_20240101_000000.tar.gz", "configs/test/notes.txt"])
        // The S3 plugin's abort_stale_uploads action ran; an upload started just now is not stale.
        #expect(configs["cleaned_up"] == .number(0), "\(configs)")
        let uploads = try s3.aws("s3api list-multipart-uploads --bucket ops --prefix configs/").text
        #expect(uploads.contains("configs/test/in-progress.tar.gz"), "\(uploads)")
        let after = try s3.aws("s3 ls s3://ops/configs/test/").text
        #expect(after.contains("notes.txt") && after.contains("configs_20240101_000000.tar.gz") && after.contains("latest.tar.gz"), "\(after)")
    }
}
