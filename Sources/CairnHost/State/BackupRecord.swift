import Foundation
import GRDB

/// One backup attempt as the state database remembers it.
public struct BackupRecord: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "backups"

    public enum Outcome: String, Codable, Sendable { case success, failure }

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

    enum CodingKeys: String, CodingKey {
        case component, plugin, environment, outcome, error, files, bytes, verified, verification
        case backupID = "backup_id", storageKey = "storage_key", startedAt = "started_at"
        case finishedAt = "finished_at", compressedBytes = "compressed_bytes"
    }
}
