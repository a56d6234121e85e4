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
        let storage = try workspace.openStorage()
        let inventory = try ComponentInventory.read(storage: storage, component: name, environment: workspace.environmentName)
        let latestID = try? inventory.heldByLatest(storage: storage)
        let state = try? workspace.openState()
        return inventory.archives.map { archive in
            let record = try? state?.backup(id: archive.backupID)
            return BackupListing(backupID: archive.backupID, key: archive.key, size: archive.size, modified: archive.modified,
                                 isLatest: archive.backupID == latestID, verified: record.map { $0.verified })
        }.sorted { $0.backupID < $1.backupID }
    }
}
