import Foundation
import Logging

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

/// The backup steps of the runbook, each a pipeline step: write a new archive into the store,
/// read it back, publish it as latest.tar.gz. A failure at any step leaves the previous latest
/// untouched and removes the new archive if it cannot be trusted. Every attempt is recorded in
/// the state database (consecutive failures are counted from there).
public struct BackupService {
    public let workspace: Workspace
    public static let toolVersion = "0.2.0"

    public init(workspace: Workspace) { self.workspace = workspace }

    /// Streams the component's backup through tar + gzip into a new store object, committed only
    /// when complete. Not yet verified, not yet latest.
    public func backup(component name: String, options: JSONValue = .object([:]),
                       progress: (@Sendable (UInt64, UInt64, String?) -> Void)? = nil) throws -> BackupSummary {
        let resolved = try workspace.resolveComponent(name)
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        let started = Date()
        let state = try workspace.openState()
        var record = BackupRecord(backupID: BackupID.make(component: name, date: started), component: name,
                                  plugin: resolved.plugin.name, environment: workspace.environmentName,
                                  storageKey: "", startedAt: started, finishedAt: started, outcome: .failure,
                                  error: nil, files: 0, bytes: 0, compressedBytes: 0, verified: false)
        do {
            let component = try workspace.openComponent(resolved)
            let storage = try workspace.openStorage()
            // Two backups in the same second must not overwrite each other.
            var suffix = 1
            while try storage.stat(key: layout.archiveKey(record.backupID)) != nil {
                suffix += 1
                record.backupID = BackupID.make(component: name, date: started) + "_\(suffix)"
            }
            record.storageKey = layout.archiveKey(record.backupID)
            workspace.logger.info("backing up \(component.label) as \(record.backupID) to \(record.storageKey)")
            let metadata = try writeArchive(component: component, componentName: name, storage: storage, record: &record,
                                            options: options, progress: progress)
            record.files = metadata.files.count
            record.bytes = metadata.totalBytes
            record.outcome = .success
            record.finishedAt = Date()
            try state.record(record)
            workspace.logger.info("backup \(record.backupID) stored: \(record.files) files, \(record.bytes) bytes, \(record.compressedBytes) bytes compressed")
            var made = summary(record, layout: layout, verified: false, published: false)
            made.metadata = metadata
            return made
        } catch {
            record.finishedAt = Date()
            record.error = describe(error)
            try? state.record(record)
            throw error
        }
    }

    /// Reads this run's new archive back. If it does not verify, it is removed (it was never
    /// latest) and the attempt is recorded as failed.
    public func verifyNew(_ backup: BackupSummary) throws -> (BackupSummary, VerificationReport) {
        let resolved = try workspace.resolveComponent(backup.component)
        let storage = try workspace.openStorage()
        let component = try workspace.openComponent(resolved)
        let report = try VerifyService(workspace: workspace).verify(storage: storage, key: backup.key,
                                                                    expectedBackupID: backup.backupID, component: component,
                                                                    written: backup.metadata)
        let state = try workspace.openState()
        guard report.ok else {
            try? storage.remove(key: backup.key)
            let reason = report.checks.failures.described
            if var record = try state.backup(id: backup.backupID) {
                record.outcome = .failure
                record.error = "verification failed: \(reason)"
                record.verification = "failed: \(reason)"
                try state.record(record)
            }
            throw VerificationFailure(backup: backup, reason: reason, failedChecks: report.checks.failures)
        }
        let checked = report.checks.map { "\($0.source)/\($0.name) \($0.status.rawValue)" }.joined(separator: ", ")
        if var record = try state.backup(id: backup.backupID) {
            record.verified = true
            record.verification = checked
            try state.record(record)
        }
        var verified = backup
        verified.verified = true
        verified.verification = checked
        return (verified, report)
    }

    /// Makes a verified backup the new latest.tar.gz (an atomic copy in the store).
    public func publish(_ backup: BackupSummary) throws -> BackupSummary {
        guard backup.verified else {
            throw CairnError.usage("refusing to publish \(backup.backupID) as latest: it was not verified in this run (add a 'verify: \(backup.component)' step before 'publish')")
        }
        try workspace.openStorage().copy(from: backup.key, to: backup.latestKey)
        workspace.logger.info("\(backup.latestKey) now holds \(backup.backupID)")
        var published = backup
        published.published = true
        return published
    }

    /// The new archive did not verify; it was removed and latest.tar.gz left alone.
    public struct VerificationFailure: Error, CustomStringConvertible {
        public var backup: BackupSummary
        public var reason: String
        /// What failed: escalation tells a damaged archive (corruption) from an unreadable store.
        public var failedChecks: [CheckResult] = []
        public var description: String {
            "verification of the new backup \(backup.backupID) failed, so it was removed and \(backup.latestKey) was left as it was: \(reason)"
        }
    }

    private func summary(_ record: BackupRecord, layout: StorageLayout, verified: Bool, published: Bool) -> BackupSummary {
        BackupSummary(backupID: record.backupID, component: record.component, environment: record.environment,
                      store: workspace.storeDescription(), key: record.storageKey, files: record.files, bytes: record.bytes,
                      compressedBytes: record.compressedBytes, seconds: record.finishedAt.timeIntervalSince(record.startedAt),
                      verified: verified, published: published, latestKey: layout.latestKey)
    }

    /// Streams the component's entries through tar + gzip into a new store object; commits it
    /// only when the archive is complete.
    private func writeArchive(component: ComponentInstance, componentName: String, storage: StorageInstance,
                              record: inout BackupRecord, options: JSONValue,
                              progress: (@Sendable (UInt64, UInt64, String?) -> Void)?) throws -> BackupMetadata {
        let object = try storage.openWriter(key: record.storageKey)
        var archiveOptions = ArchiveOptions(compressionLevel: workspace.config.compressionLevel,
                                            spoolDirectory: try workspace.temporaryDirectory())
        if let threads = workspace.config.compressionThreads { archiveOptions.threads = threads }
        let archive: ArchiveWriter
        do { archive = try ArchiveWriter(sink: object, rootFolder: record.backupID, options: archiveOptions) } catch {
            object.abort()
            throw error
        }
        do {
            let facts = try component.backup(id: record.backupID, environment: workspace.environmentName, options: options,
                                             into: archive, progress: progress)
            let metadata = BackupMetadata(
                backupID: record.backupID, component: componentName,
                plugin: component.plugin.name, pluginVersion: component.plugin.version,
                environment: workspace.environmentName, startedAt: record.startedAt, finishedAt: Date(),
                toolVersion: Self.toolVersion, source: facts, files: archive.files)
            try archive.finish(metadata: try metadata.encoded())
            try object.commit()
            record.compressedBytes = archive.compressedBytes
            return metadata
        } catch {
            archive.abandon()
            object.abort()
            throw error
        }
    }
}
