import CairnCore
import Foundation

/// `cairn status`: today's backups (UTC day) of every component, from the state database and the
/// store, where the runbook grepped `aws s3 ls --recursive` for today's date.
public struct StatusReport: Codable, Sendable {
    public struct Backup: Codable, Sendable {
        public var backupID: String
        public var startedAt: Date
        /// success | failure (state database), or "stored" for an archive this machine has no record of.
        public var outcome: String
        public var verified: Bool?
        public var stored: Bool
        public var bytes: Int64?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case outcome, verified, stored, error
            case backupID = "backup_id", startedAt = "created_at", bytes = "compressed_bytes"
        }
    }

    /// A run today whose steps for the component failed before any backup was written
    /// (a pre-check, the server down): the runbook's status check never saw these.
    public struct FailedRun: Codable, Sendable {
        public var runID: String
        public var pipeline: String
        public var at: Date
        public var step: String
        public var error: String?

        enum CodingKeys: String, CodingKey { case runID = "run_id", pipeline, at, step, error }
    }

    public struct Component: Codable, Sendable {
        public var component: String
        public var environment: String
        /// ok (its last attempt today succeeded), failed (its last attempt failed), none (nothing today).
        public var outcome: String
        public var backups: [Backup]
        public var failedRuns: [FailedRun]

        enum CodingKeys: String, CodingKey { case component, environment, outcome, backups, failedRuns = "failed_runs" }
    }

    public var day: String
    public var environment: String
    public var components: [Component]
}

/// `cairn size`: bytes in the store per component and environment, where the runbook summed
/// `list-objects-v2` sizes for one prefix by hand.
public struct SizeReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var component: String
        public var environment: String
        public var archives: Int
        /// Every object under the prefix: archives, latest.tar.gz (a full copy) and foreign objects.
        public var bytes: UInt64
        public var latestBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case component, environment, archives
            case bytes = "compressed_bytes", latestBytes = "latest_compressed_bytes"
        }
    }

    public var rows: [Row]
    public var totalBytes: UInt64

    enum CodingKeys: String, CodingKey { case rows, totalBytes = "total_compressed_bytes" }
}

/// `cairn latest`: what latest.tar.gz of every component holds, where the runbook asked S3 for
/// the object's LastModified only.
public struct LatestReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var component: String
        public var environment: String
        public var backupID: String?
        public var createdAt: Date?
        public var bytes: UInt64?
        public var ageSeconds: Double?
        /// From the state database; nil when this machine has no record of the backup.
        public var verified: Bool?
        /// False when there are backups but no latest.tar.gz (the newest one is shown).
        public var published: Bool
        public var note: String?

        enum CodingKeys: String, CodingKey {
            case component, environment, verified, published, note
            case backupID = "backup_id", createdAt = "created_at", ageSeconds = "age_seconds", bytes = "compressed_bytes"
        }
    }

    public var rows: [Row]
}
