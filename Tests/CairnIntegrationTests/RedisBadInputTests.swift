import Foundation
import Testing
import CairnTestSupport

/// A scripted stand-in for Redis (Python 3 stdlib) for failures a real server will not produce on
/// demand: a SYNC stream cut short, a server that is still loading. It logs every command it gets,
/// one per line, so tests can see what the plugin sent (AUTH, SELECT).
final class FakeRedis {
    /// `newerdump`: INFO says Redis 7.0.15 (RDB 10) but DUMP payloads carry RDB version 11.
    enum Mode: String { case eof, length, loading, normal, newerdump }

    let log: URL
    private let server: FixtureServer
    var port: Int { server.port }

    /// `rdb`: the whole snapshot; SYNC sends its framing header for all of it, then half of it.
    init(in dir: URL, mode: Mode, rdb: URL? = nil) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("fake_redis.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let portFile = dir.appendingPathComponent("port")
        log = dir.appendingPathComponent("commands.log")
        server = try FixtureServer(name: "fake redis", script: script,
                                   arguments: [mode.rawValue, rdb?.path ?? "-", portFile.path, log.path], portFile: portFile, startSeconds: 5)
    }

    var commands: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static let script = #"""
        import os, socket, sys, threading

        mode, rdb_path, port_file, log_path = sys.argv[1:5]
        rdb = open(rdb_path, "rb").read() if rdb_path != "-" else b""
        log_lock = threading.Lock()
        info = ("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\n# Replication\r\nrole:master\r\n"
                "# Memory\r\nused_memory:1048576\r\nused_memory_rss:2097152\r\nmaxmemory:0\r\n"
                "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n").encode()
        config = {"save": "", "appendonly": "no", "dir": "/nonexistent", "repl-diskless-sync": "yes",
                  "repl-diskless-sync-delay": "0"}

        def bulk(b):
            return b"$%d\r\n%s\r\n" % (len(b), b)

        def crc64(data):
            crc = 0
            for byte in data:
                crc ^= byte
                for _ in range(8):
                    crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
            return crc

        def dump_payload(version):
            body = b"\x00\x01v" + version.to_bytes(2, "little")
            return body + crc64(body).to_bytes(8, "little")

        def read_command(f):
            line = f.readline()
            if not line:
                return None
            if not line.startswith(b"*"):
                return line.strip().decode().split()
            args = []
            for _ in range(int(line[1:])):
                n = int(f.readline()[1:])
                args.append(f.read(n + 2)[:n].decode())
            return args

        def serve(conn):
            f = conn.makefile("rb")
            try:
                while True:
                    args = read_command(f)
                    if args is None:
                        return
                    with log_lock, open(log_path, "a") as log:
                        log.write(" ".join(args) + "\n")
                    name = args[0].upper()
                    if mode == "loading" and name != "AUTH":
                        conn.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")
                    elif name == "PING":
                        conn.sendall(b"+PONG\r\n")
                    elif name in ("AUTH", "SELECT", "REPLCONF"):
                        conn.sendall(b"+OK\r\n")
                    elif name == "INFO":
                        conn.sendall(bulk(info))
                    elif name == "CONFIG" and len(args) == 3:
                        value = config.get(args[2])
                        reply = b"*0\r\n" if value is None else b"*2\r\n" + bulk(args[2].encode()) + bulk(value.encode())
                        conn.sendall(reply)
                    elif name == "SCAN":
                        conn.sendall(b"*2\r\n" + bulk(b"0") + b"*1\r\n" + bulk(b"k"))
                    elif name == "DUMP":
                        conn.sendall(bulk(dump_payload(11)))
                    elif name == "PTTL":
                        conn.sendall(b":-1\r\n")
                    elif name == "SYNC":
                        half = rdb[: len(rdb) // 2]
                        if mode == "eof":
                            header = b"$EOF:" + os.urandom(20).hex().encode() + b"\r\n"
                        else:
                            header = b"$%d\r\n" % len(rdb)
                        # A keepalive newline first, as a real server sends while it forks.
                        conn.sendall(b"\n" + header + half)
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    else:
                        conn.sendall(b"-ERR unknown command '%s'\r\n" % args[0].encode())
            except (OSError, ValueError):
                pass
            finally:
                conn.close()

        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        with open(port_file + ".tmp", "w") as out:
            out.write(str(server.getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """#
}

extension RedisBackupTests {
    /// Every file under the store, relative, sorted; the host's own state (.cairn/) aside.
    func storeFiles() throws -> [String] {
        let root = store.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        // The state folders (.cairn/ for this machine, cairn/ shared through the store) are not backups.
        return walker.compactMap { $0 as? String }.filter { !$0.hasPrefix(".cairn/") && !$0.hasPrefix("cairn/") }.filter { path in
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &directory) && !directory.boolValue
        }.sorted()
    }

    func storeBackup(_ rdb: Data, folder: URL) throws -> String {
        try storeRedisBackup(rdb, folder: folder, store: store)
    }

    @Test func aSnapshotStreamThatEndsEarlyLeavesTheStoreAsItWas() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        let first = try cairn(["backup", "redis"])
        #expect(first.status == 0, "\(first.text)\(first.stderr)")
        let rdb = try extractLatest("good").appendingPathComponent("dump.rdb")
        let rdbSize = try Data(contentsOf: rdb).count
        let before = try storeFiles()
        let latestBytes = try Data(contentsOf: latest)

        for (mode, expected) in [(FakeRedis.Mode.eof, "bytes received, before the EOF mark"),
                                 (.length, "of \(rdbSize) bytes received")] {
            let fake = try FakeRedis(in: temp.path("fake-\(mode.rawValue)"), mode: mode, rdb: rdb)
            try writeConfig("url: redis://127.0.0.1:\(fake.port)")
            let cut = try cairn(["backup", "redis"])
            let output = cut.text + cut.stderr
            #expect(cut.status == 1, "\(mode): \(output)")
            #expect(output.contains("the snapshot stream from 127.0.0.1:\(fake.port) ended early"), "\(mode): \(output)")
            #expect(output.contains("closed after \(rdbSize / 2) "), "\(mode): \(output)")
            #expect(output.contains(expected), "\(mode): \(output)")
            #expect(fake.commands.contains("SYNC"))
            #expect(try storeFiles() == before, "\(mode): the store changed")
            #expect(try Data(contentsOf: latest) == latestBytes, "\(mode): latest.tar.gz changed")
        }
    }

    @Test func aServerStillLoadingIsToldToRetryLater() throws {
        let fake = try FakeRedis(in: temp.path("fake-loading"), mode: .loading)
        try writeConfig("url: redis://127.0.0.1:\(fake.port)")
        let check = try cairn(["check", "redis"])
        #expect(check.status == 1, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("FAIL"), "\(check.text)")
        #expect(check.text.contains("is still loading its dataset into memory"), "\(check.text)\(check.stderr)")
        #expect(check.text.contains("retry later"), "\(check.text)")

        let backup = try cairn(["backup", "redis"])
        let output = backup.text + backup.stderr
        #expect(backup.status == 1, "\(output)")
        #expect(output.contains("is still loading its dataset into memory") && output.contains("retry later"), "\(output)")
        let left = try storeFiles()
        #expect(left.isEmpty, "\(left)")
    }

    @Test func anRDBNewerThanTheLocalRedisIsRefusedByDrillAndRestore() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let folder = try extractLatest("newer")
        // RDB version 12 (Redis 7.4) with its CRC64 recomputed: verify passes it, so only the
        // plugin's own restore can refuse it for the local redis-server.
        let rdb = folder.appendingPathComponent("dump.rdb")
        var bytes = try Data(contentsOf: rdb)
        bytes.replaceSubrange(5 ..< 9, with: Array("0012".utf8))
        try bytes.write(to: rdb)
        try runTool(["python3", "-c", """
            import struct, sys
            data = open(sys.argv[1], "rb").read()
            crc = 0
            for byte in data[:-8]:
                crc ^= byte
                for _ in range(8):
                    crc = (crc >> 1) ^ (0x95ac9329ac4bc9b5 if crc & 1 else 0)
            open(sys.argv[1], "wb").write(data[:-8] + struct.pack("<Q", crc))
            """, rdb.path])
        let id = try storeBackup(try Data(contentsOf: rdb), folder: folder)
        let verify = try cairn(["verify", "redis", "--backup", id])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        let local = try runTool(["redis-server", "--version"]).text
        let localVersion = try #require(local.firstRange(of: "v=").map { local[$0.upperBound...].prefix { $0 != " " } })
        let refusal = "the backup's RDB version 12 is newer than the local redis-server \(localVersion) can load (up to RDB version 10)"

        let drill = try cairn(["restore", "redis", "--backup", id, "--drill"])
        #expect(drill.status == 1, "\(drill.text)\(drill.stderr)")
        #expect((drill.text + drill.stderr).contains(refusal), "\(drill.text)\(drill.stderr)")

        let target = temp.path("newer-target")
        let restore = try cairn(["restore", "redis", "--backup", id, "--target", target.path])
        #expect(restore.status == 1, "\(restore.text)\(restore.stderr)")
        #expect((restore.text + restore.stderr).contains(refusal), "\(restore.text)\(restore.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target.path), "a partial restore was left in \(target.path)")

        // An existing, empty target stays, and stays empty.
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let again = try cairn(["restore", "redis", "--backup", id, "--target", target.path])
        #expect(again.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).isEmpty)
    }

    @Test func theValidatorNamesWhatIsWrongWithAStoredRDB() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let folder = try extractLatest("validator")
        let good = try Data(contentsOf: folder.appendingPathComponent("dump.rdb"))

        func verify(_ rdb: Data) throws -> ToolResult {
            try cairn(["verify", "redis", "--backup", try storeBackup(rdb, folder: folder)])
        }

        let cut = good.count / 2
        let truncated = try verify(good.prefix(cut))
        #expect(truncated.status == 1, "\(truncated.text)\(truncated.stderr)")
        #expect(truncated.text.contains("FAIL redis/rdb.format"), "\(truncated.text)")
        #expect(truncated.text.contains("unexpected end of file while"), "\(truncated.text)")
        #expect(truncated.text.contains("(at byte offset \(cut) of \(cut))"), "\(truncated.text)")

        var magic = good
        magic.replaceSubrange(0 ..< 5, with: Array("RADIS".utf8))
        let wrongMagic = try verify(magic)
        #expect(wrongMagic.status == 1)
        #expect(wrongMagic.text.contains("wrong signature: it does not start with \"REDIS\" (at byte offset 0)"), "\(wrongMagic.text)")

        var newer = good
        newer.replaceSubrange(5 ..< 9, with: Array("0099".utf8))
        let tooNew = try verify(newer)
        #expect(tooNew.status == 1)
        #expect(tooNew.text.contains("RDB format version 99 is newer than any this validator knows (up to 12"), "\(tooNew.text)")

        var garbled = good
        garbled.replaceSubrange(5 ..< 9, with: Array("00x1".utf8))
        let badVersion = try verify(garbled)
        #expect(badVersion.status == 1)
        #expect(badVersion.text.contains("bad RDB version field '00x1' (at byte offset 5)"), "\(badVersion.text)")

        var unchecked = good
        unchecked.replaceSubrange(good.count - 8 ..< good.count, with: [UInt8](repeating: 0, count: 8))
        let zero = try verify(unchecked)
        #expect(zero.status == 0, "\(zero.text)\(zero.stderr)")
        #expect(zero.text.contains("WARN redis/rdb.crc64"), "\(zero.text)")
        #expect(zero.text.contains("saved with checksum disabled (rdbchecksum no): the CRC64 trailer is 0, not verified"), "\(zero.text)")
        #expect(zero.text.contains("ok   redis/rdb.format: dump.rdb: RDB version 10"), "\(zero.text)")
    }

    /// `cairn restore` of `id` into a new folder: refused with `message`, and nothing left behind.
    func expectRestoreRefused(_ id: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = temp.path("target-\(UUID().uuidString)")
        let restore = try cairn(["restore", "redis", "--backup", id, "--target", target.path])
        let output = restore.text + restore.stderr
        #expect(restore.status == 1, "\(output)", sourceLocation: sourceLocation)
        #expect(output.contains("refusing to restore redis/test/\(id).tar.gz: component 'redis' (plugin redis) refuses its contents"),
                "\(output)", sourceLocation: sourceLocation)
        #expect(output.contains(message), "\(output)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: target.path), "the restore wrote \(target.path)", sourceLocation: sourceLocation)
    }

    @Test func restoreRefusesAnRDBThatVerifyRefuses() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let folder = try extractLatest("refused")
        let good = try Data(contentsOf: folder.appendingPathComponent("dump.rdb"))

        var badCRC = good
        badCRC[good.count - 1] ^= 0x01
        let crcID = try storeBackup(badCRC, folder: folder)
        let verify = try cairn(["verify", "redis", "--backup", crcID])
        #expect(verify.status == 1 && verify.text.contains("FAIL redis/rdb.crc64"), "\(verify.text)")
        try expectRestoreRefused(crcID, "dump.rdb: CRC64 mismatch")

        var body = good
        body[good.count / 2] ^= 0xff
        try expectRestoreRefused(try storeBackup(body, folder: folder), "dump.rdb: ")

        // No RDB at all: only backup_metadata.json, which then lists nothing.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("dump.rdb"))
        let empty = try storeRedisFolder(folder, store: store)
        let emptyVerify = try cairn(["verify", "redis", "--backup", empty])
        #expect(emptyVerify.status == 1 && emptyVerify.text.contains("FAIL redis/redis.contents"), "\(emptyVerify.text)")
        try expectRestoreRefused(empty, "the backup holds neither dump.rdb nor an AOF manifest")
        let drill = try cairn(["restore", "redis", "--backup", empty, "--drill"])
        #expect(drill.status == 1, "\(drill.text)\(drill.stderr)")
    }

    @Test func verifyAndRestoreRefuseFilesTheRedisPluginNeverWrites() throws {
        try writeConfig("url: redis://127.0.0.1:\(server.port)")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let folder = try extractLatest("strays")
        try Data("#!/bin/sh\nrm -rf /\n".utf8).write(to: folder.appendingPathComponent("evil.sh"))
        let evil = try storeRedisFolder(folder, store: store)
        let verify = try cairn(["verify", "redis", "--backup", evil])
        #expect(verify.status == 1, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("FAIL redis/redis.contents: the backup holds 1 entry the Redis plugin never writes, which restore refuses: 'evil.sh' is a file at the top besides dump.rdb"),
                "\(verify.text)")
        try expectRestoreRefused(evil, "'evil.sh' is a file at the top besides dump.rdb")

        // 20,000 unrelated files (the rule does not depend on the count; 100,000 took 100 s here):
        // refused, named by a sample and a count.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("evil.sh"))
        try runTool(["python3", "-c", """
            import os, sys
            for d in range(100):
                os.makedirs(os.path.join(sys.argv[1], "strays", "d%03d" % d))
                for f in range(200):
                    open(os.path.join(sys.argv[1], "strays", "d%03d" % d, "f%04d" % f), "w").write(str(f))
            """, folder.path])
        let many = try storeRedisFolder(folder, store: store)
        let manyVerify = try cairn(["verify", "redis", "--backup", many])
        #expect(manyVerify.status == 1, "\(manyVerify.text)\(manyVerify.stderr)")
        #expect(manyVerify.text.contains("the backup holds 20100 entries the Redis plugin never writes, which restore refuses: 'strays/d000' is a nested folder"),
                "\(manyVerify.text.prefix(4000))")
        #expect(manyVerify.text.contains("and 20095 more"), "\(manyVerify.text.prefix(4000))")
    }

    @Test func redisURLsAreParsedAndBadOnesExplainedWithoutThePassword() throws {
        let fake = try FakeRedis(in: temp.path("fake-url"), mode: .normal)
        try writeConfig("")

        let full = try cairn(["check", "redis"], environment: ["REDIS_URL": "redis://backup:s3cr%40t@127.0.0.1:\(fake.port)/3"])
        #expect(full.status == 0, "\(full.text)\(full.stderr)")
        #expect(fake.commands.contains("AUTH backup s3cr@t"), "\(fake.commands)")
        #expect(fake.commands.contains("SELECT 3"), "\(fake.commands)")
        #expect(!(full.text + full.stderr).contains("s3cr"))

        let passwordOnly = try cairn(["check", "redis"], environment: ["REDIS_URL": "redis://:only-pw@127.0.0.1:\(fake.port)"])
        #expect(passwordOnly.status == 0, "\(passwordOnly.text)\(passwordOnly.stderr)")
        #expect(fake.commands.contains("AUTH only-pw"), "\(fake.commands)")
        #expect(fake.commands.filter { $0.hasPrefix("SELECT") }.count == 1, "db 0 needs no SELECT")

        let bad: [(url: String, message: String)] = [
            ("redis://user:hunter2@127.0.0.1:99999", "the port in setting 'url' must be a port number (1-65535), not '99999'"),
            ("redis://user:hunter2@127.0.0.1:6379/three", "the database after '/' must be a number, not 'three'"),
            ("rediss://user:hunter2@127.0.0.1:0", "must be a port number (1-65535), not '0'"),
            ("http://user:hunter2@127.0.0.1:6379", "it must start with redis://"),
        ]
        for (url, message) in bad {
            let result = try cairn(["check", "redis"], environment: ["REDIS_URL": url])
            let output = result.text + result.stderr
            #expect(result.status == 1 || result.status == 2, "\(url): \(result.status) \(output)")
            #expect(output.contains(message), "\(url): \(output)")
            #expect(!output.contains("hunter2"), "\(url) leaked its password: \(output)")
        }
    }
}
