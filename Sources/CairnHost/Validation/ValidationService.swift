import Foundation

/// Which components and environments a validation, integrity test or report covers.
public struct CheckScope: Sendable {
    /// Empty: every configured component.
    public var components: [String]
    /// Every environment found in the store under each component, not only the current one.
    public var allEnvironments: Bool

    public init(components: [String] = [], allEnvironments: Bool = false) {
        self.components = components; self.allEnvironments = allEnvironments
    }

    /// (component, environment) pairs in order; a named component must be known.
    func pairs(in workspace: Workspace, storage: StorageInstance) throws -> [(component: String, environment: String)] {
        let names = try workspace.componentNames(components)
        var pairs: [(String, String)] = []
        for name in names {
            var environments = [workspace.environmentName]
            if allEnvironments { environments = Array(Set(environments + (try ComponentInventory.environments(storage: storage, component: name)))).sorted() }
            pairs += environments.map { (name, $0) }
        }
        return pairs
    }
}

/// The runbook's daily validation, done properly: for every component and environment the
/// newest backup exists, its backup_metadata.json is readable, and it is younger than the
/// allowed age (`max_age`, default 26h). The runbook only checked that *some* object existed.
public struct ValidationService {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    public func validate(_ scope: CheckScope = CheckScope(), now: Date = Date()) throws -> HealthReport {
        let storage = try workspace.openStorage()
        let results = try scope.pairs(in: workspace, storage: storage).map { pair in
            validate(component: pair.component, environment: pair.environment, storage: storage, now: now)
        }
        return HealthReport(kind: "validation", checkedAt: now, results: results)
    }

    func validate(component: String, environment: String, storage: StorageInstance, now: Date) -> BackupHealth {
        let maxAge = workspace.config.maxAge(of: component)
        var health = BackupHealth(component: component, environment: environment, maxAgeSeconds: maxAge)
        let inventory: ComponentInventory
        do { inventory = try ComponentInventory.read(storage: storage, component: component, environment: environment) } catch {
            health.fail(.unreachable, "cannot list \(StorageLayout(component: component, environment: environment).prefix) in \(workspace.storeDescription()): \(describe(error))")
            return health
        }
        health.foreignObjects = inventory.foreign.map(\.key)
        guard let newest = inventory.archives.first else {
            health.fail(.missing, "no backup under \(inventory.layout.prefix) in \(workspace.storeDescription())"
                + (inventory.foreign.isEmpty ? "" : " (only objects that are not Cairn backups: \(health.foreignObjects.joined(separator: ", ")))"))
            return health
        }
        health.backupID = newest.backupID
        health.key = newest.key
        health.createdAt = newest.created
        let metadata: BackupMetadata
        do { metadata = try StoredMetadata.read(storage: storage, key: newest.key) } catch {
            health.fail(error is PluginCallError ? .unreachable : .unreadableMetadata, describe(error))
            return health
        }
        guard metadata.backupID == newest.backupID else {
            health.fail(.corrupt, "\(newest.key): its backup_metadata.json names backup \(metadata.backupID), not \(newest.backupID)")
            return health
        }
        health.createdAt = metadata.finishedAt
        let age = now.timeIntervalSince(metadata.finishedAt)
        health.ageSeconds = age
        let summary = "newest \(newest.backupID), finished \(ISO8601DateFormatter().string(from: metadata.finishedAt)), \(formatAge(age)) old, \(metadata.files.count) files"
        if age > maxAge {
            health.fail(.stale, "\(summary): older than the allowed \(formatAge(maxAge)) (max_age)")
            return health
        }
        health.evidence = summary
        if !inventory.foreign.isEmpty {
            health.status = .warning
            health.evidence += "; not Cairn backups, left alone: \(health.foreignObjects.joined(separator: ", "))"
        }
        return health
    }
}
