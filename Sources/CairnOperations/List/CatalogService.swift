import CairnCore
import CairnInterfaces
import CairnState
import Foundation

/// One stored backup as `cairn list` shows it.
public struct BackupListing: Codable, Sendable {
    public var backupID: String
    public var key: String
    /// The archive's size in the store.
    public var size: UInt64
    /// When the backup started (its id's time).
    public var created: Date
    /// When the store last wrote the object.
    public var modified: Date
    public var isLatest: Bool
    /// From the state database: nil when this machine has no record of the backup.
    public var verified: Bool?

    enum CodingKeys: String, CodingKey {
        case key, verified
        case backupID = "backup_id", isLatest = "latest", size = "compressed_bytes", created = "created_at", modified = "stored_at"
    }
}

/// What the store holds for a component: its backups and what latest.tar.gz is.
public struct CatalogService {
    public var store: any ObjectStore
    /// Where verification results are remembered; nil when this machine has none.
    public var state: StateStore?
    public var environment: String

    public init(store: any ObjectStore, state: StateStore?, environment: String) {
        self.store = store; self.state = state; self.environment = environment
    }

    public func list(component name: String) throws -> [BackupListing] {
        let inventory = try ComponentInventory.read(store: store, component: name, environment: environment)
        let latestID = try? inventory.heldByLatest(store: store)
        return inventory.archives.map { archive in
            let record = try? state?.backup(id: archive.backupID)
            return BackupListing(backupID: archive.backupID, key: archive.key, size: archive.size, created: archive.created, modified: archive.modified,
                                 isLatest: archive.backupID == latestID, verified: record.map { $0.verified })
        }.sorted { $0.backupID < $1.backupID }
    }
}
