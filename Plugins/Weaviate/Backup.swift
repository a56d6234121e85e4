import CCairnPlugin
import CairnPluginSupport
import Glibc

extension WeaviateComponent {
    /// Weaviate's rule for backup ids (usecases/backup/handler.go).
    static func validID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    var backupsEndpoint: String { "/backups/" + settings.backend.rawValue }

    /// Runs a Weaviate backup under Cairn's backup id and archives what it wrote: the folder
    /// (filesystem backend) or the descriptors and an object listing (s3 backend).
    func backup(id: String, component: String, sink: EntrySink) throws(WeaviateError) {
        guard Self.validID(id) else {
            throw WeaviateError(CAIRN_INVALID, "backup id '\(id)' is not a valid Weaviate backup id (lowercase letters, digits, '_' and '-' only): give the component a lowercase name")
        }
        // The pre-checks ran already in a pipeline, but `cairn backup` must stand alone: a backup
        // that cannot succeed is refused before Weaviate starts it.
        try requireReady()
        let cluster = try cluster()
        for problem in [moduleProblem(cluster), nodeProblem(cluster), classProblem(cluster)] {
            if let problem { throw WeaviateError(CAIRN_INVALID, problem) }
        }
        var localRoot: String?
        if settings.backend == .filesystem {
            let path = try localBackupsPath(cluster)
            if let problem = pathProblem(path, cluster) { throw WeaviateError(CAIRN_INVALID, problem) }
            localRoot = path
        }
        let store = settings.backend == .s3 ? try BucketObjects(host: host, module: cluster.module) : nil

        try sink.fact("weaviate_version", .string(cluster.version))
        try sink.fact("backend", .string(settings.backend.rawValue))
        try sink.fact("nodes", .array(cluster.nodes.map { .string($0.name) }))
        try sink.fact("classes", cluster.classesJSON)

        var request: [String: JSON] = [
            "id": .string(id),
            "config": .object(["CPUPercentage": .number(Double(settings.cpuPercentage)),
                               "CompressionLevel": .string(settings.compressionLevel)]),
        ]
        if !settings.include.isEmpty { request["include"] = .array(settings.include.map(JSON.string)) }
        if !settings.exclude.isEmpty { request["exclude"] = .array(settings.exclude.map(JSON.string)) }
        let reply = try api.send("POST", backupsEndpoint, body: .object(request))
        guard reply.status == 200 else { throw startFailure(reply, id: id) }
        let started = reply.json ?? .null
        host.log(CAIRN_LOG_INFO, "Weaviate started backup \(id) of \(started["classes"]?.strings.joined(separator: ", ") ?? "?") at \(started["path"]?.string ?? "?")")

        var polling = Polling(component: self, statusPath: backupsEndpoint + "/" + id, what: "backup \(id)")
        let final = try polling.wait(initialStatus: started["status"]?.string ?? "STARTED")
        try sink.fact("status_timeline", polling.timelineJSON)
        try sink.fact("weaviate_backup", .object([
            "id": .string(id), "path": final["path"] ?? started["path"] ?? .null,
            "started_at": final["startedAt"] ?? .null, "completed_at": final["completedAt"] ?? .null,
            "size_gib": final["size"] ?? .null, "classes": started["classes"] ?? .null,
        ]))

        if let localRoot {
            try archiveFolder(root: localRoot, id: id, reportedPath: final["path"]?.string ?? started["path"]?.string, sink: sink)
            pruneLocalCopies(root: localRoot, component: component, current: id)
        } else if let store {
            try store.archive(id: id, sink: sink, component: self)
        }
    }

    /// The sentence for a backup Weaviate would not start.
    func startFailure(_ reply: WeaviateAPI.Reply, id: String) -> WeaviateError {
        let message = WeaviateAPI.serverMessage(reply)
        guard reply.status == 422 else { return api.failure(reply, "POST", backupsEndpoint) }
        if message.contains("already exists") {
            return WeaviateError(CAIRN_INVALID, "Weaviate already has a backup named \(id) (422: \(message)): ids are unique per backend and folder. Remove the old \(id) from Weaviate's backup location if it is a leftover, then back up again")
        }
        if message.contains("no available classes") || message.contains("nothing to do") {
            return WeaviateError(CAIRN_INVALID, "Weaviate refused the backup because it holds no collections to back up (422: \(message)): an empty database cannot be backed up. Create the collections first, or check include/exclude")
        }
        if message.contains("in progress") {
            return WeaviateError(CAIRN_INVALID, "another backup is already running in Weaviate (422: \(message)): Weaviate runs one at a time; wait for it and retry")
        }
        return WeaviateError(CAIRN_INVALID, "Weaviate refused to start backup \(id) (422): \(message)")
    }

    /// Checks the folder Weaviate wrote is complete, then streams it into the archive.
    private func archiveFolder(root: String, id: String, reportedPath: String?, sink: EntrySink) throws(WeaviateError) {
        let folder = root + "/" + id
        let seen = reportedPath.map { " (Weaviate wrote to \($0))" } ?? ""
        guard LocalFolder.exists(folder) else {
            throw WeaviateError(CAIRN_NOT_FOUND, "Weaviate reports backup \(id) done, but \(folder) does not exist\(seen): set backups_path to where Cairn sees Weaviate's BACKUP_FILESYSTEM_PATH")
        }
        let items = try LocalFolder.list(folder)
        let layout = try LocalFolder.layout(folder, items: items)
        let problems = layout.problems(id: id)
        guard problems.isEmpty else {
            throw WeaviateError(CAIRN_CORRUPT, "the backup folder \(folder) is incomplete\(seen): \(problems.joined(separator: "; ")). Nothing was stored")
        }
        try sink.fact("backup_classes", .array(layout.classes.map(JSON.string)))
        try sink.fact("backup_nodes", .array(layout.nodes.map(JSON.string)))
        try sink.fact("server_version", layout.config?["serverVersion"] ?? .null)
        let bytes = items.reduce(Int64(0)) { $0 + $1.size }
        host.log(CAIRN_LOG_INFO, "archiving \(folder): \(items.filter { !$0.directory }.count) files, \(bytes) bytes")
        try LocalFolder.stream(folder, items: items, sink: sink, host: host)
    }

    /// Weaviate never removes a stored backup, so the filesystem backend's folder grows by a full
    /// copy per run. Once this run's copy is archived, Cairn removes its own older copies of this
    /// component (named <component>_YYYYMMDD_HHMMSS[_n], holding backup_config.json), keeping the
    /// newest `local_copies`. Anything else in the folder is left alone.
    private func pruneLocalCopies(root: String, component: String, current: String) {
        guard settings.localCopies > 0, let dir = opendir(root) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if Self.isCairnCopy(name, of: component), LocalFolder.exists(root + "/" + name + "/" + BackupLayout.configFile) {
                names.append(name)
            }
        }
        closedir(dir)
        // The ids sort by time; the current one is kept whatever its place.
        let older = names.filter { $0 != current }.sorted().reversed().dropFirst(settings.localCopies - 1)
        for name in older {
            LocalFolder.removeTree(root + "/" + name)
            host.log(CAIRN_LOG_INFO, "removed Weaviate's older copy \(root)/\(name) (local_copies: \(settings.localCopies))")
        }
    }

    /// <component>_YYYYMMDD_HHMMSS, optionally _<n>: the ids Cairn gives this component's backups.
    static func isCairnCopy(_ name: String, of component: String) -> Bool {
        guard name.hasPrefix(component + "_") else { return false }
        let parts = name.dropFirst(component.count + 1).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return false }
        let digits = { (part: Substring, count: Int?) in (count == nil || part.count == count!) && !part.isEmpty && part.allSatisfy(\.isNumber) }
        return digits(parts[0], 8) && digits(parts[1], 6) && (parts.count == 2 || digits(parts[2], nil))
    }
}
