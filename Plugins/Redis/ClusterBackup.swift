import CCairnPlugin
import CairnPluginSupport
import Glibc

/// Backs up every shard of a Redis Cluster at once: one thread per shard takes its snapshot over
/// the replication protocol (from the master, or with `prefer: replica` a healthy replica). The
/// first shard streams straight into the archive; the others spool to temporary files while it
/// does, and follow it. The archive holds `shards/<id>_<slots>/dump.rdb` per shard and
/// `cluster.json` (topology, epochs, per-shard key counts and digests), written last.
struct ClusterBackup {
    let component: RedisComponent
    var host: PluginHost { component.host }
    var settings: Settings { component.settings }

    /// One shard's snapshot, run on its own thread; touches neither the host nor the sink.
    final class Job: @unchecked Sendable {
        let shard: ClusterTopology.Shard
        let node: ClusterTopology.Node
        let settings: Settings
        let spool: String?
        var output: NetworkRDB.Output?
        var result: NetworkRDB.Result?
        var keys = "{}"
        var keyCount: UInt64 = 0
        var digest: String?
        var error: RedisError?
        var thread = pthread_t()
        static let digestLimit: UInt64 = 100_000

        init(shard: ClusterTopology.Shard, node: ClusterTopology.Node, settings: Settings, spool: String?) {
            self.shard = shard
            self.node = node
            self.settings = settings
            self.spool = spool
        }

        func run() {
            var fd: Int32 = -1
            defer { if fd >= 0 { close(fd) } }
            do throws(RedisError) {
                var nodeSettings = settings
                nodeSettings.host = node.host
                nodeSettings.port = node.port
                let client = try RespClient.connect(nodeSettings, host: node.host, port: node.port)
                let keyspace = (try? client.info("keyspace")) ?? [:]
                keys = RedisComponent.keyspaceJSON(keyspace)
                keyCount = RedisComponent.keyCount(keyspace)
                // The digest of a quiet shard: what a drill of its snapshot must give. DEBUG DIGEST
                // walks every key and blocks the server meanwhile: only for small shards.
                if keyCount <= Self.digestLimit {
                    let reply = try client.command(["DEBUG", "DIGEST"])
                    if reply.errorText == nil { digest = reply.text }
                }
                var out = output
                if let spool {
                    fd = open(spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    guard fd >= 0 else { throw RedisError(errno: errno, "cannot create the spool file \(spool)") }
                    let target = fd
                    out = NetworkRDB.Output(begin: { _ in }, write: { data throws(RedisError) in
                        let code = writeAll(target, data)
                        if code != 0 { throw RedisError(errno: code, "writing the spool file \(spool)") }
                    }, end: {})
                }
                guard let out else { throw RedisError(CAIRN_ERROR, "no output for shard \(shard.name)") }
                result = try NetworkRDB(settings: nodeSettings, host: nil).fetch(client: client, into: out)
            } catch {
                self.error = error
            }
        }
    }

    func run(seed: RespClient, sink: EntrySink) throws(RedisError) {
        guard settings.method == .replication else {
            throw RedisError(CAIRN_UNSUPPORTED, "'method: logical' is not supported with 'cluster: true': back up each shard's master as its own component")
        }
        let topology = try ClusterTopology.discover(seed)
        if let problem = ClusterTopology.coverageProblem(topology.shards.flatMap(\.slots)) {
            throw RedisError(CAIRN_IO, "the cluster seen from \(seed.address) is not whole (\(problem)): refusing a backup that would miss data; retry once CLUSTER SHARDS shows every slot served")
        }
        var template = Array((host.tempDir + "/redis-cluster-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw RedisError(errno: errno, "cannot create a spool folder in \(host.tempDir)")
        }
        let spoolDir = String(cString: made)
        defer { Files.removeTree(spoolDir) }

        var jobs: [Job] = []
        for (index, shard) in topology.shards.enumerated() {
            let node = try choose(shard)
            host.log(CAIRN_LOG_INFO, "shard \(shard.name): snapshot from \(node.address) (\(node.role.rawValue))")
            // With allow_partial every shard spools, so any of them can be left out afterwards.
            let streamed = index == 0 && !settings.allowPartial
            jobs.append(Job(shard: shard, node: node, settings: settings, spool: streamed ? nil : spoolDir + "/\(index).rdb"))
        }
        try sink.begin("shards", directory: true, mode: 0o755, mtime: now(), size: 0)
        try sink.end()
        // The first shard writes into the archive from its thread while this one waits: the
        // sink is used by one thread at a time, and this thread makes no host call meanwhile.
        let first = jobs[0]
        if first.spool == nil {
            try sink.begin("shards/\(first.shard.name)", directory: true, mode: 0o755, mtime: now(), size: 0)
            try sink.end()
            try sink.begin("shards/\(first.shard.name)/dump.rdb", mtime: now(), size: CAIRN_SIZE_UNKNOWN)
            first.output = NetworkRDB.Output(begin: { _ in }, write: { data throws(RedisError) in try sink.write(data) }, end: {})
        }
        for job in jobs { try start(job) }
        for job in jobs { pthread_join(job.thread, nil) }
        try host.checkCancelled()

        let failed = jobs.filter { $0.error != nil }
        let list = failed.map { "shard \($0.shard.name) at \($0.node.address): \($0.error?.message ?? "?")" }
        let summary = "\(failed.count) of \(jobs.count) cluster shards failed: \(list.joined(separator: "; "))"
        if !failed.isEmpty && (!settings.allowPartial || failed.count == jobs.count) {
            throw RedisError(failed[0].error?.status ?? CAIRN_IO, summary)
        }
        if first.spool == nil { try sink.end() }
        for job in jobs where job.error == nil {
            guard let spool = job.spool else { continue }
            try sink.begin("shards/\(job.shard.name)", directory: true, mode: 0o755, mtime: now(), size: 0)
            try sink.end()
            try component.copyFile(spool, as: "shards/\(job.shard.name)/dump.rdb", sink: sink)
            try sink.end()
        }
        let json = Self.describe(topology, jobs)
        try sink.file("cluster.json", Array(json.utf8), mtime: now())
        if !failed.isEmpty {
            // allow_partial: the archive holds the other shards; the host ends the step as partial.
            try sink.fact("partial", json: JSONText.quote(summary))
            host.log(CAIRN_LOG_WARNING, "partial cluster backup (allow_partial): " + summary)
        }

        let total = jobs.filter { $0.error == nil }.reduce(UInt64(0)) { $0 + $1.keyCount }
        try sink.fact("keys", json: "{\"db0\":{\"keys\":\(total)}}")
        try sink.fact("cluster_shards", json: String(jobs.count - failed.count))
        try sink.fact("cluster_topology_source", json: JSONText.quote(topology.source))
        if let epoch = topology.currentEpoch { try sink.fact("cluster_current_epoch", json: String(epoch)) }
        try sink.fact("rdb_version", json: String(jobs.compactMap { $0.result?.version }.max() ?? 0))
        try sink.fact("rdb_bytes", json: String(jobs.reduce(UInt64(0)) { $0 + ($1.result?.bytes ?? 0) }))
        host.log(CAIRN_LOG_INFO, "cluster backup: \(jobs.count) shards, \(total) keys")
    }

    /// The shard's master, or with `prefer: replica` its healthy replica with the highest offset.
    private func choose(_ shard: ClusterTopology.Shard) throws(RedisError) -> ClusterTopology.Node {
        if settings.prefer == .replica {
            // The cluster's view lags (a replica's offset arrives by gossip): ask the replica itself.
            let replicas = shard.nodes.filter { $0.role == .replica && $0.healthy }.sorted { $0.offset > $1.offset }
            var rejected = shard.nodes.filter { $0.role == .replica && !$0.healthy }.map { "\($0.address) failing (\($0.flags))" }
            for replica in replicas {
                guard let client = try? RespClient.connect(settings, host: replica.host, port: replica.port),
                      let info = try? client.info("replication") else { rejected.append("\(replica.address) unreachable"); continue }
                if info["master_link_status"] == "up" && info["master_sync_in_progress"] != "1" { return replica }
                rejected.append("\(replica.address) link \(info["master_link_status"] ?? "?")")
            }
            host.log(CAIRN_LOG_WARNING, "shard \(shard.name) has no healthy replica (\(rejected.isEmpty ? "none known: \(shard.nodes.map { "\($0.address) \($0.role.rawValue)" }.joined(separator: ", "))" : rejected.joined(separator: ", "))): its snapshot comes from the master")
        }
        guard let master = shard.master else {
            throw RedisError(CAIRN_IO, "shard \(shard.name) has no master in the topology")
        }
        return master
    }

    private func start(_ job: Job) throws(RedisError) {
        let box = Unmanaged.passRetained(job).toOpaque()
        let rc = pthread_create(&job.thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Job>.fromOpaque(box).release()
            throw RedisError(errno: rc, "cannot start a thread for shard \(job.shard.name)")
        }
    }

    /// cluster.json: one shard per line, so the drill can read it without a JSON library.
    static func describe(_ topology: ClusterTopology, _ jobs: [Job]) -> String {
        var lines: [String] = []
        for job in jobs where job.error == nil {
            let slots = job.shard.slots.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",")
            let nodes = job.shard.nodes.map { node in
                "{\"id\":\(JSONText.quote(node.id)),\"address\":\(JSONText.quote(node.address)),\"role\":\(JSONText.quote(node.role.rawValue)),"
                    + "\"flags\":\(JSONText.quote(node.flags)),\"config_epoch\":\(node.configEpoch.map(String.init) ?? "null")}"
            }.joined(separator: ",")
            lines.append("{\"name\":\(JSONText.quote(job.shard.name)),\"id\":\(JSONText.quote(job.shard.id)),\"slots\":[\(slots)],"
                         + "\"source\":\(JSONText.quote(job.node.address)),\"source_role\":\(JSONText.quote(job.node.role.rawValue)),"
                         + "\"keys\":\(job.keyCount),\"keyspace\":\(job.keys),\"digest\":\(job.digest.map(JSONText.quote) ?? "null"),"
                         + "\"rdb_version\":\(job.result?.version ?? 0),\"rdb_bytes\":\(job.result?.bytes ?? 0),\"nodes\":[\(nodes)]}")
        }
        // Shards left out (allow_partial): verify accepts their slots as missing, and only theirs.
        let failed = jobs.filter { $0.error != nil }.map { job in
            "{\"failed\":\(JSONText.quote(job.shard.name)),\"source\":\(JSONText.quote(job.node.address)),\"error\":\(JSONText.quote(job.error?.message ?? "?"))}"
        }
        return "{\"format\":1,\"source\":\(JSONText.quote(topology.source)),\"current_epoch\":\(topology.currentEpoch.map(String.init) ?? "null"),\"shards\":[\n"
            + lines.joined(separator: ",\n") + "\n],\"failed\":[\n" + failed.joined(separator: ",\n") + "\n]}\n"
    }
}
