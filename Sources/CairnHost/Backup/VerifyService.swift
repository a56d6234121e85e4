import Crypto
import Foundation

/// What verifying one stored archive found.
public struct VerificationReport: Encodable, Sendable {
    public var key: String
    public var backupID: String?
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    public var checks: [CheckResult]
    /// The archive's backup_metadata.json once its structure and checksums passed (not encoded).
    public var metadata: BackupMetadata? = nil
    public var ok: Bool { checks.failures.isEmpty }

    enum CodingKeys: String, CodingKey {
        case key, files, bytes, checks, ok
        case backupID = "backup_id", compressedBytes = "compressed_bytes"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key); try c.encode(backupID, forKey: .backupID); try c.encode(files, forKey: .files)
        try c.encode(bytes, forKey: .bytes); try c.encode(compressedBytes, forKey: .compressedBytes)
        try c.encode(checks, forKey: .checks); try c.encode(ok, forKey: .ok)
    }
}

/// Reads a stored archive back: structure and every checksum (the host's checks) and the
/// component's validation of its files.
public struct VerifyService: Sendable {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    public func verify(component name: String, selector: BackupSelector) throws -> VerificationReport {
        let resolved = try workspace.resolveComponent(name)
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        let storage = try workspace.openStorage()
        let component = try workspace.openComponent(resolved)
        let key = selector.key(in: layout)
        guard try storage.stat(key: key) != nil else {
            throw CairnError.failure("no backup at \(key) in \(workspace.storeDescription()) (see cairn list \(name))")
        }
        return try verify(storage: storage, key: key, expectedBackupID: selector.expectedID, component: component)
    }

    /// `written` is the metadata the writer just produced (post-backup verification): then a
    /// component that can verify reads the archive once, and the host's checks ride along on
    /// that same pass (see onePass). Otherwise the host reads it, then the component again.
    func verify(storage: StorageInstance, key: String, expectedBackupID: String?, component: ComponentInstance?,
                written: BackupMetadata? = nil) throws -> VerificationReport {
        if let written, let component, component.canVerify {
            return try onePass(storage: storage, key: key, expectedBackupID: expectedBackupID, component: component,
                               written: written)
        }
        var report = VerificationReport(key: key, backupID: nil, files: 0, bytes: 0, compressedBytes: 0, checks: [])
        let verified: VerifiedArchive
        do {
            let reader = try storage.openReader(key: key)
            defer { reader.close() }
            verified = try ArchiveVerifier.verify(source: reader, expectedBackupID: expectedBackupID)
        } catch let error as PluginCallError {
            throw error  // the store failed, not the archive
        } catch {
            report.checks.append(CheckResult(source: "archive", name: "structure", status: .fail, message: "\(key): \(describe(error))"))
            return report
        }
        report.backupID = verified.metadata.backupID
        report.metadata = verified.metadata
        report.files = verified.metadata.files.count
        report.bytes = verified.metadata.totalBytes
        report.compressedBytes = verified.compressedBytes
        report.checks.append(Self.checksumsPassed(report))
        if let component, component.canVerify {
            do {
                report.checks += try pluginPass(storage: storage, key: key, component: component, metadata: verified.metadata)
            } catch let error as ArchiveError {
                report.checks.append(CheckResult(source: "archive", name: "second read", status: .fail, message: "\(key): \(error)"))
            }
        }
        return report
    }

    /// One read for both: the component reads the archive through a reader that checks every
    /// file's SHA-256 against `written` (backup_metadata.json included, by the digest of what
    /// was written), while the host's structure rules observe the same entries; whatever the
    /// component leaves unread is drained, so the end blocks and the gzip CRC are checked too.
    private func onePass(storage: StorageInstance, key: String, expectedBackupID: String?, component: ComponentInstance,
                         written: BackupMetadata) throws -> VerificationReport {
        var report = VerificationReport(key: key, backupID: nil, files: 0, bytes: 0, compressedBytes: 0, checks: [])
        let text = try written.encoded()
        var expected = written.expectedFiles
        let metadataPath = "\(written.backupID)/\(BackupMetadata.fileName)"
        expected[metadataPath] = FileRecord(path: BackupMetadata.fileName, size: Int64(text.count),
                                            sha256: SHA256.hash(data: text).hexString, mode: 0o644, mtime: 0)
        let source = try storage.openReader(key: key)
        defer { source.close() }
        let reader = ArchiveReader(source: source, expectedFiles: expected)
        let check = ArchiveStructureCheck()
        reader.observer = check
        let pluginChecks: [CheckResult]
        do {
            pluginChecks = try component.verify(reader: reader, rootFolder: written.backupID,
                                                metadata: String(decoding: text, as: UTF8.self))
            while try reader.next() != nil {}
            try check.finish(written, expectedBackupID: expectedBackupID)
        } catch let error as PluginCallError {
            throw error  // the store or the plugin failed, not the archive
        } catch {
            report.checks.append(CheckResult(source: "archive", name: "structure", status: .fail, message: "\(key): \(describe(error))"))
            return report
        }
        report.backupID = written.backupID
        report.files = written.files.count
        report.bytes = written.totalBytes
        report.compressedBytes = reader.compressedBytesRead
        report.checks = [Self.checksumsPassed(report)] + pluginChecks
        return report
    }

    private static func checksumsPassed(_ report: VerificationReport) -> CheckResult {
        CheckResult(source: "archive", name: "checksums", status: .pass,
                    message: "\(report.files) files, \(report.bytes) bytes: structure complete and every SHA-256 matches backup_metadata.json")
    }

    /// The component's own validation, reading the archive again with every checksum re-checked.
    private func pluginPass(storage: StorageInstance, key: String, component: ComponentInstance,
                            metadata: BackupMetadata) throws -> [CheckResult] {
        let reader = try storage.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader, expectedFiles: metadata.expectedFiles)
        return try component.verify(reader: archive, rootFolder: metadata.backupID,
                                    metadata: String(decoding: try metadata.encoded(), as: UTF8.self))
    }
}

extension BackupMetadata {
    /// The files keyed by full member path, for re-hashing on a second read.
    var expectedFiles: [String: FileRecord] {
        Dictionary(files.map { ("\(backupID)/\($0.path)", $0) }, uniquingKeysWith: { first, _ in first })
    }
}
