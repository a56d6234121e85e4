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
    public var checks: [CheckResult]
    public var latestKey: String

    enum CodingKeys: String, CodingKey {
        case component, environment, store, key, files, bytes, seconds, checks
        case backupID = "backup_id", compressedBytes = "compressed_bytes", latestKey = "latest_key"
    }
}

/// `cairn backup <component>`: pre-checks, backup streamed into the store, verification of what
/// was stored, then `latest.tar.gz`. A failure at any step leaves the previous latest untouched
/// and removes the new, incomplete or unverified archive.
public struct BackupService {
    public let workspace: Workspace
    public static let toolVersion = "0.1.0"

    public init(workspace: Workspace) { self.workspace = workspace }

    public func run(component name: String, options: JSONValue = .object([:])) throws -> BackupSummary {
        let logger = workspace.logger
        let resolved = try workspace.resolveComponent(name)
        let environment = workspace.environmentName
        let layout = StorageLayout(component: name, environment: environment)
        let started = Date()
        let state = try workspace.openState()
        let component = try workspace.openComponent(resolved)
        let storage = try workspace.openStorage()

        var backupID = BackupID.make(component: name, date: started)
        var record = BackupRecord(backupID: backupID, component: name, plugin: resolved.plugin.name, environment: environment,
                                  storageKey: layout.archiveKey(backupID), startedAt: started, finishedAt: started,
                                  outcome: .failure, error: nil, files: 0, bytes: 0, compressedBytes: 0, verified: false)
        do {
            logger.info("pre-checks for \(component.label) and storage \(workspace.storeDescription())")
            let checks = try component.check() + storage.checkAccess()
            for check in checks { logger.log(level: check.status == .pass ? .info : .warning, "check \(check.source)/\(check.name): \(check.status.rawValue): \(check.message)") }
            if !checks.failures.isEmpty {
                throw CairnError.failure("pre-checks failed, nothing was backed up: "
                    + checks.failures.map { "\($0.source)/\($0.name): \($0.message)" }.joined(separator: "; "))
            }
            // Two backups in the same second must not overwrite each other.
            var suffix = 1
            while try storage.stat(key: layout.archiveKey(backupID)) != nil {
                suffix += 1
                backupID = BackupID.make(component: name, date: started) + "_\(suffix)"
            }
            record.backupID = backupID
            record.storageKey = layout.archiveKey(backupID)

            logger.info("backing up \(component.label) as \(backupID) to \(record.storageKey)")
            let (files, written) = try writeArchive(component: component, componentName: name, storage: storage, backupID: backupID,
                                                    key: record.storageKey, options: options, started: started)
            record.files = files.count
            record.bytes = files.reduce(0) { $0 + $1.size }
            record.compressedBytes = written

            let report = try VerifyService(workspace: workspace).verify(storage: storage, key: record.storageKey,
                                                                        expectedBackupID: backupID, component: component)
            guard report.ok else {
                try? storage.remove(key: record.storageKey)
                throw CairnError.failure("verification of the new backup failed, so it was removed and \(layout.latestKey) was left as it was: "
                    + report.checks.failures.map { "\($0.source)/\($0.name): \($0.message)" }.joined(separator: "; "))
            }
            record.verified = true
            try storage.copy(from: record.storageKey, to: layout.latestKey)
            record.outcome = .success
            record.finishedAt = Date()
            try state.record(record)
            logger.info("backup \(backupID) complete: \(record.files) files, \(record.bytes) bytes, \(written) bytes stored")
            return BackupSummary(backupID: backupID, component: name, environment: environment, store: workspace.storeDescription(),
                                 key: record.storageKey, files: record.files, bytes: record.bytes, compressedBytes: written,
                                 seconds: record.finishedAt.timeIntervalSince(started), checks: checks + report.checks,
                                 latestKey: layout.latestKey)
        } catch {
            record.finishedAt = Date()
            record.error = describe(error)
            try? state.record(record)
            throw error
        }
    }

    /// Streams the component's entries through tar + gzip into a new store object; commits it
    /// only when the archive is complete. Returns the files and the stored byte count.
    private func writeArchive(component: ComponentInstance, componentName: String, storage: StorageInstance, backupID: String, key: String,
                              options: JSONValue, started: Date) throws -> ([FileRecord], Int64) {
        let object = try storage.openWriter(key: key)
        var archiveOptions = ArchiveOptions(compressionLevel: workspace.config.compressionLevel,
                                            spoolDirectory: try workspace.temporaryDirectory())
        if let threads = workspace.config.compressionThreads { archiveOptions.threads = threads }
        let archive: ArchiveWriter
        do { archive = try ArchiveWriter(sink: object, rootFolder: backupID, options: archiveOptions) } catch {
            object.abort()
            throw error
        }
        do {
            let facts = try component.backup(id: backupID, environment: workspace.environmentName, options: options, into: archive)
            let metadata = BackupMetadata(
                backupID: backupID, component: componentName,
                plugin: component.plugin.name, pluginVersion: component.plugin.version,
                environment: workspace.environmentName, startedAt: started, finishedAt: Date(),
                toolVersion: Self.toolVersion, source: facts, files: archive.files)
            try archive.finish(metadata: try metadata.encoded())
            try object.commit()
            return (archive.files, archive.compressedBytes)
        } catch {
            archive.abandon()
            object.abort()
            throw error
        }
    }
}
