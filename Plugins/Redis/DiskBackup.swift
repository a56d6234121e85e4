import CCairnPlugin
import CairnPluginSupport
import Glibc

/// Backups that read the server's own files: BGSAVE + dump.rdb, and the Redis 7 multi-part AOF.
/// Both need Cairn on the server's filesystem (the `dir` setting maps a different mount point).
struct DiskBackup {
    let component: RedisComponent
    let client: RespClient
    var host: PluginHost { component.host }
    var address: String { component.settings.address }

    func serverDir() throws(RedisError) -> String {
        if let dir = component.settings.dir { return dir }
        switch try client.configGet("dir") {
        case .value(let dir): return dir
        case .missing, .denied:
            throw RedisError(CAIRN_INVALID, "cannot learn the server's dir (CONFIG GET dir is not allowed at \(address)): set the 'dir' setting to the local path of its data folder")
        }
    }

    func config(_ name: String, default fallback: String) throws(RedisError) -> String {
        if case .value(let value) = try client.configGet(name) { return value }
        return fallback
    }

    private func persistence() throws(RedisError) -> [String: String] { try client.info("persistence") }

    /// Polls INFO persistence until `done` holds, checking cancellation; bounded by a generous deadline.
    private func wait(_ what: String, _ done: ([String: String]) throws(RedisError) -> Bool) throws(RedisError) {
        let deadline = now() + Int64(component.settings.readTimeout) * 60
        while true {
            try host.checkCancelled()
            if try done(try persistence()) { return }
            if now() > deadline { throw RedisError(CAIRN_IO, "gave up waiting for \(what) at \(address)") }
            usleep(100_000)
        }
    }

    // MARK: RDB via BGSAVE

    func rdb(sink: EntrySink) throws(RedisError) {
        let dir = try serverDir()
        let file = try config("dbfilename", default: "dump.rdb")
        let before = try persistence()
        let savesBefore = before["rdb_saves"].flatMap { Int64($0) }
        let timeBefore = before["rdb_last_save_time"].flatMap { Int64($0) } ?? 0
        var reply = try client.command(["BGSAVE"])
        if let error = reply.errorText {
            if error.contains("already in progress") {
                try wait("the running BGSAVE") { $0["rdb_bgsave_in_progress"] == "0" }
                reply = try client.command(["BGSAVE"])
            } else if error.contains("Another child process is active") {
                reply = try client.command(["BGSAVE", "SCHEDULE"])
            }
        }
        if let error = reply.errorText {
            throw client.serverError("BGSAVE", error.isEmpty || error == "ERR" ? "ERR (the fork failed? see the server log)" : error)
        }
        host.log(CAIRN_LOG_INFO, "BGSAVE started at \(address); waiting for rdb_saves to advance")
        try wait("BGSAVE") { info throws(RedisError) in
            guard info["rdb_bgsave_in_progress"] == "0" else { return false }
            // rdb_saves is 7.0+; before that only the 1-second rdb_last_save_time moves.
            let advanced = savesBefore.map { (info["rdb_saves"].flatMap { Int64($0) } ?? 0) > $0 }
                ?? ((info["rdb_last_save_time"].flatMap { Int64($0) } ?? 0) > timeBefore)
            guard advanced else { return false }
            if info["rdb_last_bgsave_status"] != "ok" {
                throw RedisError(CAIRN_IO, "BGSAVE failed at \(address) (rdb_last_bgsave_status:\(info["rdb_last_bgsave_status"] ?? "?")); see the server log, often a failed fork (memory overcommit)")
            }
            return true
        }
        var tail = CRCTail()
        try component.copyFile(dir + "/" + file, as: "dump.rdb", sink: sink) { tail.feed($0) }
        let version = try NetworkRDB.checkStreamed(tail, what: "\(dir)/\(file)", host: host)
        try sink.end()
        try sink.fact("rdb_version", json: String(version))
        try sink.fact("rdb_bytes", json: String(tail.count))
    }

    // MARK: AOF (Redis 7 multi-part)

    func aof(sink: EntrySink) throws(RedisError) {
        let appendonly = try config("appendonly", default: "?")
        guard appendonly == "yes" else {
            throw RedisError(CAIRN_INVALID, "type aof/both needs the AOF, but Redis at \(address) has appendonly \(appendonly) (CONFIG GET appendonly)")
        }
        let dir = try serverDir()
        let dirName = try config("appenddirname", default: "appendonlydir")
        let baseName = try config("appendfilename", default: "appendonly.aof")
        let old: String
        switch try client.configGet("auto-aof-rewrite-percentage") {
        case .value(let value): old = value
        case .missing: old = "100"
        case .denied(let error):
            throw RedisError(CAIRN_DENIED, "AOF backups pause automatic rewrites with CONFIG SET, which \(address) refuses: \(error); grant +config|get +config|set")
        }
        // A rewrite would swap the manifest and delete files mid-copy; pause it for the copy.
        let set = try client.command(["CONFIG", "SET", "auto-aof-rewrite-percentage", "0"])
        if let error = set.errorText { throw client.serverError("CONFIG SET auto-aof-rewrite-percentage 0", error) }
        var failure: RedisError?
        do throws(RedisError) {
            try wait("the running AOF rewrite") { $0["aof_rewrite_in_progress"] == "0" && $0["aof_rewrite_scheduled"] == "0" }
            try copyAOF(dir: dir, dirName: dirName, baseName: baseName, sink: sink)
        } catch {
            failure = error
        }
        // Restore the setting whatever happened; a failure here must not hide the copy's error.
        let restored = try? client.command(["CONFIG", "SET", "auto-aof-rewrite-percentage", old])
        if restored?.errorText != nil || restored == nil {
            host.log(CAIRN_LOG_ERROR, "could not restore auto-aof-rewrite-percentage to \(old) at \(address): set it by hand")
            if failure == nil {
                failure = RedisError(CAIRN_IO, "the AOF was copied but auto-aof-rewrite-percentage could not be restored to \(old) at \(address): set it by hand")
            }
        }
        if let failure { throw failure }
    }

    private func copyAOF(dir: String, dirName: String, baseName: String, sink: EntrySink) throws(RedisError) {
        let folder = dir + "/" + dirName
        let manifestName = baseName + ".manifest"
        let manifestPath = folder + "/" + manifestName
        let manifest = try readSmallFile(manifestPath)
        let files: [AOFManifest.Item]
        switch AOFManifest.parse(manifest) {
        case .success(let items): files = items
        case .failure(let problem): throw RedisError(CAIRN_CORRUPT, "\(manifestPath): \(problem.message)")
        }
        try sink.begin(dirName, directory: true, mode: 0o755, mtime: now(), size: 0)
        try sink.end()
        for item in files {
            var tail = CRCTail()
            try component.copyFile(folder + "/" + item.file, as: dirName + "/" + item.file, sink: sink) { tail.feed($0) }
            if item.type == "b" && item.file.hasSuffix(".rdb") {
                _ = try NetworkRDB.checkStreamed(tail, what: "AOF base \(item.file)", host: host)
            }
            try sink.end()
        }
        // The manifest as read before the copy: exactly the files above.
        try sink.file(dirName + "/" + manifestName, manifest, mode: 0o600, mtime: now())
        try sink.fact("aof_files", json: String(files.count))
        try sink.fact("aof_dir", json: JSONText.quote(dirName))
    }

    func readSmallFile(_ path: String) throws(RedisError) -> [UInt8] {
        var fd: Int32 = -1
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw RedisError(errno: errno, "cannot open the AOF manifest \(path)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw RedisError(errno: errno, "reading \(path)") }
            if n == 0 { return out }
            out += chunk[..<n]
            if out.count > 16 << 20 { throw RedisError(CAIRN_CORRUPT, "\(path) is larger than 16 MiB: not an AOF manifest") }
        }
    }
}

/// The Redis 7 AOF manifest: lines `file <name> seq <n> type <b|h|i>`.
enum AOFManifest {
    struct Item { var file: String; var seq: UInt64; var type: String }
    struct Problem: Error { var message: String }

    static func parse(_ bytes: [UInt8]) -> Result<[Item], Problem> {
        var items: [Item] = []
        var lineNumber = 0
        for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = String(decoding: line, as: UTF8.self).trimmingSuffix("\r")
            if text.isEmpty || text.hasPrefix("#") { continue }
            let words = text.split(separator: " ").map(String.init)
            var fields: [String: String] = [:]
            var index = 0
            while index + 1 < words.count { fields[words[index]] = words[index + 1]; index += 2 }
            guard words.count % 2 == 0, let file = fields["file"], let seqText = fields["seq"], let seq = UInt64(seqText),
                  let type = fields["type"], ["b", "h", "i"].contains(type) else {
                return .failure(Problem(message: "line \(lineNumber) is not 'file <name> seq <n> type <b|h|i>': '\(text.prefix(80))'"))
            }
            guard !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
                return .failure(Problem(message: "line \(lineNumber) names an unsafe file '\(file)'"))
            }
            items.append(Item(file: file, seq: seq, type: type))
        }
        if items.isEmpty { return .failure(Problem(message: "lists no files")) }
        if !items.contains(where: { $0.type == "b" }) && !items.contains(where: { $0.type == "i" }) {
            return .failure(Problem(message: "lists neither a base nor an incr file"))
        }
        return .success(items)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
