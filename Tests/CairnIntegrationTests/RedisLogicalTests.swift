import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// `method: logical` against a server that refuses SYNC and PSYNC as a managed service does
/// (here: both renamed away), judged by redis-check-rdb and the source's DEBUG DIGEST.
@Suite("Redis logical backups (SCAN + DUMP + PTTL)", .serialized)
struct RedisLogicalTests: RedisCLISuite {
    let temp: TemporaryDirectory
    let store: URL
    let configFile: URL
    let server: RedisServer

    init() throws {
        temp = try TemporaryDirectory("cairn-redis-logical")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        server = try RedisServer(in: temp.path("server"), extra: ["--rename-command", "SYNC", "", "--rename-command", "PSYNC", ""])
        try server.populate()
        // A big value (several of the writer's chunks), a key with spaces and UTF-8, a function.
        try server.cli(["SETRANGE", "big:string", "1500000", "end"])
        try server.cli(["SET", "key with spaces ünïcode", "v"])
        try server.cli(["FUNCTION", "LOAD", "#!lua name=cairnlib\nredis.register_function('cairn_one', function() return 1 end)"])
    }

    var totalKeys: Int {
        (0 ..< 16).reduce(0) { sum, db in sum + (Int((try? server.cli(["DBSIZE"], db: db)) ?? "0") ?? 0) }
    }

    @Test func aServerThatRefusesSyncGivesALoadableRDBWithTheSourceDigest() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        let refused = try cairn(["backup", "redis"])
        #expect(refused.status != 0, "\(refused.text)\(refused.stderr)")
        #expect((refused.text + refused.stderr).contains("set method: logical"), "\(refused.text)\(refused.stderr)")

        try writeConfig("url: redis://127.0.0.1:\(server.port)\nmethod: logical")
        let check = try cairn(["check", "redis"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("check redis/rdb.logical: pass"), "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("not point-in-time"), "\(check.stderr)")

        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("x")
        let judge = try runTool(["redis-check-rdb", folder.appendingPathComponent("dump.rdb").path], check: false)
        #expect(judge.status == 0, "\(judge.text)")
        #expect(judge.text.contains("RDB looks OK"), "\(judge.text)")
        #expect(judge.text.contains("\(totalKeys) keys read"), "\(judge.text)")
        let metadata = try JSONValue.parse(String(decoding: try Data(contentsOf: folder.appendingPathComponent("backup_metadata.json")), as: UTF8.self))
        #expect(metadata["source"]?["rdb_method"] == .string("logical"))
        #expect(metadata["source"]?["point_in_time"] == .bool(false))
        #expect(metadata["source"]?["rdb_version"]?.numberValue == 10)
        #expect(metadata["source"]?["logical_keys"]?.numberValue == Double(totalKeys))

        let verify = try cairn(["verify", "redis", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("redis/rdb.crc64"), "\(verify.text)")

        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.status == 0, "\(drill.text)\(drill.stderr)")
        #expect(drill.text.contains("DEBUG DIGEST \(server.digest)"), "\(drill.text)")

        // TTLs survive as absolute times, and the function library rides along.
        let target = temp.path("restored")
        let restore = try cairn(["restore", "redis", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        let fresh = try RedisServer(in: target, extra: ["--appendonly", "no"])
        #expect(fresh.digest == server.digest)
        let ttl = Int(try fresh.cli(["TTL", "ttl:key"])) ?? -1
        #expect(ttl > 3500 && ttl <= 3600, "TTL \(ttl)")
        #expect(try fresh.cli(["TTL", "counter"]) == "-1")
        #expect(try fresh.cli(["FCALL", "cairn_one", "0"]) == "1")
    }

    @Test func aUserWithOnlyTheLogicalRightsSucceedsAndOneWithoutDumpIsToldWhatToGrant() throws {
        try server.cli(["ACL", "SETUSER", "logical", "on", ">s3cret-pw", "resetkeys", "~*", "-@all", "+ping", "+scan", "+dump", "+pttl", "+info", "+select"])
        try writeConfig("url: redis://logical@127.0.0.1:\(server.port)\nmethod: logical")
        let backup = try cairn(["backup", "redis"], environment: ["REDIS_PASSWORD": "s3cret-pw"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        #expect(!(backup.text + backup.stderr).contains("s3cret-pw"))
        let folder = try extractLatest("acl")
        #expect(try runTool(["redis-check-rdb", folder.appendingPathComponent("dump.rdb").path], check: false).status == 0)
        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.text.contains("DEBUG DIGEST \(server.digest)"), "\(drill.text)\(drill.stderr)")

        try server.cli(["ACL", "SETUSER", "logical", "-dump"])
        let check = try cairn(["check", "redis"], environment: ["REDIS_PASSWORD": "s3cret-pw"])
        #expect(check.status == 1, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("redis/rdb.logical: DUMP refused"), "\(check.text)\(check.stderr)")
        let denied = try cairn(["backup", "redis"], environment: ["REDIS_PASSWORD": "s3cret-pw"])
        #expect(denied.status != 0)
        let text = denied.text + denied.stderr
        #expect(text.contains("NOPERM"), "\(text)")
        #expect(text.contains("+scan +dump +pttl +info"), "\(text)")
        #expect(!text.contains("s3cret-pw"))
    }

    @Test func aDumpPayloadWhoseRDBVersionIsNotTheServersIsRefused() throws {
        let fake = try FakeRedis(in: temp.path("fake"), mode: .newerdump)
        try writeConfig("url: redis://127.0.0.1:\(fake.port)\nmethod: logical")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status != 0)
        let text = backup.text + backup.stderr
        #expect(text.contains("carries RDB version 11"), "\(text)")
        #expect(text.contains("RDB is version 10"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: latest.path))
    }

    @Test func logicalAndDiskModeExcludeEachOther() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)\nmethod: logical\nmode: disk")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 2, "\(backup.text)\(backup.stderr)")
        #expect((backup.text + backup.stderr).contains("exclude each other"), "\(backup.text)\(backup.stderr)")
    }
}
