import CCairnPlugin
import CairnPluginSupport
import Glibc

extension WeaviateComponent {
    /// Restores a stored backup into the Weaviate it came from (or one with the same node names):
    /// refuses collections that already exist, puts the backup folder back where the filesystem
    /// backend reads it (or checks the bucket still holds the objects), then drives
    /// POST /v1/backups/<backend>/<id>/restore to its end.
    func restore(source: EntrySource, report: CheckReport) throws(WeaviateError) {
        let metadata = source.metadata.flatMap { JSON.parse($0) } ?? .null
        let id = metadata["backup_id"]?.string ?? ""
        guard Self.validID(id) else { throw WeaviateError(CAIRN_CORRUPT, "the backup's metadata names no valid Weaviate backup id ('\(id)')") }
        let recordedBackend = metadata["source"]?["backend"]?.string ?? "filesystem"
        guard recordedBackend == settings.backend.rawValue else {
            throw WeaviateError(CAIRN_INVALID, "backup \(id) was made with Weaviate's \(recordedBackend) backend, but this component uses backend \(settings.backend.rawValue): set backend: \(recordedBackend) to restore it")
        }
        try requireReady()
        let (version, module) = try meta()
        let cluster = Cluster(version: version, module: module, nodes: [], classes: [], objectCounts: [:])
        if let problem = moduleProblem(cluster) { throw WeaviateError(CAIRN_INVALID, problem) }

        // Weaviate never overwrites a collection, and may say so only at the end of the restore.
        let recorded = metadata["source"]?["backup_classes"]?.strings ?? []
        let wanted = recorded.filter(selected)
        let existing = try schemaClasses().filter(wanted.contains)
        if !existing.isEmpty {
            throw WeaviateError(CAIRN_INVALID, Self.existingMessage(id, existing))
        }

        if settings.backend == .filesystem {
            let root = try localBackupsPath(cluster)
            if let problem = pathProblem(root, cluster) { throw WeaviateError(CAIRN_INVALID, problem) }
            try placeFolder(root: root, id: id, source: source, report: report)
        } else {
            let stored = try readStored(source)
            try requireComplete(stored)
            let bucket = try BucketObjects(host: host, module: module, root: stored.facts["bucket_objects"]?["root"]?.string)
            guard try bucket.check(stored, report: report) else {
                throw WeaviateError(CAIRN_NOT_FOUND, "the bucket no longer holds every object of backup \(id) (see s3.objects): Weaviate cannot restore it")
            }
        }

        var request: [String: JSON] = ["config": .object(["CPUPercentage": .number(Double(settings.cpuPercentage))])]
        if !settings.include.isEmpty { request["include"] = .array(settings.include.map(JSON.string)) }
        if !settings.exclude.isEmpty { request["exclude"] = .array(settings.exclude.map(JSON.string)) }
        let path = backupsEndpoint + "/" + id + "/restore"
        let reply = try api.send("POST", path, body: .object(request))
        guard reply.status == 200 else {
            let message = WeaviateAPI.serverMessage(reply)
            if reply.status == 404 {
                throw WeaviateError(CAIRN_NOT_FOUND, "Weaviate does not find backup \(id) (404: \(message)): "
                    + (settings.backend == .filesystem ? "backups_path must be the folder Weaviate reads as BACKUP_FILESYSTEM_PATH (it reports \(module?["backupsPath"]?.string ?? "none"))" : "check BACKUP_S3_BUCKET and BACKUP_S3_PATH"))
            }
            if reply.status == 422 {
                throw WeaviateError(CAIRN_INVALID, "Weaviate refused to restore \(id) (422): \(message)")
            }
            throw api.failure(reply, "POST", path)
        }
        let started = reply.json ?? .null
        var polling = Polling(component: self, statusPath: path, what: "restore of \(id)")
        do throws(WeaviateError) {
            _ = try polling.wait(initialStatus: started["status"]?.string ?? "STARTED")
        } catch where error.message.contains("already exists") {
            // The schema check above raced with someone creating a collection, or include used wildcards.
            let clash = (try? schemaClasses().filter(wanted.contains)) ?? []
            throw WeaviateError(CAIRN_INVALID, error.message + ". " + (clash.isEmpty
                ? "A restore never overwrites a collection: delete the one Weaviate names, or leave it out with exclude"
                : Self.existingMessage(id, clash)))
        }
        let classes = started["classes"]?.strings ?? wanted
        try report.add("weaviate.restore", CAIRN_CHECK_PASS,
                       "Weaviate restored backup \(id): \(classes.joined(separator: ", ")) (\(polling.timeline.compactMap { $0["status"]?.string }.joined(separator: " → ")))",
                       detail: JSON.object(["classes": .array(classes.map(JSON.string)), "status_timeline": polling.timelineJSON]).text)
    }

    /// Weaviate is never asked to restore a backup whose descriptors say it is incomplete.
    private func requireComplete(_ stored: StoredBackup) throws(WeaviateError) {
        let problems = stored.layout.problems(id: stored.id)
        guard problems.isEmpty else {
            throw WeaviateError(CAIRN_CORRUPT, "the stored backup \(stored.id) is incomplete: \(problems.joined(separator: "; "))")
        }
    }

    static func existingMessage(_ id: String, _ existing: [String]) -> String {
        "cannot restore \(id): \(existing.count == 1 ? "collection" : "collections") \(existing.joined(separator: ", ")) already \(existing.count == 1 ? "exists" : "exist") in Weaviate, and a restore never overwrites one. Delete \(existing.count == 1 ? "it" : "them") first, or leave \(existing.count == 1 ? "it" : "them") out with exclude: [\(existing.joined(separator: ", "))]"
    }

    /// Whether include/exclude (with Weaviate's '*' wildcards) select collection `name`.
    func selected(_ name: String) -> Bool {
        func matches(_ pattern: String) -> Bool { fnmatch(pattern, name, 0) == 0 }
        if !settings.include.isEmpty { return settings.include.contains(where: matches) }
        return !settings.exclude.contains(where: matches)
    }

    /// Writes the archive's folder to <root>/<id>: into a hidden folder first, renamed when
    /// complete, so Weaviate never sees half a backup. A folder already there (the one Weaviate
    /// wrote at backup time) is used only if it holds the same bytes.
    private func placeFolder(root: String, id: String, source: EntrySource, report: CheckReport) throws(WeaviateError) {
        let final = root + "/" + id
        if LocalFolder.exists(final) {
            let stored = try readStored(source) { entry, bytes throws(WeaviateError) in
                try Self.compare(entry, bytes: bytes, source: source, in: final)
            }
            try requireComplete(stored)
            try report.add("restore.files", CAIRN_CHECK_PASS, "\(final) already holds this backup, byte for byte")
            return
        }
        let partial = root + "/.\(id).cairn-partial"
        LocalFolder.removeTree(partial)
        do throws(WeaviateError) {
            try LocalFolder.makeDirectory(partial)
            var files = 0
            var bytes: Int64 = 0
            let stored = try readStored(source) { entry, data throws(WeaviateError) in
                bytes += try Self.write(entry, bytes: data, source: source, into: partial, host: self.host)
                if !entry.directory { files += 1 }
            }
            try requireComplete(stored)
            guard rename(partial, final) == 0 else { throw WeaviateError(errno: errno, "cannot rename \(partial) to \(final)") }
            try report.add("restore.files", CAIRN_CHECK_PASS, "wrote \(files) files (\(bytes) bytes) to \(final)")
        } catch {
            LocalFolder.removeTree(partial)
            throw error
        }
    }

    private static func write(_ entry: EntrySource.Entry, bytes: [UInt8]?, source: EntrySource, into root: String, host: PluginHost) throws(WeaviateError) -> Int64 {
        let path = root + "/" + (try LocalFolder.safe(entry.path))
        if entry.directory {
            try LocalFolder.makeDirectory(path)
            return 0
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(entry.mode & 0o777 | 0o600))
        guard fd >= 0 else { throw WeaviateError(errno: errno, "cannot create \(path)") }
        defer { close(fd) }
        var written: Int64 = 0
        func put(_ data: UnsafeRawBufferPointer) throws(WeaviateError) {
            let code = writeAll(fd, data)
            if code != 0 { throw WeaviateError(errno: code, "writing \(path)") }
            written += Int64(data.count)
        }
        if let bytes {
            try withBytes(bytes) { raw throws(WeaviateError) in if raw.count > 0 { try put(raw) } }
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                if host.isCancelled { throw WeaviateError(CAIRN_CANCELLED, "cancelled while writing \(path)") }
                let n = try source.read(buffer)
                if n == 0 { break }
                try put(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            }
        }
        guard fsync(fd) == 0 else { throw WeaviateError(errno: errno, "flushing \(path)") }
        return written
    }

    /// Refuses a file in an existing folder that differs from the archive's.
    private static func compare(_ entry: EntrySource.Entry, bytes: [UInt8]?, source: EntrySource, in root: String) throws(WeaviateError) {
        let path = root + "/" + (try LocalFolder.safe(entry.path))
        let differs = WeaviateError(CAIRN_INVALID, "\(root) already exists and differs from the stored backup (\(entry.path)): move it out of the way and restore again")
        if entry.directory {
            guard LocalFolder.exists(path) else { throw differs }
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw differs }
        defer { close(fd) }
        var pending = bytes ?? []
        var local = [UInt8](repeating: 0, count: 256 * 1024)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            if bytes == nil {
                let n = try source.read(buffer)
                pending = Array(buffer[..<n])
            }
            var offset = 0
            while offset < pending.count {
                let n = read(fd, &local, min(local.count, pending.count - offset))
                guard n > 0, local[..<n].elementsEqual(pending[offset ..< offset + n]) else { throw differs }
                offset += n
            }
            if pending.isEmpty || bytes != nil { break }
        }
        // Nothing may follow in the local file.
        guard read(fd, &local, 1) == 0 else { throw differs }
    }
}
