import CairnArchive
import CairnCore

/// What checking one stored archive found.
public struct VerificationReport: Codable, Sendable {
    public var key: String
    public var backupID: String?
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    /// Every check run, passed or not, as people see them.
    public var checks: [CheckResult]
    /// The failed ones, classified; empty when the archive is good.
    public var findings: [ArchiveFinding] = []
    /// The archive's backup_metadata.json once its structure and checksums passed (not encoded).
    public var metadata: BackupMetadata? = nil
    /// The same, as stored in the archive (not encoded): what plugins are handed.
    public var metadataText: String? = nil
    public var ok: Bool { findings.isEmpty && checks.failures.isEmpty }
    /// The kind of the first problem, nil when the archive is good.
    public var problem: ArchiveFindingKind? { findings.first?.kind }

    public init(key: String) {
        self.key = key; backupID = nil; files = 0; bytes = 0; compressedBytes = 0; checks = []
    }

    mutating func fail(_ kind: ArchiveFindingKind, source: String = "archive", name: String = "structure", _ message: String) {
        let check = CheckResult(source: source, name: name, status: .fail, message: message)
        checks.append(check)
        findings.append(ArchiveFinding(kind: kind, check: check))
    }

    /// Adds the component's checks; its failures are `component` findings.
    mutating func add(componentChecks: [CheckResult]) {
        checks += componentChecks
        findings += componentChecks.failures.map { ArchiveFinding(kind: .component, check: $0) }
    }

    enum CodingKeys: String, CodingKey {
        case key, files, bytes, checks, findings, ok
        case backupID = "backup_id", compressedBytes = "compressed_bytes"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key); try c.encode(backupID, forKey: .backupID); try c.encode(files, forKey: .files)
        try c.encode(bytes, forKey: .bytes); try c.encode(compressedBytes, forKey: .compressedBytes)
        try c.encode(checks, forKey: .checks); try c.encode(findings, forKey: .findings); try c.encode(ok, forKey: .ok)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        backupID = try c.decodeIfPresent(String.self, forKey: .backupID)
        files = try c.decode(Int.self, forKey: .files)
        bytes = try c.decode(Int64.self, forKey: .bytes)
        compressedBytes = try c.decode(Int64.self, forKey: .compressedBytes)
        checks = try c.decode([CheckResult].self, forKey: .checks)
        findings = try c.decodeIfPresent([ArchiveFinding].self, forKey: .findings) ?? []
    }
}
