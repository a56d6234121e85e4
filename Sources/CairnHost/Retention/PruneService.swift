import Foundation

/// `cairn prune`: deletes the backups a component's retention policy no longer keeps. It never
/// deletes latest.tar.gz, the backup latest.tar.gz holds, or the newest verified backup; it
/// deletes only archives it can vouch for (recorded by Cairn with the stored size, or read back
/// whole), so foreign, truncated and damaged objects are reported by name and left alone.
/// Stores whose plugin offers `abort_stale_uploads` also get their day-old unfinished multipart
/// uploads aborted.
public struct PruneService {
    public static let staleUploadAction = "abort_stale_uploads"
    public static let staleUploadAge: Int64 = 86400

    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    public func prune(components: [String] = [], dryRun: Bool) throws -> PruneReport {
        let storage = try workspace.openStorage()
        let results = try workspace.componentNames(components).map { name in
            var result = PruneReport.Component(component: name, environment: workspace.environmentName,
                                               policy: workspace.config.retention(of: name))
            do { try prune(&result, storage: storage, dryRun: dryRun) } catch {
                result.errors.append(describe(error))
            }
            return result
        }
        return PruneReport(dryRun: dryRun, components: results)
    }

    private func prune(_ result: inout PruneReport.Component, storage: StorageInstance, dryRun: Bool) throws {
        let inventory = try ComponentInventory.read(storage: storage, component: result.component, environment: result.environment)
        result.untouched = inventory.foreign.map { .init(key: $0.key, reason: "not a Cairn backup (name outside the layout)") }
        defer { abortStaleUploads(&result, prefix: inventory.layout.prefix, dryRun: dryRun) }
        guard let policy = result.policy else {
            result.notes.append("no retention policy (retention: in cairn.yaml): nothing pruned")
            return
        }
        let state = try workspace.openState()
        var protected: [(id: String, reason: String)] = []
        if let latest = inventory.latest {
            let held: String?
            do { held = try inventory.heldByLatest(storage: storage) } catch {
                throw CairnError.failure("\(latest.key): cannot tell which backup it holds (\(describe(error))), so nothing was pruned")
            }
            guard let held else { throw CairnError.failure("\(latest.key) is empty, so nothing was pruned") }
            protected.append((held, "held by latest.tar.gz"))
        }
        let records = Dictionary(try inventory.archives.compactMap { archive in try state.backup(id: archive.backupID).map { (archive.backupID, $0) } },
                                 uniquingKeysWith: { first, _ in first })
        if let newestVerified = inventory.archives.first(where: { records[$0.backupID]?.verified == true }) {
            protected.append((newestVerified.backupID, "newest verified"))
        }
        result.decisions = RetentionPlanner.plan(inventory.archives.map { ($0.backupID, $0.created) }, policy: policy, protected: protected)
        let archives = Dictionary(inventory.archives.map { ($0.backupID, $0) }, uniquingKeysWith: { first, _ in first })
        for decision in result.decisions.reversed() where !decision.keep {
            guard let archive = archives[decision.backupID] else { continue }
            if let problem = untrustworthy(archive, record: records[archive.backupID], storage: storage) {
                result.untouched.append(.init(key: archive.key, reason: problem))
                continue
            }
            if dryRun { result.deleted.append(archive.key); continue }
            do {
                try storage.remove(key: archive.key)
                result.deleted.append(archive.key)
                workspace.logger.info("pruned \(archive.key) (\(policy.description))")
            } catch {
                result.errors.append("cannot delete \(archive.key): \(describe(error))")
            }
        }
    }

    /// Why an archive that the policy lets go must still stay, or nil when it is a complete Cairn
    /// backup. A recorded backup whose stored size matches is trusted; anything else is read whole.
    private func untrustworthy(_ archive: StoredArchive, record: BackupRecord?, storage: StorageInstance) -> String? {
        if let record, record.outcome == .success {
            if UInt64(max(record.compressedBytes, 0)) == archive.size { return nil }
            return "truncated or replaced: \(archive.size) bytes stored, \(record.compressedBytes) written by the backup"
        }
        do {
            let reader = try storage.openReader(key: archive.key)
            defer { reader.close() }
            _ = try ArchiveVerifier.verify(source: reader, expectedBackupID: archive.backupID)
            return nil
        } catch {
            return "not a complete Cairn backup (\(describe(error))); left for a person to look at"
        }
    }

    func abortStaleUploads(_ result: inout PruneReport.Component, prefix: String, dryRun: Bool) {
        do {
            let plugin = try workspace.registry.load(workspace.config.storageType, kind: .storage)
            guard plugin.manifest.actions?[Self.staleUploadAction] != nil else { return }
            if dryRun {
                result.notes.append("would abort multipart uploads under \(prefix) older than a day (\(plugin.name).\(Self.staleUploadAction))")
                return
            }
            let value = try workspace.call(NativeAction(plugin: plugin, name: Self.staleUploadAction),
                                           arguments: [.string(prefix), .number(Double(Self.staleUploadAge))])
            guard let count = value.numberValue, count >= 0 else {
                result.errors.append("\(plugin.name).\(Self.staleUploadAction) reported a failure (\(value.jsonText)); see the log")
                return
            }
            result.abortedUploads = Int(count)
        } catch {
            result.errors.append("aborting stale multipart uploads under \(prefix) failed: \(describe(error))")
        }
    }
}
