import CairnArchive
import CairnCore
import CairnInterfaces
import Foundation

/// The runbook's daily validation, done properly: for every component and environment the
/// newest backup exists, its backup_metadata.json is readable, and it is younger than the
/// allowed age (`max_age`, default 26h). The runbook only checked that *some* object existed.
public struct ValidationService {
    public var store: any ObjectStore
    public var storeDescription: String

    public init(store: any ObjectStore, storeDescription: String) { self.store = store; self.storeDescription = storeDescription }

    /// `components`: each with its allowed age. `environments`: the current one, or with
    /// `allEnvironments` every environment the store holds for the component as well.
    public func validate(components: [(name: String, maxAge: Double)], environment: String, allEnvironments: Bool,
                         now: Date = Date()) throws -> HealthReport {
        var results: [BackupHealth] = []
        for (name, maxAge) in components {
            var environments = [environment]
            if allEnvironments {
                environments = Array(Set(environments + (try ComponentInventory.environments(store: store, component: name)))).sorted()
            }
            results += environments.map { validate(component: name, environment: $0, maxAge: maxAge, now: now) }
        }
        return HealthReport(kind: "validation", checkedAt: now, results: results)
    }

    func validate(component: String, environment: String, maxAge: Double, now: Date) -> BackupHealth {
        var health = BackupHealth(component: component, environment: environment, maxAgeSeconds: maxAge)
        let inventory: ComponentInventory
        do { inventory = try ComponentInventory.read(store: store, component: component, environment: environment) } catch {
            health.fail(ConfigurationFailure.describes(error) ? .misconfigured : .unreachable, "cannot list \(StorageLayout(component: component, environment: environment).prefix) in \(storeDescription): \(describe(error))")
            return health
        }
        health.foreignObjects = inventory.foreign.map(\.key)
        guard let newest = inventory.archives.first else {
            health.fail(.missing, "no backup under \(inventory.layout.prefix) in \(storeDescription)"
                + (inventory.foreign.isEmpty ? "" : " (only objects that are not Cairn backups: \(health.foreignObjects.joined(separator: ", ")))"))
            return health
        }
        health.backupID = newest.backupID
        health.key = newest.key
        health.createdAt = newest.created
        let metadata: BackupMetadata
        do {
            switch try ArchiveCheck(store: store).metadata(key: newest.key) {
            case .success(let read): metadata = read
            case .failure(let finding):
                health.fail(.unreadableMetadata, finding.check.message)
                return health
            }
        } catch {
            health.fail(ConfigurationFailure.describes(error) ? .misconfigured : .unreachable, describe(error))
            return health
        }
        guard metadata.backupID == newest.backupID else {
            health.fail(.corrupt, "\(newest.key): its backup_metadata.json names backup \(metadata.backupID), not \(newest.backupID)")
            return health
        }
        health.createdAt = metadata.startedAt
        health.finishedAt = metadata.finishedAt
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
