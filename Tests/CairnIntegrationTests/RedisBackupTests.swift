import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// A throwaway redis-server on 127.0.0.1 with its own dir, stopped (SHUTDOWN NOSAVE, then
/// SIGKILL) when the value goes away.
final class RedisServer {
    let dir: URL
    let port: Int
    let process: Process

    init(in dir: URL, extra: [String] = []) throws {
        self.dir = dir
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var lastError: Error = ToolFailure(command: "redis-server", result: ToolResult(status: 1, stdout: Data(), stderr: "did not start"))
        for _ in 0 ..< 5 {
            // Redis cannot bind port 0: take a free port from the kernel, release it, retry on a clash.
            let port = try freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--dir", dir.path,
                                 "--save", "", "--daemonize", "no", "--logfile", dir.appendingPathComponent("redis.log").path,
                                 "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"] + extra
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0 ..< 100 where process.isRunning {
                if let pong = try? runTool(["redis-cli", "-p", "\(port)", "PING"], check: false), pong.text.hasPrefix("PONG") {
                    self.port = port
                    self.process = process
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            lastError = ToolFailure(command: "redis-server on \(port)", result: ToolResult(status: 1, stdout: Data(), stderr: "did not answer PING"))
        }
        throw lastError
    }

    deinit {
        _ = try? runTool(["redis-cli", "-p", "\(port)", "SHUTDOWN", "NOSAVE"], check: false)
        for _ in 0 ..< 40 where process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    @discardableResult
    func cli(_ args: [String], db: Int = 0) throws -> String {
        try runTool(["redis-cli", "-p", "\(port)", "-n", "\(db)"] + args).text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every type, TTLs and several databases.
    func populate() throws {
        try cli(["DEBUG", "POPULATE", "2000", "key", "64"])
        try cli(["HSET", "hash:small", "a", "1", "b", "2"])
        try cli(["HSET", "hash:big"] + (0 ..< 600).flatMap { ["f\($0)", String(repeating: "v", count: $0 % 90)] })
        try cli(["RPUSH", "list"] + (0 ..< 300).map { "item-\($0)" })
        try cli(["SADD", "set:int"] + (0 ..< 100).map(String.init))
        try cli(["SADD", "set:text", "a", "b", "c"])
        try cli(["ZADD", "zset", "1", "one", "2.5", "two", "-3", "three"])
        try cli(["ZADD", "zset:big"] + (0 ..< 200).flatMap { ["\(Double($0) / 3)", "m\($0)"] })
        try cli(["XADD", "stream", "*", "field", "value"])
        try cli(["XADD", "stream", "*", "field", "value2"])
        try cli(["XGROUP", "CREATE", "stream", "group", "0"])
        try cli(["XREADGROUP", "GROUP", "group", "consumer", "COUNT", "1", "STREAMS", "stream", ">"])
        try cli(["SET", "ttl:key", String(repeating: "compressible ", count: 200), "EX", "3600"])
        try cli(["SET", "counter", "12345"])
        try cli(["SET", "in-db3", "x"], db: 3)
        try cli(["HSET", "h3", "k", "v"], db: 3)
        try cli(["SET", "in-db7", "y", "PX", "9000000"], db: 7)
    }

    var digest: String { (try? cli(["DEBUG", "DIGEST"])) ?? "?" }
}

@Suite("Redis plugin end to end", .serialized)
struct RedisBackupTests: RedisCLISuite {
    let temp: TemporaryDirectory
    let store: URL
    let configFile: URL
    let server: RedisServer

    init() throws {
        temp = try TemporaryDirectory("cairn-redis")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        server = try RedisServer(in: temp.path("server"), extra: ["--appendonly", "yes"])
        try server.populate()
    }

    @Test func crc64MatchesTheReferenceVector() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        let result = try cairn(["plugins", "call", "redis", "crc64", "123456789"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text.trimmingCharacters(in: .whitespacesAndNewlines) == "e9c6d914c4b8d9ca")
    }

    @Test func rdbOverTheNetworkVerifiesAndRestoresInADrillWithTheSameDigest() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("x")
        let check = try runTool(["redis-check-rdb", folder.appendingPathComponent("dump.rdb").path], check: false)
        #expect(check.status == 0, "\(check.text)")
        #expect(check.text.contains("RDB looks OK"))
        let metadata = try JSONValue.parse(String(decoding: try Data(contentsOf: folder.appendingPathComponent("backup_metadata.json")), as: UTF8.self))
        #expect(metadata["source"]?["rdb_version"]?.numberValue == 10)
        #expect(metadata["source"]?["sync_framing"] == .string("eof"))
        #expect(metadata["source"]?["keys"]?["db3"]?["keys"]?.numberValue == 2)

        let verify = try cairn(["verify", "redis", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("redis/rdb.crc64"))

        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.status == 0, "\(drill.text)\(drill.stderr)")
        #expect(drill.text.contains("DEBUG DIGEST \(server.digest)"), "\(drill.text)")

        // A target is a folder whatever its name: one called drill gets the files, not a drill.
        let named = temp.path("new/dir/drill")
        let restored = try cairn(["restore", "redis", "--backup", "latest", "--target", named.path])
        #expect(restored.status == 0, "\(restored.text)\(restored.stderr)")
        #expect(!restored.text.contains("DEBUG DIGEST"), "\(restored.text)")
        #expect(FileManager.default.fileExists(atPath: named.appendingPathComponent("dump.rdb").path), "\(restored.text)")
        #expect(try cairn(["restore", "redis", "--drill", "--target", named.path]).status == 2)
    }

    /// After a backup the archive is read once, by the plugin, with the host's checks riding
    /// along: damage only the host looks for (bytes after the gzip stream) must still be caught.
    @Test func theNewBackupIsReadOnceAndDamageOutsideTheRDBIsStillCaught() throws {
        let hook = temp.path("damage.sh")
        try "#!/bin/sh\nprintf 'junk' >> '\(store.path)/redis/test/'\"$CAIRN_BACKUP_ID\".tar.gz\n".write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        try (String(contentsOf: configFile, encoding: .utf8) + """

            pipelines:
              damaged: { steps: [ { backup: redis }, { hook: \(hook.path) }, { verify: redis }, { publish: redis } ] }
            """).write(to: configFile, atomically: true, encoding: .utf8)

        let good = try cairn(["backup", "redis"])
        #expect(good.status == 0, "\(good.text)\(good.stderr)")
        #expect(good.text.contains("verify redis (new)"), "\(good.text)")
        let before = try Data(contentsOf: latest)

        let damaged = try cairn(["run", "damaged", "--component", "redis"])
        #expect(damaged.status == 1, "\(damaged.text)\(damaged.stderr)")
        #expect((damaged.text + damaged.stderr).contains("archive/structure"), "\(damaged.text)\(damaged.stderr)")
        #expect((damaged.text + damaged.stderr).contains("non-gzip data follows the gzip stream"), "\(damaged.text)\(damaged.stderr)")
        #expect(try Data(contentsOf: latest) == before, "latest.tar.gz changed")
        let left = try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("redis/test").path)
        #expect(left.filter { $0.hasSuffix(".tar.gz") }.count == 2, "the damaged archive was not removed: \(left)")
    }

    @Test func lengthFramedSyncNeedsConsentAndStillWorks() throws {
        try server.cli(["CONFIG", "SET", "repl-diskless-sync", "no"])
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        let refused = try cairn(["backup", "redis"])
        #expect(refused.status != 0)
        #expect((refused.text + refused.stderr).contains("repl-diskless-sync no"))
        try writeConfig("url: redis://127.0.0.1:\(server.port)\nallow_disk_sync: true")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("len")
        let metadata = try JSONValue.parse(String(decoding: try Data(contentsOf: folder.appendingPathComponent("backup_metadata.json")), as: UTF8.self))
        #expect(metadata["source"]?["sync_framing"] == .string("length"))
    }

    @Test func bothTypesGiveAnAOFRedisAcceptsAndADirRestoreWithTheSameDigest() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)\ntype: both")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        #expect(try server.cli(["CONFIG", "GET", "auto-aof-rewrite-percentage"]).hasSuffix("100"))
        let folder = try extractLatest("both")
        let aof = try runTool(["redis-check-aof", folder.appendingPathComponent("appendonlydir/appendonly.aof.manifest").path], check: false)
        #expect(aof.status == 0, "\(aof.text)")
        #expect(aof.text.contains("All AOF files and manifest are valid"))

        let target = temp.path("restored")
        let restore = try cairn(["restore", "redis", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.text.contains("appendonly no"))
        let again = try cairn(["restore", "redis", "--backup", "latest", "--target", target.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("not empty"))
        let fresh = try RedisServer(in: target, extra: ["--appendonly", "no"])
        #expect(fresh.digest == server.digest)
    }

    @Test func diskModeTakesABGSAVE() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)\nmode: disk")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("disk")
        #expect(try runTool(["redis-check-rdb", folder.appendingPathComponent("dump.rdb").path], check: false).status == 0)
    }

    @Test func authenticationAndRightsFailuresAreExplained() throws {
        try server.cli(["ACL", "SETUSER", "backup", "on", ">pw", "resetkeys", "-@all", "+ping", "+info", "+config|get"])
        try writeConfig("url: redis://backup:wrong@127.0.0.1:\(server.port)")
        let wrong = try cairn(["backup", "redis"])
        #expect(wrong.status != 0)
        #expect((wrong.text + wrong.stderr).contains("WRONGPASS"))
        #expect(!(wrong.text + wrong.stderr).contains("wrong@"))

        try writeConfig("url: redis://backup@127.0.0.1:\(server.port)")
        let noRights = try cairn(["backup", "redis"], environment: ["REDIS_PASSWORD": "pw"])
        #expect(noRights.status != 0)
        let text = noRights.text + noRights.stderr
        #expect(text.contains("NOPERM"), "\(text)")
        #expect(text.contains("+replconf +sync"), "\(text)")

        try writeConfig("url: redis://127.0.0.1:\(try freePort())\nconnect_timeout: 2")
        let unreachable = try cairn(["backup", "redis"])
        #expect(unreachable.status != 0)
        #expect((unreachable.text + unreachable.stderr).contains("cannot connect to Redis at 127.0.0.1"))
    }

    @Test func aCorruptedRDBFailsVerificationNamingTheOffset() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let folder = try extractLatest("corrupt")
        let rdb = folder.appendingPathComponent("dump.rdb")
        var bytes = try Data(contentsOf: rdb)
        let offset = bytes.count / 2
        bytes[offset] ^= 0x5a
        let id = try storeRedisBackup(bytes, folder: folder, store: store)
        let verify = try cairn(["verify", "redis", "--backup", id])
        #expect(verify.status == 1, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("FAIL redis/rdb.crc64"), "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("byte offset \(bytes.count - 8)"), "\(verify.text)")
    }
}
