import CairnArchive
import CairnCore
import CairnInterfaces
import Foundation
import Logging

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

/// `cairn restore`: verifies the whole archive first, the component's own validation included (a
/// backup that verify refuses is never restored, not even half), then streams it to the
/// component, re-checking every checksum on the way.
public struct RestoreService {
    public var store: any ObjectStore
    public var storeDescription: String
    public var environment: String
    /// Relative targets are taken from here.
    public var workingDirectory: URL
    public var logger: Logger

    public init(store: any ObjectStore, storeDescription: String, environment: String, workingDirectory: URL, logger: Logger) {
        self.store = store; self.storeDescription = storeDescription; self.environment = environment
        self.workingDirectory = workingDirectory; self.logger = logger
    }

    /// Refuses what the component cannot do before anything is downloaded: a restore at all, a
    /// drill, a restore into its own server when no target is given.
    public static func check(component name: String, traits: ComponentTraits, target: String, drill: Bool) throws {
        guard traits.canRestore else {
            throw CairnError.usage("component '\(name)' (plugin \(traits.plugin)) cannot restore: the plugin does not implement restore")
        }
        if drill, traits.drill == nil {
            throw CairnError.usage("component '\(name)' (plugin \(traits.plugin)) has no restore drill (its plugin.json declares no 'drill'): to rehearse a restore, point the component at a spare server and restore into that")
        }
        // An empty target means "back into the source itself", which only some sources do.
        if target.isEmpty && !drill && !traits.restoresInPlace {
            throw CairnError.usage("restoring component '\(name)' needs a target: give --target DIR (a new or empty folder), or --drill for a disaster-recovery drill")
        }
    }

    /// Before anything is written, the archive passes the same check `cairn verify` runs: its
    /// structure, every checksum and the component's own validation, so a restore never writes
    /// what verify would refuse. `verified`: the report of that check, when the caller has just
    /// run it (the integrity test's drill), which saves those reads; the restore read still
    /// re-checks every checksum and the structure rules.
    public func restore(component name: String, source: any ComponentSource, selector: BackupSelector, target: String,
                        options: JSONValue = .object([:]), verified known: VerificationReport? = nil) throws -> RestoreSummary {
        try Self.check(component: name, traits: source.traits, target: target, drill: options["drill"] == .bool(true))
        let key = try selector.storedKey(in: store.layout(component: name, environment: environment), store: store)
        guard try store.stat(key: key) != nil else {
            throw CairnError.failure("no backup at \(key) in \(storeDescription) (see cairn list \(name))")
        }
        let report = try known ?? ArchiveCheck(store: store).full(key: key, expectedBackupID: selector.expectedID, component: source)
        guard report.ok, let metadata = report.metadata else {
            let why = report.problem == .component
                ? "component '\(name)' (plugin \(source.traits.plugin)) refuses its contents"
                : "the archive is damaged"
            throw CairnError.failure("refusing to restore \(key): \(why): \(report.checks.failures.map(\.message).joined(separator: "; "))")
        }
        let metadataText = try report.metadataText ?? String(decoding: metadata.encoded(), as: UTF8.self)
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader, expectedFiles: metadata.expectedFiles)
        // The rules verify applied hold on this read too, should the object have changed since.
        archive.observer = ArchiveStructureCheck()
        let absoluteTarget = target.isEmpty ? "" : resolvePath(target, against: workingDirectory)
        let drill = options["drill"] == .bool(true)
        logger.info("restoring \(metadata.backupID) from \(key) \(drill ? "into a disaster-recovery drill" : absoluteTarget.isEmpty ? "into \(source.label)" : "to \(absoluteTarget)")")
        let checks = try source.restore(backupID: metadata.backupID, target: absoluteTarget, options: options,
                                        reader: archive, rootFolder: metadata.backupID,
                                        metadata: metadataText)
        if !checks.failures.isEmpty {
            throw CairnError.failure("restore of \(metadata.backupID) reported failures: "
                + checks.failures.map { "\($0.name): \($0.message)" }.joined(separator: "; "))
        }
        return RestoreSummary(backupID: metadata.backupID, component: name, target: absoluteTarget,
                              files: metadata.files.count, bytes: metadata.totalBytes, checks: checks)
    }
}
