import CCairnPlugin
import CairnPluginSupport

extension WeaviateComponent {
    /// What a stored backup holds, read once: descriptors parsed, every path listed, and the
    /// facts the backup recorded in backup_metadata.json.
    struct StoredBackup {
        var id: String
        var layout: BackupLayout
        var facts: JSON
        var backend: Backend { Backend(rawValue: facts["backend"]?.string ?? "") ?? .filesystem }
        /// Objects Weaviate wrote to the bucket (s3 backend), keys relative to the backup's folder.
        var objects: [(key: String, size: Int64)] {
            (facts["bucket_objects"]?["objects"]?.array ?? []).compactMap { item in
                guard let key = item["key"]?.string else { return nil }
                return (key, Int64(item["size"]?.number ?? -1))
            }
        }
    }

    /// Reads the whole archive through `source` (the host re-checks every SHA-256 as it goes);
    /// `each` sees every entry: a descriptor with its bytes (already read), any other file unread.
    func readStored(_ source: EntrySource, each: ((EntrySource.Entry, [UInt8]?) throws(WeaviateError) -> Void)? = nil) throws(WeaviateError) -> StoredBackup {
        let metadata = source.metadata.flatMap { JSON.parse($0) } ?? .null
        var stored = StoredBackup(id: metadata["backup_id"]?.string ?? "", layout: BackupLayout(), facts: metadata["source"] ?? .null)
        while let entry = try source.next() {
            if host.isCancelled { throw WeaviateError(CAIRN_CANCELLED, "cancelled") }
            var bytes: [UInt8]?
            if !entry.directory { stored.layout.files.insert(entry.path) }
            if !entry.directory, BackupLayout.isDescriptor(entry.path) {
                let descriptor = try source.readAll(limit: 64 << 20, what: entry.path)
                guard stored.layout.add(descriptor: entry.path, descriptor) else {
                    throw WeaviateError(CAIRN_CORRUPT, "\(entry.path) in the backup is not valid JSON")
                }
                bytes = descriptor
            }
            try each?(entry, bytes)
        }
        if stored.backend == .s3 { stored.layout.files.formUnion(stored.objects.map(\.key)) }
        return stored
    }

    /// The archive holds backup_config.json (SUCCESS) and every node's backup.json, their
    /// collections agree with each other and with backup_metadata.json, and every chunk they
    /// name is there (in the archive, or in the bucket for the s3 backend).
    func verify(source: EntrySource, report: CheckReport) throws(WeaviateError) {
        let stored = try readStored(source)
        try judge(stored, report: report)
        if stored.backend == .s3 {
            try BucketObjects(host: host, module: nil, root: stored.facts["bucket_objects"]?["root"]?.string)
                .check(stored, report: report)
        }
    }

    func judge(_ stored: StoredBackup, report: CheckReport) throws(WeaviateError) {
        let problems = stored.layout.problems(id: stored.id)
        if problems.isEmpty {
            try report.add("weaviate.layout", CAIRN_CHECK_PASS,
                           "backup_config.json has status SUCCESS; \(stored.layout.nodes.count) node\(stored.layout.nodes.count == 1 ? "" : "s") (\(stored.layout.nodes.joined(separator: ", "))), each with its backup.json and chunks")
        } else {
            try report.add("weaviate.layout", CAIRN_CHECK_FAIL, problems.joined(separator: "; "))
        }
        let recorded = stored.facts["backup_classes"]?.strings ?? []
        if recorded == stored.layout.classes && !recorded.isEmpty {
            try report.add("weaviate.classes", CAIRN_CHECK_PASS, "collections \(recorded.joined(separator: ", ")) match backup_metadata.json")
        } else {
            try report.add("weaviate.classes", CAIRN_CHECK_FAIL,
                           "the descriptors hold collections [\(stored.layout.classes.joined(separator: ", "))] but backup_metadata.json records [\(recorded.joined(separator: ", "))]")
        }
    }
}
