import CCairnPlugin
import CairnPluginSupport
import Glibc

extension RedisComponent {
    /// Validates a stored backup: every RDB (dump.rdb and AOF base files) by walk and CRC64, and
    /// the AOF manifest against the files the archive holds.
    func verify(source: EntrySource, report: CheckReport) throws(RedisError) {
        var names: Set<String> = []
        var manifests: [(path: String, bytes: [UInt8])] = []
        var sawRDB = false
        while let entry = try source.next() {
            names.insert(entry.path)
            if entry.directory { continue }
            try host.checkCancelled()
            if entry.path.hasSuffix(".rdb") {
                let result = try RDBValidator.validate(entry.path) { buffer throws(RedisError) in try source.read(buffer) }
                let prefix = entry.path == "dump.rdb" ? "" : "aof.base."
                for finding in result.findings {
                    var finding = finding
                    finding.name = prefix + finding.name
                    try report.add(finding)
                }
                if entry.path == "dump.rdb" { sawRDB = true }
            } else if entry.path.hasSuffix(".manifest") {
                manifests.append((entry.path, try source.readAll(limit: 16 << 20, what: entry.path)))
            }
        }
        for manifest in manifests {
            let folder = manifest.path.split(separator: "/").dropLast().joined(separator: "/")
            switch AOFManifest.parse(manifest.bytes) {
            case .failure(let problem):
                try report.add("aof.manifest", CAIRN_CHECK_FAIL, "\(manifest.path): \(problem.message)")
            case .success(let items):
                let missing = items.map { folder.isEmpty ? $0.file : folder + "/" + $0.file }.filter { !names.contains($0) }
                if missing.isEmpty {
                    try report.add("aof.manifest", CAIRN_CHECK_PASS,
                                   "\(manifest.path) lists \(items.count) files, all in the backup",
                                   detail: "{\"files\":[\(items.map { JSONText.quote($0.file) }.joined(separator: ","))]}")
                } else {
                    try report.add("aof.manifest", CAIRN_CHECK_FAIL,
                                   "\(manifest.path) lists files the backup does not hold: \(missing.joined(separator: ", "))")
                }
            }
        }
        if !sawRDB && manifests.isEmpty {
            try report.add("redis.contents", CAIRN_CHECK_FAIL, "the backup holds neither dump.rdb nor an AOF manifest")
        }
    }
}
