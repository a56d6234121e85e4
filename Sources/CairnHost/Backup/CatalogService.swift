import Foundation

/// One stored backup as `cairn list` shows it.
public struct BackupListing: Codable, Sendable {
    public var backupID: String
    public var key: String
    public var size: UInt64
    public var modified: Date
    public var isLatest: Bool
    /// From the state database: nil when this machine has no record of the backup.
    public var verified: Bool?

    enum CodingKeys: String, CodingKey {
        case key, size, modified, verified
        case backupID = "backup_id", isLatest = "latest"
    }
}

/// What the store holds for a component: its backups and what latest.tar.gz is.
public struct CatalogService {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    public func list(component name: String) throws -> [BackupListing] {
        try workspace.requireComponent(name)  // no settings needed to read what the store holds
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        let storage = try workspace.openStorage()
        let objects = try storage.list(prefix: layout.prefix)
        let latestID = objects.first { $0.key == layout.latestKey }.flatMap { latest in
            try? latestBackupID(latest, among: objects, layout: layout, storage: storage)
        }
        let state = try? workspace.openState()
        return objects.compactMap { object -> BackupListing? in
            guard let id = layout.backupID(fromKey: object.key) else { return nil }
            let record = try? state?.backup(id: id)
            return BackupListing(backupID: id, key: object.key, size: object.size, modified: object.modified,
                                 isLatest: id == latestID, verified: record.map { $0.verified })
        }.sorted { $0.backupID < $1.backupID }
    }

    /// latest.tar.gz is a copy of one archive. When exactly one archive has its size, that is it;
    /// otherwise its top-level folder names the backup, which costs a read of its first block.
    func latestBackupID(_ latest: StoredObject, among objects: [StoredObject], layout: StorageLayout,
                        storage: StorageInstance) throws -> String? {
        let sameSize = objects.filter { $0.key != latest.key && $0.size == latest.size }.compactMap { layout.backupID(fromKey: $0.key) }
        if sameSize.count == 1 { return sameSize[0] }
        let reader = try storage.openReader(key: latest.key)
        defer { reader.close() }
        guard let first = try ArchiveReader(source: reader).next() else { return nil }
        return first.path.split(separator: "/").first.map(String.init)
    }
}
