/// What a Redis backup holds, exactly as NetworkRDB and DiskBackup write it: `dump.rdb` at the
/// top, and/or one AOF folder holding the files its manifest lists (`.rdb`, `.aof`) and the
/// manifest itself. Verify and restore refuse anything else, so a restore never writes a file
/// the plugin did not back up (a script, thousands of strays) into a server's data folder.
struct BackupContents {
    private(set) var hasRDB = false
    private(set) var aofDir: String?
    /// The AOF folder's files by name, the manifest aside.
    private(set) var aofFiles: Set<String> = []
    /// The manifest's path in the archive.
    private(set) var manifest: String?
    /// A cluster backup: `cluster.json` and `shards/<id>_<slots>/dump.rdb` per shard.
    private(set) var hasClusterDescription = false
    private(set) var shardFolders: Set<String> = []
    private(set) var shardRDBs: Set<String> = []
    var isCluster: Bool { hasClusterDescription || !shardFolders.isEmpty || !shardRDBs.isEmpty }

    /// Records `path` when the plugin writes such an entry; otherwise says why it does not.
    mutating func admit(_ path: String, directory: Bool) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.first == "shards" || path == "cluster.json" { return admitCluster(parts, directory: directory) }
        if directory {
            guard parts.count == 1 else { return "'\(path)' is a nested folder" }
            if let aofDir { return "'\(path)' is a second folder besides the AOF folder '\(aofDir)'" }
            aofDir = path
            return nil
        }
        if parts.count == 1 {
            guard path == "dump.rdb" else { return "'\(path)' is a file at the top besides dump.rdb" }
            hasRDB = true
            return nil
        }
        guard parts.count == 2, let aofDir, parts[0] == aofDir else {
            return "'\(path)' is not a file of the AOF folder\(aofDir.map { " '\($0)'" } ?? "")"
        }
        let name = String(parts[1])
        if name.hasSuffix(".manifest") {
            if let manifest { return "'\(path)' is a second AOF manifest besides '\(manifest)'" }
            manifest = path
            return nil
        }
        guard name.hasSuffix(".rdb") || name.hasSuffix(".aof") else { return "'\(path)' is not an AOF file (.rdb, .aof) or manifest" }
        aofFiles.insert(name)
        return nil
    }

    private mutating func admitCluster(_ parts: [Substring], directory: Bool) -> String? {
        let path = parts.joined(separator: "/")
        if path == "cluster.json" {
            if directory { return "'cluster.json' is a folder" }
            hasClusterDescription = true
            return nil
        }
        if parts.count == 1 { return directory ? nil : "'shards' is a file, not the shards' folder" }
        let name = String(parts[1])
        guard ClusterTopology.ranges(inName: name) != nil else {
            return "'\(path)' is not a shard folder (shards/<id>_<first>-<last>...)"
        }
        if parts.count == 2 && directory { shardFolders.insert(name); return nil }
        guard parts.count == 3, parts[2] == "dump.rdb", !directory else {
            return "'\(path)' is not a shard's dump.rdb"
        }
        shardRDBs.insert(name)
        return nil
    }

    /// A cluster backup's shape: cluster.json, every shard folder with its dump.rdb, nothing else.
    func clusterProblem() -> String? {
        guard isCluster else { return nil }
        if hasRDB || aofDir != nil { return "the backup mixes a cluster's shards with a single server's dump.rdb or AOF folder" }
        if !hasClusterDescription { return "the cluster backup has no cluster.json (its topology)" }
        if shardRDBs.isEmpty { return "the cluster backup holds no shard's dump.rdb" }
        let empty = shardFolders.subtracting(shardRDBs).sorted()
        if !empty.isEmpty { return "shard folders without a dump.rdb: \(Self.sample(empty.map { "shards/\($0)" }))" }
        return nil
    }

    /// After the last entry, with the manifest's items when there is one: something to restore,
    /// and no AOF file the manifest does not list (one it lists but the folder lacks is the
    /// manifest check's finding).
    func problem(listed items: [AOFManifest.Item]?) -> String? {
        if isCluster { return clusterProblem() }
        if !hasRDB && manifest == nil {
            return aofDir.map { "the AOF folder '\($0)' has no manifest and there is no dump.rdb" }
                ?? "the backup holds neither dump.rdb nor an AOF manifest"
        }
        if let aofDir, manifest == nil { return "the AOF folder '\(aofDir)' has no manifest" }
        guard let items else { return nil }
        let unlisted = aofFiles.subtracting(items.map(\.file)).sorted()
        guard unlisted.isEmpty else {
            return "the AOF folder holds files its manifest does not list: \(Self.sample(unlisted.map { "\(aofDir ?? "")/\($0)" }))"
        }
        return nil
    }

    /// Up to five names and how many more: a hostile archive can hold a hundred thousand.
    static func sample(_ names: [String], total: Int? = nil) -> String {
        let count = total ?? names.count
        let shown = names.prefix(5).joined(separator: ", ")
        return count > 5 ? "\(shown) and \(count - 5) more" : shown
    }
}
