import CairnArchive
import Foundation

/// What a finished backup produced.
public struct BackupSummary: Codable, Sendable {
    public var backupID: String
    public var component: String
    public var environment: String
    public var store: String
    public var key: String
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    public var seconds: Double
    public var verified: Bool
    public var published: Bool
    public var latestKey: String
    /// What the read-back verification checked ("archive/checksums pass, redis/rdb pass") or why it
    /// failed (the archive was then removed); nil before verification.
    public var verification: String?
    /// The backup_metadata.json this run wrote (not encoded in summaries; used to verify it).
    public var metadata: BackupMetadata?

    enum CodingKeys: String, CodingKey {
        case component, environment, store, key, files, bytes, seconds, verified, published, verification
        case backupID = "backup_id", compressedBytes = "compressed_bytes", latestKey = "latest_key"
    }
}
