import CCairnPlugin
import CairnPluginSupport
import Glibc

/// One configured Redis instance: settings plus the host's services.
final class RedisComponent {
    let host: PluginHost
    /// The configured settings; with Sentinel, host and port become the node last resolved.
    private(set) var settings: Settings
    private(set) var resolved: SentinelResolver.Node?

    init(host: PluginHost) throws(RedisError) {
        self.host = host
        settings = try Settings(host)
    }

    /// A connection to the server to back up: with Sentinel, asked anew each time, so a failover
    /// between the pre-checks and the backup is followed.
    func connect() throws(RedisError) -> RespClient {
        guard let sentinel = settings.sentinel else { return try RespClient.connect(settings) }
        let (client, node) = try SentinelResolver(settings: settings, sentinel: sentinel, host: host).connect()
        if let before = resolved, before.host != node.host || before.port != node.port {
            host.log(CAIRN_LOG_WARNING, "'\(sentinel.master)' moved: the Sentinels now name \(Settings.address(node.host, node.port)), not \(Settings.address(before.host, before.port)) (a failover)")
        }
        settings.host = node.host
        settings.port = node.port
        resolved = node
        host.log(CAIRN_LOG_INFO, "the Sentinels name \(settings.address) as \(node.role == .master ? "the master" : "a healthy replica") of '\(sentinel.master)'")
        return client
    }

    // MARK: Pre-checks (runbook 1.1-1.2)

    func check(_ report: CheckReport) throws(RedisError) {
        let client: RespClient
        do throws(RedisError) {
            client = try connect()
        } catch where !error.hostKnows {
            try report.add("ping", CAIRN_CHECK_FAIL, error.message)
            return
        }
        let ping = try client.command(["PING"])
        if let error = ping.errorText {
            try report.add("ping", CAIRN_CHECK_FAIL, client.serverError("PING", error).message)
            return
        }
        try report.add("ping", CAIRN_CHECK_PASS, "PING at \(settings.address) answered \(ping.text ?? "?")")
        if let sentinel = settings.sentinel, let node = resolved {
            try report.add("sentinel", CAIRN_CHECK_PASS,
                           "the Sentinels name \(settings.address) as \(node.role == .master ? "the master" : "a healthy replica") of '\(sentinel.master)'",
                           detail: "{\"master\":\(JSONText.quote(sentinel.master)),\"address\":\(JSONText.quote(settings.address)),\"role\":\(JSONText.quote(node.role.rawValue))}")
        }

        let server = try client.info("server")
        let replication = (try? client.info("replication")) ?? [:]
        let version = server["redis_version"] ?? "unknown"
        let role = replication["role"] ?? "unknown"
        let uptime = server["uptime_in_seconds"] ?? "?"
        let major = Int(version.split(separator: ".").first ?? "") ?? 0
        if major < 7 {
            try report.add("server", CAIRN_CHECK_WARN,
                           "Redis \(version) (role \(role), up \(uptime) s): network RDB backups need Redis 7.0+ (REPLCONF rdb-only)",
                           detail: "{\"redis_version\":\(JSONText.quote(version)),\"role\":\(JSONText.quote(role))}")
        } else {
            try report.add("server", CAIRN_CHECK_PASS, "Redis \(version), role \(role), up \(uptime) s",
                           detail: "{\"redis_version\":\(JSONText.quote(version)),\"role\":\(JSONText.quote(role)),\"uptime_in_seconds\":\(Int(uptime) ?? 0)}")
        }

        if settings.cluster {
            do throws(RedisError) {
                let topology = try ClusterTopology.discover(client)
                let problem = ClusterTopology.coverageProblem(topology.shards.flatMap(\.slots))
                try report.add("cluster", problem == nil ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL,
                               "\(topology.shards.count) shards (\(topology.source)): " + (problem ?? "every slot 0-16383 served exactly once")
                                   + "; snapshots from " + topology.shards.map { shard in
                                       let replica = settings.prefer == .replica && shard.nodes.contains { $0.role == .replica && $0.healthy }
                                       return "\(shard.name) (\(replica ? "a replica, if its link is up" : (shard.master?.address ?? "?")))"
                                   }.joined(separator: ", "))
            } catch where !error.hostKnows {
                try report.add("cluster", CAIRN_CHECK_FAIL, error.message)
            }
        }
        try memoryCheck(client, report)
        try configCheck(client, report)
        if settings.type.wantsRDB && settings.method == .logical { try logicalCheck(client, report) }
    }

    /// A logical backup needs SCAN, DUMP and PTTL: tried on a key that does not exist.
    private func logicalCheck(_ client: RespClient, _ report: CheckReport) throws(RedisError) {
        let probe = "cairn:probe:absent"
        for args in [["SCAN", "0", "COUNT", "1"], ["DUMP", probe], ["PTTL", probe]] {
            if let error = try client.command(args).errorText {
                let user = settings.username ?? "default"
                try report.add("rdb.logical", CAIRN_CHECK_FAIL,
                               "\(args[0]) refused at \(settings.address) (\(error)): a logical backup needs SCAN, DUMP, PTTL and INFO; grant them with ACL SETUSER \(user) +scan +dump +pttl +info +select ~*")
                return
            }
        }
        try report.add("rdb.logical", CAIRN_CHECK_PASS,
                       "logical RDB (SCAN + DUMP + PTTL, key by key): not point-in-time, writes made during the backup may be partly in it")
    }

    private func memoryCheck(_ client: RespClient, _ report: CheckReport) throws(RedisError) {
        let memory = try client.info("memory")
        let used = UInt64(memory["used_memory"] ?? "") ?? 0
        let rss = UInt64(memory["used_memory_rss"] ?? "") ?? used
        let maxmemory = UInt64(memory["maxmemory"] ?? "") ?? 0
        let system = UInt64(memory["total_system_memory"] ?? "") ?? 0
        let detail = "{\"used_memory\":\(used),\"used_memory_rss\":\(rss),\"maxmemory\":\(maxmemory),\"total_system_memory\":\(system)}"
        var problems: [String] = []
        // A snapshot forks; copy-on-write can need up to the dataset again while the child runs.
        if system > 0 && rss.multipliedReportingOverflow(by: 2).partialValue > system {
            problems.append("the host has \(mib(system)) and Redis uses \(mib(rss)): a snapshot's fork may need up to \(mib(used)) more for copy-on-write")
        }
        if maxmemory > 0 && used > maxmemory / 10 * 9 {
            problems.append("used memory \(mib(used)) is above 90% of maxmemory \(mib(maxmemory))")
        }
        if problems.isEmpty {
            try report.add("memory", CAIRN_CHECK_PASS,
                           "used \(mib(used)) (rss \(mib(rss))), maxmemory \(maxmemory == 0 ? "unlimited" : mib(maxmemory)), host \(system == 0 ? "unknown" : mib(system)): room for the snapshot's fork",
                           detail: detail)
        } else {
            try report.add("memory", CAIRN_CHECK_WARN, problems.joined(separator: "; "), detail: detail)
        }
    }

    private func configCheck(_ client: RespClient, _ report: CheckReport) throws(RedisError) {
        var values: [String: String] = [:]
        for name in ["save", "appendonly", "dir", "repl-diskless-sync", "repl-diskless-sync-delay",
                     "repl-diskless-sync-max-replicas"] {
            switch try client.configGet(name) {
            case .value(let value): values[name] = value
            case .missing: break
            case .denied(let error):
                try report.add("config", CAIRN_CHECK_WARN,
                               "CONFIG GET is not allowed here (\(error)); managed Redis or a restricted ACL user: save/appendonly/dir unknown, carrying on (network RDB backups do not need CONFIG)")
                try modeCheck(report, config: nil)
                return
            }
        }
        let detail = "{" + values.sorted { $0.key < $1.key }.map { "\(JSONText.quote($0.key)):\(JSONText.quote($0.value))" }.joined(separator: ",") + "}"
        try report.add("config", CAIRN_CHECK_PASS,
                       "save '\(values["save"] ?? "?")', appendonly \(values["appendonly"] ?? "?"), dir \(values["dir"] ?? "?")",
                       detail: detail)
        try modeCheck(report, config: values)
    }

    /// What the configured type and mode need from the server.
    private func modeCheck(_ report: CheckReport, config: [String: String]?) throws(RedisError) {
        let type = settings.type
        if type.wantsRDB && settings.mode == .network && settings.method == .replication {
            if let diskless = config?["repl-diskless-sync"], diskless == "no", !settings.allowDiskSync {
                try report.add("rdb.sync", CAIRN_CHECK_FAIL, Self.diskSyncRefusal)
            } else {
                // The server waits the delay for more replicas to share the snapshot, unless
                // max-replicas (7.0+) of them already wait. We only say so: it is the server's setting.
                let delay = config?["repl-diskless-sync-delay"].flatMap { Int($0) } ?? 0
                let enough = (config?["repl-diskless-sync-max-replicas"].flatMap { Int($0) } ?? 0) >= 1
                let wait = delay > 0 && !enough
                    ? "; the server waits repl-diskless-sync-delay \(delay) s before sending (as for redis-cli --rdb); "
                        + "repl-diskless-sync-max-replicas 1 would start it at once when no other replica needs to join"
                    : ""
                try report.add("rdb.sync", CAIRN_CHECK_PASS, "RDB over the network (REPLCONF rdb-only + SYNC)" + wait)
            }
        }
        if type.wantsAOF || settings.mode == .disk {
            let dir = settings.dir ?? config?["dir"]
            guard let dir else {
                try report.add("local.dir", CAIRN_CHECK_FAIL,
                               "\(type.wantsAOF ? "AOF" : "disk-mode RDB") backups read the server's files, but its dir is unknown: set 'dir' to the local path of the server's data folder")
                return
            }
            if access(dir, R_OK | X_OK) == 0 {
                try report.add("local.dir", CAIRN_CHECK_PASS, "the server's dir \(dir) is readable here")
            } else {
                try report.add("local.dir", CAIRN_CHECK_FAIL,
                               "the server's dir \(dir) is not readable here (\(PluginError.describe(errno: errno))): AOF and disk-mode RDB need Cairn on the server's filesystem (set 'dir' if it is mounted elsewhere)")
            }
            if type.wantsAOF, let appendonly = config?["appendonly"], appendonly != "yes" {
                try report.add("aof.enabled", CAIRN_CHECK_FAIL, "type \(type.rawValue) needs the AOF, but the server runs with appendonly \(appendonly)")
            }
        }
    }

    static let diskSyncRefusal = "the server has repl-diskless-sync no: a network SYNC would make it write a fresh dump.rdb over its own before sending it. "
        + "Enable diskless sync (CONFIG SET repl-diskless-sync yes), use mode: disk, or set allow_disk_sync: true to accept that"

    // MARK: Backup

    func backup(options: String, sink: EntrySink) throws(RedisError) {
        var type = settings.type
        if let override = JSONText.option("type", in: options) {
            guard let value = BackupType(rawValue: override) else {
                throw RedisError(CAIRN_INVALID, "option 'type' must be rdb, aof or both, not '\(override)'")
            }
            type = value
        }
        let client = try connect()
        let server = try client.info("server")
        let replication = (try? client.info("replication")) ?? [:]
        let memory = (try? client.info("memory")) ?? [:]
        let keyspace = (try? client.info("keyspace")) ?? [:]
        try sink.fact("redis_version", json: JSONText.quote(server["redis_version"] ?? "unknown"))
        try sink.fact("role", json: JSONText.quote(replication["role"] ?? "unknown"))
        if let used = memory["used_memory"].flatMap({ UInt64($0) }) { try sink.fact("used_memory", json: String(used)) }
        try sink.fact("backup_type", json: JSONText.quote(type.rawValue))
        if settings.cluster {
            guard type == .rdb else {
                throw RedisError(CAIRN_UNSUPPORTED, "type \(type.rawValue) is not supported with 'cluster: true': a cluster backup holds each shard's RDB (type: rdb)")
            }
            try sink.fact("cluster", json: "true")
            try ClusterBackup(component: self).run(seed: client, sink: sink)
            return
        }
        try sink.fact("keys", json: Self.keyspaceJSON(keyspace))
        try sink.fact("source_address", json: JSONText.quote(settings.address))
        if let sentinel = settings.sentinel { try sink.fact("sentinel_master", json: JSONText.quote(sentinel.master)) }

        if type.wantsRDB {
            try sink.fact("rdb_mode", json: JSONText.quote(settings.mode.rawValue))
            if settings.method == .logical {
                try LogicalRDB(component: self).run(client: client, serverVersion: server["redis_version"] ?? "unknown", sink: sink)
            } else if settings.mode == .network {
                try NetworkRDB(component: self).run(client: client, sink: sink)
            } else {
                try DiskBackup(component: self, client: client).rdb(sink: sink)
            }
        }
        if type.wantsAOF {
            // A fresh connection: the replication stream closed the first one.
            try DiskBackup(component: self, client: try connect()).aof(sink: sink)
        }
        try reportFailover(sink: sink)
    }

    /// With Sentinel: a failover during the backup is reported (the snapshot is still whole: it
    /// is the old master's at the time it was taken).
    private func reportFailover(sink: EntrySink) throws(RedisError) {
        guard let sentinel = settings.sentinel, let node = resolved, node.role == .master else { return }
        guard let now = try? SentinelResolver(settings: settings, sentinel: sentinel, host: host).resolve() else { return }
        let moved = now.host != node.host || now.port != node.port
        try sink.fact("failover_during_backup", json: moved ? "true" : "false")
        if moved {
            host.log(CAIRN_LOG_WARNING, "'\(sentinel.master)' failed over during the backup: the snapshot is from \(Settings.address(node.host, node.port)), "
                     + "the master is now \(Settings.address(now.host, now.port)); writes accepted by the new master after the switch are not in it")
        }
    }

    /// The `keys` and `expires` counts of one INFO keyspace line (`keys=3,expires=0,avg_ttl=0`).
    static func counts(_ line: String) -> [(field: Substring, value: UInt64)] {
        line.split(separator: ",").compactMap { part in
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0] == "keys" || pair[0] == "expires", let n = UInt64(pair[1]) else { return nil }
            return (pair[0], n)
        }
    }

    /// The keys of every database in INFO keyspace (`db0:keys=3,expires=0,...`).
    static func keyCount(_ keyspace: [String: String]) -> UInt64 {
        keyspace.values.reduce(0) { sum, line in sum + (counts(line).first { $0.field == "keys" }?.value ?? 0) }
    }

    /// INFO keyspace as {"db0":{"keys":N,"expires":M},...}.
    static func keyspaceJSON(_ info: [String: String]) -> String {
        let dbs = info.keys.filter { $0.hasPrefix("db") }.sorted { (Int($0.dropFirst(2)) ?? 0) < (Int($1.dropFirst(2)) ?? 0) }
        return "{" + dbs.map { db in
            let fields = counts(info[db] ?? "").map { "\"\($0.field)\":\($0.value)" }
            return "\(JSONText.quote(db)):{\(fields.joined(separator: ","))}"
        }.joined(separator: ",") + "}"
    }
}

func mib(_ bytes: UInt64) -> String {
    let tenths = bytes / (1 << 20 / 10)
    return "\(tenths / 10).\(tenths % 10) MiB"
}
