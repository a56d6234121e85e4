import CairnCore
import Foundation
import GRDB

/// One backup attempt as the state database remembers it.
public struct BackupRecord: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "backups"


    public var backupID: String
    public var component: String
    public var plugin: String
    public var environment: String
    public var storageKey: String
    public var startedAt: Date
    public var finishedAt: Date
    public var outcome: Outcome
    public var error: String?
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    public var verified: Bool
    /// What the post-backup verification checked and found ("archive/checksums pass, redis/rdb pass"),
    /// or why it failed; nil when the backup was not verified.
    public var verification: String? = nil
    /// The run that made it: when that run is later found interrupted (its process died), a
    /// stored archive it never verified is debris for the next run to remove.
    public var runID: String? = nil

    public init(backupID: String, component: String, plugin: String, environment: String, storageKey: String,
                startedAt: Date, finishedAt: Date, outcome: Outcome, error: String?, files: Int, bytes: Int64,
                compressedBytes: Int64, verified: Bool, verification: String? = nil, runID: String? = nil) {
        self.backupID = backupID; self.component = component; self.plugin = plugin; self.environment = environment
        self.storageKey = storageKey; self.startedAt = startedAt; self.finishedAt = finishedAt; self.outcome = outcome
        self.error = error; self.files = files; self.bytes = bytes; self.compressedBytes = compressedBytes
        self.verified = verified; self.verification = verification; self.runID = runID
    }

    enum CodingKeys: String, CodingKey {
        case component, plugin, environment, outcome, error, files, bytes, verified, verification
        case backupID = "backup_id", storageKey = "storage_key", startedAt = "started_at"
        case finishedAt = "finished_at", compressedBytes = "compressed_bytes", runID = "run_id"
    }
}
