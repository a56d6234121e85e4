import CairnArchive
import CairnCore
import CairnInterfaces
import CairnState
import Foundation
import Logging

/// The backup steps of the runbook, each a pipeline step: write a new archive into the store,
/// read it back, publish it as latest.tar.gz. A failure at any step leaves the previous latest
/// untouched and removes the new archive if it cannot be trusted. Every attempt is recorded in
/// the state database (consecutive failures are counted from there).
public struct BackupService {
    public static let toolVersion = "0.2.0"

    /// Opened when an attempt starts, so that a store or source that cannot even be opened is
    /// still recorded as a failed backup.
    public var openStore: () throws -> any ObjectStore
    public var storeDescription: String
    public var state: StateStore
    public var environment: String
    public var archiveOptions: ArchiveOptions
    public var logger: Logger
    /// The run making the backups, kept in their records so that the archive of a run that dies
    /// before verifying it is known for debris (`removeDebris`).
    public var runID: String?
    /// The store's own sweep (its prune action), run before each backup for what dead runs left.
    public var cleanup: PruneService.StoreCleanup?

    public init(openStore: @escaping () throws -> any ObjectStore, storeDescription: String, state: StateStore,
                environment: String, archiveOptions: ArchiveOptions, logger: Logger, runID: String? = nil,
                cleanup: PruneService.StoreCleanup? = nil) {
        self.openStore = openStore; self.storeDescription = storeDescription; self.state = state
        self.environment = environment; self.archiveOptions = archiveOptions; self.logger = logger
        self.runID = runID; self.cleanup = cleanup
    }

    /// Streams the component's backup through tar + gzip into a new store object, committed only
    /// when complete. Not yet verified, not yet latest. `plugin` names the source in the record.
    public func backup(component name: String, plugin: String, options: JSONValue = .object([:]),
                       progress: (@Sendable (UInt64, UInt64, String?) -> Void)? = nil,
                       open: () throws -> any ComponentSource) throws -> BackupSummary {
        var layout = StorageLayout(component: name, environment: environment, suffix: ArchiveSuffix(format: archiveOptions.format))
        let started = Date()
        var record = BackupRecord(backupID: BackupID.make(component: name, date: started), component: name,
                                  plugin: plugin, environment: environment,
                                  storageKey: "", startedAt: started, finishedAt: started, outcome: .failure,
                                  error: nil, files: 0, bytes: 0, compressedBytes: 0, verified: false, runID: runID)
        do {
            let source = try open()
            let store = try openStore()
            layout.suffix.encrypted = store.encryptsArchives
            removeDebris(layout: layout, store: store)
            // Two backups in the same second must not overwrite each other, nor the record of a
            // failed one (which stored nothing).
            var suffix = 1
            while try store.stat(key: layout.archiveKey(record.backupID)) != nil || (try state.backup(id: record.backupID)) != nil {
                suffix += 1
                record.backupID = BackupID.make(component: name, date: started) + "_\(suffix)"
            }
            record.storageKey = layout.archiveKey(record.backupID)
            logger.info("backing up \(source.label) as \(record.backupID) to \(record.storageKey)")
            // Recorded before the first byte: if this process dies while writing, the next run
            // knows which key to clean (`removeDebris`).
            record.outcome = .running
            try state.record(record)
            record.outcome = .failure
            let metadata = try writeArchive(source: source, componentName: name, store: store, record: &record,
                                            options: options, progress: progress)
            record.files = metadata.files.count
            record.bytes = metadata.totalBytes
            record.outcome = .success
            record.finishedAt = Date()
            try state.record(record)
            logger.info("backup \(record.backupID) stored: \(record.files) files, \(record.bytes) bytes, \(record.compressedBytes) bytes compressed")
            var made = summary(record, layout: layout)
            made.metadata = metadata
            return made
        } catch {
            record.finishedAt = Date()
            record.error = describe(error)
            // A configuration error (a bucket that does not exist) is no failed backup: it must
            // not count toward consecutive_failures, nor stay behind as a running attempt.
            if ConfigurationFailure.describes(error) { try? state.forget(backupID: record.backupID) } else { try? state.record(record) }
            throw error
        }
    }

    /// Reads this run's new archive back. If it does not verify, it is removed (it was never
    /// latest) and the attempt is recorded as failed.
    public func verifyNew(_ backup: BackupSummary, source: any ComponentSource) throws -> (BackupSummary, VerificationReport) {
        let store = try openStore()
        let check = ArchiveCheck(store: store)
        let report = try backup.metadata.map { try check.afterBackup(key: backup.key, written: $0, component: source) }
            ?? check.full(key: backup.key, expectedBackupID: backup.backupID, component: source)
        guard report.ok else {
            var reason = report.checks.failures.described
            do { try store.remove(key: backup.key) } catch {
                reason += "; removing the damaged archive failed too: \(describe(error))"
            }
            if var record = try state.backup(id: backup.backupID) {
                record.outcome = .failure
                record.error = "verification failed: \(reason)"
                record.verification = "failed: \(reason)"
                try state.record(record)
            }
            throw VerificationFailure(backup: backup, reason: reason, report: report)
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

    /// Makes a verified backup the new latest.tar.gz (an atomic copy in the store). Latest under
    /// another format's name (the compression format changed) is removed after the copy, so
    /// latest has one name and there is always one.
    public func publish(_ backup: BackupSummary) throws -> BackupSummary {
        guard backup.verified else {
            throw CairnError.usage("refusing to publish \(backup.backupID) as latest: it was not verified in this run (add a 'verify: \(backup.component)' step before 'publish')")
        }
        let store = try openStore()
        try store.copy(from: backup.key, to: backup.latestKey)
        logger.info("\(backup.latestKey) now holds \(backup.backupID)")
        let layout = StorageLayout(component: backup.component, environment: backup.environment)
        for stale in layout.latestKeys where stale != backup.latestKey {
            do {
                guard try store.stat(key: stale) != nil else { continue }
                try store.remove(key: stale)
                logger.info("removed \(stale): \(backup.latestKey) replaces it")
            } catch {
                logger.warning("could not remove \(stale), which \(backup.latestKey) replaces: \(describe(error)); readers take the newer of the two")
            }
        }
        var published = backup
        published.published = true
        return published
    }

    /// The new archive did not verify; it was removed and latest.tar.gz left alone.
    public struct VerificationFailure: Error, CustomStringConvertible {
        public var backup: BackupSummary
        public var reason: String
        /// What failed, classified: escalation tells a damaged archive from an unreadable store.
        public var report: VerificationReport
        public var description: String {
            "verification of the new backup \(backup.backupID) failed, so it was removed and \(backup.latestKey) was left as it was: \(reason)"
        }
    }

    private func summary(_ record: BackupRecord, layout: StorageLayout) -> BackupSummary {
        BackupSummary(backupID: record.backupID, component: record.component, environment: record.environment,
                      store: storeDescription, key: record.storageKey, files: record.files, bytes: record.bytes,
                      compressedBytes: record.compressedBytes, seconds: record.finishedAt.timeIntervalSince(record.startedAt),
                      verified: false, published: false, latestKey: layout.latestKey)
    }

    /// Streams the source's entries through tar + gzip into a new store object; commits it only
    /// when the archive is complete.
    private func writeArchive(source: any ComponentSource, componentName: String, store: any ObjectStore,
                              record: inout BackupRecord, options: JSONValue,
                              progress: (@Sendable (UInt64, UInt64, String?) -> Void)?) throws -> BackupMetadata {
        let object = try store.openWriter(key: record.storageKey)
        let archive: ArchiveWriter
        do { archive = try ArchiveWriter(sink: object, rootFolder: record.backupID, options: archiveOptions) } catch {
            object.abort()
            throw error
        }
        do {
            let facts = try source.backup(id: record.backupID, environment: environment, options: options,
                                          into: archive, progress: progress)
            let metadata = BackupMetadata(
                backupID: record.backupID, component: componentName,
                plugin: source.traits.plugin, pluginVersion: source.traits.version,
                environment: environment, startedAt: record.startedAt, finishedAt: Date(),
                toolVersion: Self.toolVersion, source: facts, files: archive.files)
            try archive.finish(metadata: try metadata.encoded())
            try object.commit()
            record.compressedBytes = archive.compressedBytes
            // Encrypted, the stored object is larger than the gzip stream: prune compares the
            // record with the stored size.
            if ArchiveSuffix.isEncrypted(key: record.storageKey), let stored = try store.stat(key: record.storageKey) {
                record.compressedBytes = Int64(stored.size)
            }
            return metadata
        } catch {
            archive.abandon()
            object.abort()
            throw error
        }
    }
}
