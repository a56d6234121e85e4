import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// redis-sentinel watching a master with one replica, all on 127.0.0.1 with free ports.
final class RedisSentinel {
    let port: Int
    let process: Process

    init(in dir: URL, master: String, masterPort: Int) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        port = try freePort()
        // Sentinel rewrites its config file: it must be its own, writable.
        let config = dir.appendingPathComponent("sentinel.conf")
        try """
            port \(port)
            bind 127.0.0.1
            dir \(dir.path)
            logfile \(dir.appendingPathComponent("sentinel.log").path)
            sentinel monitor \(master) 127.0.0.1 \(masterPort) 1
            sentinel down-after-milliseconds \(master) 2000
            sentinel failover-timeout \(master) 5000

            """.write(to: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-sentinel", config.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for _ in 0 ..< 40 where process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func cli(_ args: [String]) -> String {
        ((try? runTool(["redis-cli", "-p", "\(port)"] + args, check: false).text) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits (up to `seconds`) until `condition` holds on what the Sentinel says.
    func wait(_ seconds: Double, _ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ToolFailure(command: "redis-sentinel", result: ToolResult(status: 1, stdout: Data(), stderr: "timed out waiting for \(what)"))
    }

    func masterPort(_ name: String) -> Int? {
        Int(cli(["SENTINEL", "get-master-addr-by-name", name]).split(separator: "\n").last ?? "")
    }
}

@Suite("Redis through Sentinel", .serialized)
struct RedisSentinelTests: RedisCLISuite {
    let temp: TemporaryDirectory
    let store: URL
    let configFile: URL
    let master: RedisServer
    let replica: RedisServer
    let sentinel: RedisSentinel

    init() throws {
        temp = try TemporaryDirectory("cairn-redis-sentinel")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        master = try RedisServer(in: temp.path("master"))
        try master.populate()
        replica = try RedisServer(in: temp.path("replica"), extra: ["--replicaof", "127.0.0.1", "\(master.port)"])
        sentinel = try RedisSentinel(in: temp.path("sentinel"), master: "cache", masterPort: master.port)
        let replica = replica, sentinel = sentinel
        try sentinel.wait(30, "the Sentinel to see the replica with its link up") {
            let info = sentinel.cli(["SENTINEL", "replicas", "cache"])
            return info.contains("\(replica.port)") && info.contains("master-link-status\nok") && !info.contains("s_down")
        }
    }

    func latestSource(_ folder: String) throws -> JSONValue? {
        let data = try Data(contentsOf: try extractLatest(folder).appendingPathComponent("backup_metadata.json"))
        return try JSONValue.parse(String(decoding: data, as: UTF8.self))["source"]
    }

    @Test func theMasterOrAHealthyReplicaIsFoundAndAFailoverIsFollowed() throws {
        // A dead Sentinel first: the next one answers.
        let dead = try freePort()
        try writeConfig("sentinel: { addresses: [\"127.0.0.1:\(dead)\", \"127.0.0.1:\(sentinel.port)\"], master: cache }\nconnect_timeout: 2")
        let check = try cairn(["check", "redis"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("the Sentinels name 127.0.0.1:\(master.port) as the master of 'cache'"), "\(check.stderr)")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        var source = try latestSource("m")
        #expect(source?["source_address"] == .string("127.0.0.1:\(master.port)"))
        #expect(source?["role"] == .string("master"))
        #expect(source?["sentinel_master"] == .string("cache"))
        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.text.contains("DEBUG DIGEST \(master.digest)"), "\(drill.text)\(drill.stderr)")

        try writeConfig("sentinel: { addresses: [\"127.0.0.1:\(sentinel.port)\"], master: cache }\nprefer: replica")
        let fromReplica = try cairn(["backup", "redis"])
        #expect(fromReplica.status == 0, "\(fromReplica.text)\(fromReplica.stderr)")
        source = try latestSource("r")
        #expect(source?["source_address"] == .string("127.0.0.1:\(replica.port)"))
        #expect(source?["role"] == .string("slave"))

        // A failover between the pre-checks and the backup: a hook step in between forces one.
        let hook = temp.path("failover.sh")
        try """
            #!/bin/sh
            redis-cli -p \(sentinel.port) SENTINEL FAILOVER cache >/dev/null
            for i in $(seq 1 150); do
              [ "$(redis-cli -p \(sentinel.port) SENTINEL get-master-addr-by-name cache | tail -1)" = "\(replica.port)" ] && exit 0
              sleep 0.2
            done
            exit 1

            """.write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try writeConfig("sentinel: { addresses: [\"127.0.0.1:\(sentinel.port)\"], master: cache }")
        try (String(contentsOf: configFile, encoding: .utf8) + """

            pipelines:
              switched: { steps: [ { check: redis }, { hook: \(hook.path) }, { backup: redis }, { verify: redis }, { publish: redis } ] }
            """).write(to: configFile, atomically: true, encoding: .utf8)
        let switched = try cairn(["run", "switched", "--component", "redis"])
        #expect(switched.status == 0, "\(switched.text)\(switched.stderr)")
        // The backup step asked the Sentinels again and followed the new master.
        #expect(switched.stderr.contains("the Sentinels name 127.0.0.1:\(replica.port) as the master of 'cache'"), "\(switched.stderr)")
        source = try latestSource("f")
        #expect(source?["source_address"] == .string("127.0.0.1:\(replica.port)"))
        #expect(source?["role"] == .string("master"))
    }

    @Test func anUnknownMasterNameAndNoSentinelAreExplained() throws {
        try writeConfig("sentinel: { addresses: [\"127.0.0.1:\(sentinel.port)\"], master: nosuch }")
        let unknown = try cairn(["backup", "redis"])
        #expect(unknown.status != 0)
        #expect((unknown.text + unknown.stderr).contains("does not monitor a master named 'nosuch'"), "\(unknown.text)\(unknown.stderr)")

        try writeConfig("sentinel: { addresses: [\"127.0.0.1:\(try freePort())\"], master: cache }\nconnect_timeout: 2")
        let none = try cairn(["backup", "redis"])
        #expect(none.status == 1)
        #expect((none.text + none.stderr).contains("no Sentinel answered for 'cache'"), "\(none.text)\(none.stderr)")

        try writeConfig("sentinel: { addresses: [\"nohostport\"], master: cache }")
        let bad = try cairn(["check", "redis"])
        #expect(bad.status == 2, "\(bad.text)\(bad.stderr)")
        #expect((bad.text + bad.stderr).contains("must be host:port"), "\(bad.text)\(bad.stderr)")
    }
}
