import CairnCore
import Foundation

/// What daily validation or the integrity test found for one component in one environment: a
/// plain value, so that reports, `--json` and escalation read the same thing.
public struct BackupHealth: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case ok, warning, failed }

    /// Why a component is not ok.
    public enum Problem: String, Codable, Sendable {
        /// No backup at all (or no latest.tar.gz for the integrity test).
        case missing
        /// The newest backup is older than the allowed age.
        case stale
        /// backup_metadata.json cannot be found or read (not JSON, wrong fields).
        case unreadableMetadata = "unreadable_metadata"
        /// The archive is damaged: structure, a checksum or the component's own validation failed.
        case corrupt
        /// The restore drill loaded the backup but it does not hold what the metadata says.
        case drillMismatch = "drill_mismatch"
        /// The store (or the drill) could not be used; nothing is known about the backup.
        case unreachable
        /// Cairn's configuration keeps it from reading the backup (an encrypted archive and no
        /// identity): nothing is known about the backup, and the step stops as on any
        /// configuration error (exit 2, no incident).
        case misconfigured
    }

    public var component: String
    public var environment: String
    public var status: Status
    public var problem: Problem?
    /// What was found, in words: the newest id and its age, the failed check, the object named.
    public var evidence: String
    public var backupID: String?
    public var key: String?
    /// When the backup started, and when it finished (from its metadata): one vocabulary with
    /// `cairn list` and `cairn latest`.
    public var createdAt: Date?
    public var finishedAt: Date?
    public var ageSeconds: Double?
    public var maxAgeSeconds: Double?
    /// Checks run (integrity: structure, checksums, component validation, drill).
    public var checks: [CheckResult]
    /// Objects under the prefix that are not Cairn's: reported, never touched.
    public var foreignObjects: [String]

    public init(component: String, environment: String, status: Status = .ok, problem: Problem? = nil, evidence: String = "",
                backupID: String? = nil, key: String? = nil, createdAt: Date? = nil, ageSeconds: Double? = nil,
                maxAgeSeconds: Double? = nil, checks: [CheckResult] = [], foreignObjects: [String] = []) {
        self.component = component; self.environment = environment; self.status = status; self.problem = problem
        self.evidence = evidence; self.backupID = backupID; self.key = key; self.createdAt = createdAt
        self.ageSeconds = ageSeconds; self.maxAgeSeconds = maxAgeSeconds; self.checks = checks; self.foreignObjects = foreignObjects
    }

    /// Marks this result failed with a problem and the evidence for it.
    public mutating func fail(_ problem: Problem, _ evidence: String) {
        status = .failed
        self.problem = problem
        self.evidence = evidence
    }

    enum CodingKeys: String, CodingKey {
        case component, environment, status, problem, evidence, key, checks
        case backupID = "backup_id", createdAt = "created_at", finishedAt = "finished_at", ageSeconds = "age_seconds", maxAgeSeconds = "max_age_seconds"
        case foreignObjects = "foreign_objects"
    }
}

/// All results of one validation or integrity pass.
public struct HealthReport: Codable, Sendable {
    public var kind: String
    public var checkedAt: Date
    public var results: [BackupHealth]
    public var ok: Bool { results.allSatisfy { $0.status != .failed } }

    public init(kind: String, checkedAt: Date, results: [BackupHealth]) {
        self.kind = kind; self.checkedAt = checkedAt; self.results = results
    }

    enum CodingKeys: String, CodingKey { case kind, checkedAt = "checked_at", results, ok }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(checkedAt, forKey: .checkedAt)
        try c.encode(results, forKey: .results); try c.encode(ok, forKey: .ok)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        checkedAt = try c.decode(Date.self, forKey: .checkedAt)
        results = try c.decode([BackupHealth].self, forKey: .results)
    }
}
