import CCairnPlugin
import CairnPluginSupport
import Glibc

extension RedisComponent {
    /// Restore to a directory for a stopped server, or (option drill: true) a DR drill on a
    /// throwaway redis-server that loads the backup and reports what it holds. A target is always
    /// a folder, whatever its name.
    func restore(target: String, options: String, source: EntrySource, report: CheckReport) throws(RedisError) {
        if JSONText.option("drill", in: options) == "true" {
            return try DRDrill(component: self).run(source: source, report: report)
        }
        var st = stat()
        let exists = stat(target, &st) == 0
        if exists {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw RedisError(CAIRN_INVALID, "restore target \(target) exists and is not a directory") }
            guard try Files.isEmptyDirectory(target) else {
                throw RedisError(CAIRN_INVALID, "refusing to restore into \(target): the directory is not empty (a server's data dir must not be mixed with a restore)")
            }
        } else {
            try Files.makeDirectories(target)
        }
        let written: Files.Written
        do throws(RedisError) {
            // The target's server would refuse to start on an RDB it cannot read: refuse up front.
            written = try Files.extract(source, into: target, host: host, newest: LocalRedis.supportedRDBVersion())
        } catch {
            // The target was empty or new: what is in it now is ours and only half written.
            if exists { Files.removeContents(target) } else { Files.removeTree(target) }
            throw error
        }
        var what = written.hasRDB ? ["dump.rdb"] : []
        if let aof = written.aofDir { what.append(aof + "/") }
        if !written.shards.isEmpty {
            what = ["cluster.json", "\(written.shards.count) shard folders (shards/<id>_<slots>/dump.rdb)"]
            try report.add("restore.cluster", CAIRN_CHECK_PASS,
                           "one folder per shard under \(target)/shards: start one redis-server per folder (cluster-enabled, appendonly no) and assign each its slots, or load them as standalone servers: \(written.shards.sorted().joined(separator: ", "))")
        }
        try report.add("restore.files", CAIRN_CHECK_PASS, "wrote \(what.joined(separator: " and ")) (\(written.files) files, \(written.bytes) bytes) to \(target)")
        if written.hasRDB || !written.shards.isEmpty {
            try report.add("restore.appendonly", CAIRN_CHECK_WARN,
                           "start the server on this dir with appendonly no first: with appendonly yes and no AOF, Redis 7 creates an empty AOF and ignores dump.rdb. After it loaded, run CONFIG SET appendonly yes, then CONFIG REWRITE")
        }
    }
}

/// Facts about the local redis-server binary.
enum LocalRedis {
    /// The RDB version a Redis release writes (RDB_VERSION in src/rdb.h): 5.x/6.x 9, 7.0 10,
    /// 7.2 11, 7.4+ 12; nil when `version` is not "major.minor[.patch]".
    static func rdbVersion(forRedis version: String) -> Int? {
        let parts = version.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        switch (parts[0], parts[1]) {
        case (..<5, _): return 8
        case (5, _), (6, _): return 9
        case (7, 0): return 10
        case (7, 1), (7, 2), (7, 3): return 11
        default: return 12
        }
    }

    /// The newest RDB version the local redis-server loads, from its --version.
    static func supportedRDBVersion() -> (version: String, rdb: Int)? {
        guard let pipe = popen("redis-server --version 2>/dev/null", "r") else { return nil }
        var line = [CChar](repeating: 0, count: 512)
        let got = fgets(&line, Int32(line.count), pipe) != nil
        pclose(pipe)
        guard got else { return nil }
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let range = text.firstRange(of: "v=") else { return nil }
        let version = String(text[range.upperBound...].prefix(while: { $0 != " " && $0 != "\n" }))
        guard let rdb = rdbVersion(forRedis: version) else { return nil }
        return (version, rdb)
    }
}

/// File-system helpers for restores: safe paths, exclusive creates, recursive removal.
enum Files {
    struct Written {
        var files = 0; var bytes: Int64 = 0; var hasRDB = false; var aofDir: String?; var rdbVersion: Int?
        /// A cluster backup's shard folders (under shards/) and its cluster.json.
        var shards: [String] = []
        var clusterJSON: [UInt8] = []
    }

    static func isEmptyDirectory(_ path: String) throws(RedisError) -> Bool {
        guard let dir = opendir(path) else { throw RedisError(errno: errno, "cannot read directory \(path)") }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    static func makeDirectories(_ path: String) throws(RedisError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw RedisError(errno: errno, "cannot create directory \(current)")
            }
        }
    }

    /// A relative archive path with no '.', '..' or empty parts, or an error.
    static func safe(_ path: String) throws(RedisError) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw RedisError(CAIRN_CORRUPT, "the backup holds an unsafe path '\(path)'")
        }
        return path
    }

    /// The refusal for an RDB newer than the local redis-server loads.
    static func tooNew(_ version: Int, _ local: (version: String, rdb: Int)) -> RedisError {
        RedisError(CAIRN_UNSUPPORTED, "the backup's RDB version \(version) is newer than the local redis-server \(local.version) can load (up to RDB version \(local.rdb)); restore with a newer Redis")
    }

    /// Writes every entry under `root`, refusing on the spot what the plugin never writes
    /// (BackupContents) and an RDB that fails validation, which runs on the bytes as they are
    /// written; a stray AOF file is found once the manifest has been read. With `newest`, an RDB
    /// whose header names a newer version stops the extraction at its first chunk. The caller
    /// removes what was written when this throws.
    static func extract(_ source: EntrySource, into root: String, host: PluginHost, newest: (version: String, rdb: Int)? = nil) throws(RedisError) -> Written {
        var written = Written()
        var contents = BackupContents()
        var manifestBytes: [UInt8]?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while let entry = try source.next() {
            let relative = try safe(entry.path)
            if let why = contents.admit(relative, directory: entry.directory) {
                throw RedisError(CAIRN_CORRUPT, "refusing to restore into \(root): \(why); a Redis backup holds only dump.rdb and the AOF folder its manifest describes, or a cluster's cluster.json and shards/<id>_<slots>/dump.rdb")
            }
            let path = root + "/" + relative
            if entry.directory {
                if mkdir(path, 0o755) != 0 && errno != EEXIST { throw RedisError(errno: errno, "cannot create \(path)") }
                continue
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(entry.mode & 0o777 | 0o600))
            guard fd >= 0 else { throw RedisError(errno: errno, "cannot create \(path)") }
            defer { close(fd) }
            let isRDB = relative.hasSuffix(".rdb")
            let isManifest = relative == contents.manifest || relative == "cluster.json"
            var tail = CRCTail()
            var captured: [UInt8] = []
            var bytes: Int64 = 0
            // Each chunk is written as it is read; the validator reads through this.
            let copy: RDBValidator.ReadChunk = { raw throws(RedisError) in
                try host.checkCancelled()
                let n = try source.read(raw)
                guard n > 0 else { return 0 }
                let data = UnsafeRawBufferPointer(rebasing: raw[..<n])
                if isRDB {
                    tail.feed(data)
                    if let newest, let version = tail.rdbVersion, version > newest.rdb { throw tooNew(version, newest) }
                }
                if isManifest {
                    captured += data
                    if captured.count > 16 << 20 { throw RedisError(CAIRN_CORRUPT, "\(relative) is larger than 16 MiB: not an AOF manifest") }
                }
                let code = writeAll(fd, data)
                if code != 0 { throw RedisError(errno: code, "writing \(path)") }
                bytes += Int64(n)
                return n
            }
            if isRDB {
                let result = try RDBValidator.validate(relative, read: copy)
                if let failed = result.findings.first(where: { $0.status == CAIRN_CHECK_FAIL }) {
                    throw RedisError(CAIRN_CORRUPT, "refusing to restore into \(root): \(failed.message)")
                }
            } else {
                while try copy(buffer) > 0 {}
            }
            guard fsync(fd) == 0 else { throw RedisError(errno: errno, "flushing \(path)") }
            written.files += 1
            written.bytes += bytes
            if relative == "cluster.json" { written.clusterJSON = captured }
            else if isManifest { manifestBytes = captured }
            if relative.hasPrefix("shards/"), relative.hasSuffix("/dump.rdb") {
                written.shards.append(String(relative.split(separator: "/")[1]))
                written.rdbVersion = max(written.rdbVersion ?? 0, tail.rdbVersion ?? 0)
            }
            if relative == "dump.rdb" { written.hasRDB = true; written.rdbVersion = tail.rdbVersion }
            else if written.rdbVersion == nil, relative.hasSuffix(".base.rdb") { written.rdbVersion = tail.rdbVersion }
        }
        var items: [AOFManifest.Item]?
        if let manifest = contents.manifest, let bytes = manifestBytes {
            switch AOFManifest.parse(bytes) {
            case .success(let parsed): items = parsed
            case .failure(let problem): throw RedisError(CAIRN_CORRUPT, "refusing to restore into \(root): \(manifest): \(problem.message)")
            }
            let missing = (items ?? []).map(\.file).filter { !contents.aofFiles.contains($0) }
            if !missing.isEmpty {
                throw RedisError(CAIRN_CORRUPT, "refusing to restore into \(root): \(manifest) lists files the backup does not hold: \(BackupContents.sample(missing))")
            }
        }
        if let problem = contents.problem(listed: items) {
            throw RedisError(CAIRN_CORRUPT, "refusing to restore into \(root): \(problem)")
        }
        written.aofDir = contents.manifest == nil ? nil : contents.aofDir
        return written
    }

    /// Empties a directory, keeping the directory itself (its owner and mode are the operator's).
    static func removeContents(_ path: String) {
        for name in entryNames(path) { removeTree(path + "/" + name) }
    }

    /// rm -rf without following symlinks.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            removeContents(path)
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// The names in a directory, without "." and "..".
    private static func entryNames(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
