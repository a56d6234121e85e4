import CCairnPlugin
import CairnPluginSupport
import Glibc

extension RedisComponent {
    /// Validates a stored backup: it holds only what the plugin writes (BackupContents), every RDB
    /// (dump.rdb and AOF base files) passes the walk and CRC64, and the AOF manifest agrees with
    /// the files the archive holds.
    func verify(source: EntrySource, report: CheckReport) throws(RedisError) {
        var contents = BackupContents()
        var foreign: [String] = []
        var foreignCount = 0
        var manifestBytes: [UInt8]?
        var clusterBytes: [UInt8] = []
        while let entry = try source.next() {
            try host.checkCancelled()
            if let why = contents.admit(entry.path, directory: entry.directory) {
                // Counted, not kept: memory stays small whatever the archive holds.
                foreignCount += 1
                if foreign.count < 5 { foreign.append(why) }
                continue
            }
            if entry.directory { continue }
            if entry.path.hasSuffix(".rdb") {
                let result = try RDBValidator.validate(entry.path) { buffer throws(RedisError) in try source.read(buffer) }
                let prefix = entry.path == "dump.rdb" ? "" : entry.path.hasPrefix("shards/")
                    ? "shard." + entry.path.split(separator: "/")[1].prefix(while: { $0 != "_" }).prefix(8) + "." : "aof.base."
                for finding in result.findings {
                    var finding = finding
                    finding.name = prefix + finding.name
                    try report.add(finding)
                }
            } else if entry.path == contents.manifest {
                manifestBytes = try source.readAll(limit: 16 << 20, what: entry.path)
            } else if entry.path == "cluster.json" {
                clusterBytes = try source.readAll(limit: 16 << 20, what: entry.path)
            }
        }
        if foreignCount > 0 {
            try report.add("redis.contents", CAIRN_CHECK_FAIL,
                           "the backup holds \(foreignCount) \(foreignCount == 1 ? "entry" : "entries") the Redis plugin never writes, which restore refuses: "
                           + BackupContents.sample(foreign, total: foreignCount))
        }
        var items: [AOFManifest.Item]?
        if let manifest = contents.manifest, let bytes = manifestBytes {
            let folder = contents.aofDir ?? ""
            switch AOFManifest.parse(bytes) {
            case .failure(let problem):
                try report.add("aof.manifest", CAIRN_CHECK_FAIL, "\(manifest): \(problem.message)")
            case .success(let parsed):
                items = parsed
                let missing = parsed.map(\.file).filter { !contents.aofFiles.contains($0) }.map { folder + "/" + $0 }
                if missing.isEmpty {
                    try report.add("aof.manifest", CAIRN_CHECK_PASS,
                                   "\(manifest) lists \(parsed.count) files, all in the backup",
                                   detail: "{\"files\":[\(parsed.map { JSONText.quote($0.file) }.joined(separator: ","))]}")
                } else {
                    try report.add("aof.manifest", CAIRN_CHECK_FAIL,
                                   "\(manifest) lists files the backup does not hold: \(missing.joined(separator: ", "))")
                }
            }
        }
        if let problem = contents.problem(listed: items) {
            try report.add("redis.contents", CAIRN_CHECK_FAIL, problem)
        }
        if contents.isCluster {
            let names = contents.shardRDBs.sorted()
            let ranges = names.flatMap { ClusterTopology.ranges(inName: $0) ?? [] }
            // Shards a partial backup (allow_partial) left out, as cluster.json lists them.
            let failed = String(decoding: clusterBytes, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("{\"failed\":") }.compactMap { JSONText.option("failed", in: String($0)) }
            let failedRanges = failed.flatMap { ClusterTopology.ranges(inName: $0) ?? [] }
            if !failed.isEmpty, ClusterTopology.coverageProblem(ranges + failedRanges) == nil {
                try report.add("cluster.slots", CAIRN_CHECK_WARN,
                               "a partial backup: \(names.count) shards' RDBs; the slots of \(failed.count) shard\(failed.count == 1 ? "" : "s") that failed are not in it (\(failed.joined(separator: ", ")))")
            } else if let problem = ClusterTopology.coverageProblem(ranges) {
                try report.add("cluster.slots", CAIRN_CHECK_FAIL, "the \(names.count) shards' RDBs do not cover the cluster: \(problem)")
            } else {
                try report.add("cluster.slots", CAIRN_CHECK_PASS, "\(names.count) shards' RDBs cover slots 0-16383 exactly once",
                               detail: "{\"shards\":[\(names.map(JSONText.quote).joined(separator: ","))]}")
            }
        }
    }
}
