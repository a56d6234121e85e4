import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// Six redis-servers made a 3-master, 3-replica cluster by `redis-cli --cluster create`.
final class RedisCluster {
    let nodes: [RedisServer]

    init(in dir: URL) throws {
        var nodes: [RedisServer] = []
        for index in 0 ..< 6 {
            let folder = dir.appendingPathComponent("node\(index)")
            nodes.append(try RedisServer(in: folder, extra: [
                "--cluster-enabled", "yes", "--cluster-config-file", folder.appendingPathComponent("nodes.conf").path,
                // Long enough that a busy test machine does not mark a slow node as failing.
                "--cluster-node-timeout", "20000",
            ]))
        }
        self.nodes = nodes
        try runTool(["redis-cli", "--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "1", "--cluster-yes"])
        try wait("every node to see the cluster whole, with every replica in sync") {
            nodes.allSatisfy { node in
                let info = (try? node.cli(["CLUSTER", "INFO"])) ?? ""
                let replication = (try? node.cli(["INFO", "replication"])) ?? ""
                return info.contains("cluster_state:ok") && (replication.contains("role:master") || replication.contains("master_link_status:up"))
            }
        }
    }

    var masters: [RedisServer] { nodes.filter { ((try? $0.cli(["INFO", "replication"])) ?? "").contains("role:master") } }
    var replicas: [RedisServer] { nodes.filter { ((try? $0.cli(["INFO", "replication"])) ?? "").contains("role:slave") } }

    /// `count` string keys spread over every slot range, through redis-cli's cluster mode.
    func fill(_ count: Int, size: Int = 16) throws {
        let script = temporaryScript((0 ..< count).map { "SET key:\($0) \(String(repeating: "v", count: size))\($0)" }.joined(separator: "\n") + "\n")
        try runShell("redis-cli -c -p \(nodes[0].port) < '\(script.path)' > /dev/null")
        try wait("every replica to have caught up") {
            let total = masters.reduce(0) { $0 + (Int((try? $1.cli(["DBSIZE"])) ?? "") ?? 0) }
            let copies = replicas.reduce(0) { $0 + (Int((try? $1.cli(["DBSIZE"])) ?? "") ?? 0) }
            return total == count && copies == count
        }
    }

    private func temporaryScript(_ text: String) -> URL {
        let url = nodes[0].dir.appendingPathComponent("fill.txt")
        try? text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func wait(_ what: String, seconds: Double = 60, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ToolFailure(command: "redis cluster", result: ToolResult(status: 1, stdout: Data(), stderr: "timed out waiting for \(what)"))
    }
}

@Suite("Redis Cluster", .serialized)
struct RedisClusterTests: RedisCLISuite {
    let temp: TemporaryDirectory
    let store: URL
    let configFile: URL
    let cluster: RedisCluster

    init() throws {
        temp = try TemporaryDirectory("cairn-redis-cluster")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        cluster = try RedisCluster(in: temp.path("cluster"))
        try cluster.fill(3000)
    }

    @Test func everyShardIsBackedUpVerifiedRestoredAndDrilled() throws {
        // The seed is a replica: discovery finds the whole cluster from any node.
        let seed = try #require(cluster.replicas.first)
        try writeConfig("url: redis://127.0.0.1:\(seed.port)\ncluster: true")
        let check = try cairn(["check", "redis"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("3 shards (CLUSTER SHARDS): every slot 0-16383 served exactly once"), "\(check.stderr)")

        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("x")
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("shards").path).sorted()
        #expect(shards.count == 3, "\(shards)")
        var total = 0
        for shard in shards {
            let judge = try runTool(["redis-check-rdb", folder.appendingPathComponent("shards/\(shard)/dump.rdb").path], check: false)
            #expect(judge.status == 0 && judge.text.contains("RDB looks OK"), "\(shard): \(judge.text)")
            // "[info] 674 keys read"
            let line = judge.text.split(separator: "\n").first { $0.contains("keys read") }
            total += Int(line?.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        #expect(total == 3000, "keys read by redis-check-rdb: \(total)")
        // Names carry the master's id and slots; the topology carries nodes and epochs.
        let masters = Set(try cluster.masters.map { try $0.cli(["CLUSTER", "MYID"]) })
        #expect(Set(shards.map { String($0.prefix(while: { $0 != "_" })) }) == masters)
        #expect(shards.contains { $0.hasSuffix("_0-5460") }, "\(shards)")
        let topology = try String(contentsOf: folder.appendingPathComponent("cluster.json"), encoding: .utf8)
        #expect(try JSONValue.parse(topology)["shards"]?.arrayValue?.count == 3)
        #expect(topology.contains("\"config_epoch\":"), "\(topology)")
        #expect(topology.contains("\"current_epoch\":6"), "\(topology)")
        let metadata = try JSONValue.parse(String(decoding: try Data(contentsOf: folder.appendingPathComponent("backup_metadata.json")), as: UTF8.self))
        #expect(metadata["source"]?["keys"]?["db0"]?["keys"]?.numberValue == 3000)
        #expect(metadata["source"]?["cluster_shards"]?.numberValue == 3)

        let verify = try cairn(["verify", "redis", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.stderr.contains("3 shards' RDBs cover slots 0-16383 exactly once"), "\(verify.stderr)")

        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.status == 0, "\(drill.text)\(drill.stderr)")
        for master in cluster.masters {
            let id = try master.cli(["CLUSTER", "MYID"])
            let digest = master.digest
            #expect(drill.text.contains("shard \(id)_") && drill.text.contains("DEBUG DIGEST \(digest), as the source's"), "\(id) \(digest): \(drill.text)")
        }
        #expect(drill.text.contains("3000 keys, every shard as its source"), "\(drill.text)")

        let target = temp.path("restored")
        let restore = try cairn(["restore", "redis", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        for shard in shards {
            #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("shards/\(shard)/dump.rdb").path))
        }
    }

    @Test func preferReplicaTakesEachSnapshotFromAReplica() throws {
        // The seed learns by gossip that a node became a replica (until then it is a master
        // without slots): wait until it knows all three replicas, and that they are online.
        let seed = cluster.nodes[0]
        try cluster.wait("the seed to know every replica") {
            let nodes = ((try? seed.cli(["CLUSTER", "NODES"])) ?? "").split(separator: "\n")
            let shards = (try? seed.cli(["CLUSTER", "SHARDS"])) ?? ""
            return nodes.filter { $0.contains("slave") && $0.contains(" connected") }.count == 3
                && shards.components(separatedBy: "\nonline").count - 1 == 6
        }
        try writeConfig("url: redis://127.0.0.1:\(seed.port)\ncluster: true\nprefer: replica")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let topology = try String(contentsOf: try extractLatest("r").appendingPathComponent("cluster.json"), encoding: .utf8)
        let replicaPorts = cluster.replicas.map { "127.0.0.1:\($0.port)" }
        for port in replicaPorts {
            #expect(topology.contains("\"source\":\"\(port)\",\"source_role\":\"replica\""), "\(port): \(topology)\n\(backup.stderr)")
        }
    }

    @Test func clusterNodesStandsInForClusterShardsAndAMissingShardFailsVerify() throws {
        let seed = cluster.nodes[0]
        try seed.cli(["ACL", "SETUSER", "default", "-cluster|shards"])
        defer { _ = try? seed.cli(["ACL", "SETUSER", "default", "+cluster|shards"]) }
        try writeConfig("url: redis://127.0.0.1:\(seed.port)\ncluster: true")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let folder = try extractLatest("nodes")
        let topology = try String(contentsOf: folder.appendingPathComponent("cluster.json"), encoding: .utf8)
        #expect(topology.contains("\"source\":\"CLUSTER NODES\""), "\(topology)")
        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.text.contains("3000 keys, every shard as its source"), "\(drill.text)\(drill.stderr)")

        // A backup that lost a shard: verify names the slots no shard covers.
        let shards = folder.appendingPathComponent("shards")
        let middle = try #require(try FileManager.default.contentsOfDirectory(atPath: shards.path).first { $0.hasSuffix("_5461-10922") })
        try FileManager.default.removeItem(at: shards.appendingPathComponent(middle))
        let id = try storeRedisFolder(folder, store: store)
        let verify = try cairn(["verify", "redis", "--backup", id])
        #expect(verify.status == 1, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("slots 5461-10922 belong to no shard"), "\(verify.text)")
    }

    @Test func aShardThatFailsFailsTheBackupNamingIt() throws {
        try writeConfig("url: redis://127.0.0.1:\(cluster.nodes[0].port)\ncluster: true")
        #expect(try cairn(["backup", "redis"]).status == 0)
        let before = try Data(contentsOf: latest)
        // One master refuses the replication protocol.
        let victim = try #require(cluster.masters.last)
        let id = try victim.cli(["CLUSTER", "MYID"])
        try victim.cli(["ACL", "SETUSER", "default", "-sync"])
        defer { _ = try? victim.cli(["ACL", "SETUSER", "default", "+sync"]) }
        let failed = try cairn(["backup", "redis"])
        #expect(failed.status == 1, "\(failed.text)\(failed.stderr)")
        #expect((failed.text + failed.stderr).contains("1 of 3 cluster shards failed: shard \(id)_"), "\(failed.text)\(failed.stderr)")
        #expect(try Data(contentsOf: latest) == before, "latest changed")

        // allow_partial: the other shards are saved and published, the run ends partial (exit 3).
        try writeConfig("url: redis://127.0.0.1:\(cluster.nodes[0].port)\ncluster: true\nallow_partial: true")
        let partial = try cairn(["backup", "redis"])
        #expect(partial.status == 3, "\(partial.text)\(partial.stderr)")
        #expect((partial.text + partial.stderr).contains("partial backup: 1 of 3 cluster shards failed: shard \(id)_"), "\(partial.text)\(partial.stderr)")
        let folder = try extractLatest("partial")
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("shards").path)
        #expect(shards.count == 2 && !shards.contains { $0.hasPrefix(id) }, "\(shards)")
        let metadata = try JSONValue.parse(String(decoding: try Data(contentsOf: folder.appendingPathComponent("backup_metadata.json")), as: UTF8.self))
        #expect(metadata["source"]?["partial"] != nil)
        let verify = try cairn(["verify", "redis", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect((verify.text + verify.stderr).contains("a partial backup: 2 shards' RDBs"), "\(verify.text)\(verify.stderr)")
    }
}
