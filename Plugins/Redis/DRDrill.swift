import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A disaster-recovery drill: a throwaway redis-server on 127.0.0.1 (free port, temp dir,
/// appendonly no, no saves) loads the backup; we report keys per db and DEBUG DIGEST, then shut
/// it down without saving and remove everything.
struct DRDrill {
    let component: RedisComponent
    var host: PluginHost { component.host }

    func run(source: EntrySource, report: CheckReport) throws(RedisError) {
        var template = Array((host.tempDir + "/redis-drill-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw RedisError(errno: errno, "cannot create a temporary folder for the DR drill in \(host.tempDir)")
        }
        let dir = String(cString: made)
        defer { Files.removeTree(dir) }
        guard let local = LocalRedis.supportedRDBVersion() else {
            throw RedisError(CAIRN_NOT_FOUND, "the DR drill needs redis-server in PATH (apt-get install redis-server)")
        }
        let written = try Files.extract(source, into: dir, host: host, newest: local)
        if !written.shards.isEmpty { return try runCluster(written, dir: dir, local: local.version, report: report) }
        guard written.hasRDB || written.aofDir != nil else {
            throw RedisError(CAIRN_CORRUPT, "the backup holds neither dump.rdb nor an AOF directory: nothing to load")
        }
        // Redis 7 ignores dump.rdb when appendonly is on; an AOF-only backup loads from its dir.
        var extra: [String] = []
        if written.hasRDB {
            extra = ["--appendonly", "no"]
        } else if let aof = written.aofDir {
            extra = ["--appendonly", "yes", "--appenddirname", aof]
        }
        let loaded = try load(dir: dir, extra: extra)
        try report.add("drill", CAIRN_CHECK_PASS,
                       "DR drill: redis-server \(local.version) on 127.0.0.1:\(loaded.port) loaded the backup: \(Self.describe(loaded.keyspace)); DEBUG DIGEST \(loaded.digest)",
                       detail: "{\"keys\":\(RedisComponent.keyspaceJSON(loaded.keyspace)),\"digest\":\(JSONText.quote(loaded.digest)),\"redis_version\":\(JSONText.quote(local.version))}")
    }

    struct Loaded { var port: UInt16; var keyspace: [String: String]; var digest: String }

    /// A throwaway redis-server on `dir`'s dump.rdb (or AOF): what it holds once loaded.
    private func load(dir: String, extra: [String]) throws(RedisError) -> Loaded {
        let args = ["redis-server", "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", "dump.rdb",
                    "--save", "", "--daemonize", "no", "--logfile", dir + "/redis.log",
                    "--enable-debug-command", "local", "--protected-mode", "yes"] + extra
        var lastError = RedisError(CAIRN_IO, "the DR drill's redis-server did not start")
        for _ in 0 ..< 3 {  // a free port can be taken between the probe and the bind
            let port = try Self.freePort()
            let process = try Self.spawn(args + ["--port", String(port)])
            defer { Self.stop(process, port: port) }
            do throws(RedisError) {
                let client = try waitUntilLoaded(process: process, port: port, dir: dir)
                let keyspace = try client.info("keyspace")
                let digestReply = try client.command(["DEBUG", "DIGEST"])
                if let error = digestReply.errorText { throw client.serverError("DEBUG DIGEST", error) }
                return Loaded(port: port, keyspace: keyspace, digest: digestReply.text ?? "?")
            } catch {
                lastError = error
                if error.status != CAIRN_IO || error.message.contains("exited") { break }
            }
        }
        throw lastError
    }

    static func describe(_ keyspace: [String: String]) -> String {
        let dbs = keyspace.keys.filter { $0.hasPrefix("db") }.sorted().map { db in
            "\(db) \((keyspace[db] ?? "").split(separator: ",").first ?? "")"
        }
        return dbs.isEmpty ? "no keys" : dbs.joined(separator: ", ")
    }

    /// One throwaway server per shard, one after another; each shard's key count (and digest,
    /// where the backup recorded the source's) must match cluster.json.
    private func runCluster(_ written: Files.Written, dir: String, local: String, report: CheckReport) throws(RedisError) {
        let described = String(decoding: written.clusterJSON, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("{\"name\":") }
        var expected: [String: (keys: UInt64?, digest: String?)] = [:]
        for line in described {
            let text = String(line)
            guard let name = JSONText.option("name", in: text) else { continue }
            let digest = JSONText.option("digest", in: text).flatMap { $0 == "null" ? nil : $0 }
            expected[name] = (JSONText.option("keys", in: text).flatMap { UInt64($0) }, digest)
        }
        var total: UInt64 = 0
        var failures: [String] = []
        for name in written.shards.sorted() {
            try host.checkCancelled()
            let loaded = try load(dir: dir + "/shards/" + name, extra: ["--appendonly", "no"])
            let keys = RedisComponent.keyCount(loaded.keyspace)
            total += keys
            var problems: [String] = []
            let source = expected[name]
            if let want = source?.keys, want != keys { problems.append("\(keys) keys, the source had \(want)") }
            if let want = source?.digest, want != loaded.digest { problems.append("DEBUG DIGEST \(loaded.digest), the source's was \(want)") }
            if source == nil { problems.append("cluster.json does not describe it") }
            let summary = "shard \(name): \(keys) keys, DEBUG DIGEST \(loaded.digest)"
                + (source?.digest == nil ? " (the source's digest was not recorded)" : "")
            if problems.isEmpty {
                try report.add("drill.shard", CAIRN_CHECK_PASS, summary + (source?.digest != nil ? ", as the source's" : ""),
                               detail: "{\"shard\":\(JSONText.quote(name)),\"keys\":\(keys),\"digest\":\(JSONText.quote(loaded.digest))}")
            } else {
                failures.append(name)
                try report.add("drill.shard", CAIRN_CHECK_FAIL, "shard \(name): \(problems.joined(separator: "; "))",
                               detail: "{\"shard\":\(JSONText.quote(name)),\"keys\":\(keys),\"digest\":\(JSONText.quote(loaded.digest))}")
            }
        }
        try report.add("drill", failures.isEmpty ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL,
                       "DR drill: redis-server \(local) loaded \(written.shards.count) shards one by one: \(total) keys"
                           + (failures.isEmpty ? ", every shard as its source" : "; shards that differ: \(failures.joined(separator: ", "))"),
                       detail: "{\"keys\":{\"db0\":{\"keys\":\(total)}},\"shards\":\(written.shards.count),\"redis_version\":\(JSONText.quote(local))}")
    }

    private func waitUntilLoaded(process: pid_t, port: UInt16, dir: String) throws(RedisError) -> RespClient {
        let deadline = now() + Int64(max(component.settings.readTimeout, 30))
        while true {
            try host.checkCancelled()
            var status: Int32 = 0
            if waitpid(process, &status, WNOHANG) == process {
                throw RedisError(CAIRN_IO, "the DR drill's redis-server exited while loading the backup: \(Self.logTail(dir + "/redis.log"))")
            }
            if let client = try? RespClient(host: "127.0.0.1", port: port, address: "127.0.0.1:\(port)", connectTimeout: 2, readTimeout: 30),
               let reply = try? client.command(["PING"]) {
                if reply.text == "PONG" { return client }
                if let error = reply.errorText, !error.hasPrefix("LOADING") {
                    throw RedisError(CAIRN_IO, "the DR drill's redis-server answered PING with \(error)")
                }
            }
            if now() > deadline { throw RedisError(CAIRN_IO, "the DR drill's redis-server did not finish loading in time: \(Self.logTail(dir + "/redis.log"))") }
            usleep(50_000)
        }
    }

    // MARK: Processes

    static func freePort() throws(RedisError) -> UInt16 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw RedisError(errno: errno, "cannot open a socket to find a free port") }
        defer { close(s) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
        }
        guard bound else { throw RedisError(errno: errno, "cannot find a free port on 127.0.0.1") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func spawn(_ args: [String]) throws(RedisError) -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "redis-server", &actions, nil, &argv, environ)
        guard rc == 0 else { throw RedisError(errno: rc, "cannot start redis-server for the DR drill") }
        return pid
    }

    /// SHUTDOWN NOSAVE, then SIGKILL if it lingers; always reaps the child.
    static func stop(_ pid: pid_t, port: UInt16) {
        if let client = try? RespClient(host: "127.0.0.1", port: port, address: "127.0.0.1:\(port)", connectTimeout: 1, readTimeout: 5) {
            _ = try? client.command(["SHUTDOWN", "NOSAVE"])
        }
        var status: Int32 = 0
        for _ in 0 ..< 100 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    static func logTail(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "(no server log)" }
        defer { fclose(file) }
        var lines: [String] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            lines.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingSuffix("\n"))
            if lines.count > 3 { lines.removeFirst() }
        }
        return lines.isEmpty ? "(empty server log)" : lines.joined(separator: " | ")
    }
}
