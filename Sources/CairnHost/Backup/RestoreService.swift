import Foundation

public struct RestoreSummary: Codable, Sendable {
    public var backupID: String
    public var component: String
    public var target: String
    public var files: Int
    public var bytes: Int64
    public var checks: [CheckResult]

    enum CodingKeys: String, CodingKey {
        case component, target, files, bytes, checks
        case backupID = "backup_id"
    }
}

/// `cairn restore`: verifies the whole archive first (a corrupt backup is never half-restored),
/// then streams it to the component plugin, re-checking every checksum on the way.
public struct RestoreService {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    /// `verified`: metadata of an archive the caller has just verified whole (the integrity test's
    /// drill), which saves the first read; the restore read still re-checks every checksum against it.
    public func restore(component name: String, selector: BackupSelector, target: String,
                        options: JSONValue = .object([:]), verified known: BackupMetadata? = nil) throws -> RestoreSummary {
        let resolved = try workspace.resolveComponent(name)
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        let storage = try workspace.openStorage()
        let component = try workspace.openComponent(resolved)
        guard component.canRestore else {
            throw CairnError.usage("component '\(name)' (plugin \(resolved.plugin.name)) cannot restore: the plugin does not implement restore")
        }
        // Refused before anything is downloaded: only plugins that declare "drill" can run one.
        if options["drill"] == .bool(true), resolved.plugin.manifest.capabilities?.contains("drill") != true {
            throw CairnError.usage("component '\(name)' (plugin \(resolved.plugin.name)) has no restore drill (its plugin.json lists no 'drill' capability): to rehearse a restore, point the component at a spare server and restore into that")
        }
        // An empty target means "back into the source itself", which only some plugins do.
        let inPlace = resolved.plugin.manifest.capabilities?.contains("restore-in-place") ?? false
        if target.isEmpty && !inPlace {
            throw CairnError.usage("restoring component '\(name)' needs a target: give --target DIR (a new or empty folder), or --drill for a disaster-recovery drill")
        }
        let key = selector.key(in: layout)
        guard try storage.stat(key: key) != nil else {
            throw CairnError.failure("no backup at \(key) in \(workspace.storeDescription()) (see cairn list \(name))")
        }
        let verified: VerifiedArchive
        if let known {
            verified = VerifiedArchive(metadata: known, rootFolder: known.backupID, compressedBytes: 0, uncompressedBytes: 0)
        } else {
            do {
                let reader = try storage.openReader(key: key)
                defer { reader.close() }
                verified = try ArchiveVerifier.verify(source: reader, expectedBackupID: selector.expectedID)
            } catch let error as ArchiveError {
                throw CairnError.failure("refusing to restore \(key): the archive is damaged: \(error)")
            }
        }
        let reader = try storage.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader, expectedFiles: verified.metadata.expectedFiles)
        let absoluteTarget = target.isEmpty ? "" : resolvePath(target, against: workspace.workingDirectory)
        let drill = options["drill"] == .bool(true)
        workspace.logger.info("restoring \(verified.metadata.backupID) from \(key) \(drill ? "into a disaster-recovery drill" : absoluteTarget.isEmpty ? "into \(component.label)" : "to \(absoluteTarget)")")
        let checks = try component.restore(backupID: verified.metadata.backupID, target: absoluteTarget, options: options,
                                           reader: archive, rootFolder: verified.rootFolder,
                                           metadata: String(decoding: try verified.metadata.encoded(), as: UTF8.self))
        if !checks.failures.isEmpty {
            throw CairnError.failure("restore of \(verified.metadata.backupID) reported failures: "
                + checks.failures.map { "\($0.name): \($0.message)" }.joined(separator: "; "))
        }
        return RestoreSummary(backupID: verified.metadata.backupID, component: name, target: absoluteTarget,
                              files: verified.metadata.files.count, bytes: verified.metadata.totalBytes, checks: checks)
    }
}
