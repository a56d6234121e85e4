import Foundation

/// The runbook's weekly integrity test, done properly: download latest.tar.gz of every
/// component and check its structure, every SHA-256 in backup_metadata.json and the component's
/// own validation (RDB CRC, AOF manifest...), where the runbook only ran `tar -tzf`. With a
/// restore drill, components that support one (redis) are loaded into a throwaway server and
/// their key counts compared with the metadata.
public struct IntegrityService {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    /// The current environment only (`--environment` picks another): the drill restores through it.
    public func check(components: [String] = [], restoreDrill: Bool = false, now: Date = Date()) throws -> HealthReport {
        let storage = try workspace.openStorage()
        let results = try workspace.componentNames(components).map { name in
            check(component: name, storage: storage, restoreDrill: restoreDrill)
        }
        return HealthReport(kind: "integrity", checkedAt: now, results: results)
    }

    func check(component name: String, storage: StorageInstance, restoreDrill: Bool) -> BackupHealth {
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        var health = BackupHealth(component: name, environment: workspace.environmentName, key: layout.latestKey)
        do {
            guard try storage.stat(key: layout.latestKey) != nil else {
                health.fail(.missing, "no \(layout.latestKey) in \(workspace.storeDescription())")
                return health
            }
            let resolved = try workspace.resolveComponent(name)
            let component = try workspace.openComponent(resolved)
            let report = try VerifyService(workspace: workspace).verify(storage: storage, key: layout.latestKey,
                                                                        expectedBackupID: nil, component: component)
            health.backupID = report.backupID
            health.checks = report.checks
            if !report.ok {
                let failures = report.checks.failures
                let metadataProblem = failures.contains {
                    $0.message.contains("\(BackupMetadata.fileName) is invalid") || $0.message.contains("\(BackupMetadata.fileName) is missing")
                }
                health.fail(metadataProblem ? .unreadableMetadata : .corrupt, failures.described)
                return health
            }
            health.evidence = "\(report.backupID ?? "?"): \(report.files) files, \(report.bytes) bytes; "
                + (component.canVerify ? "structure, every checksum and the component's validation pass"
                                       : "structure and every checksum pass (the plugin has no validation of its own)")
            if restoreDrill {
                drill(name, plugin: resolved.plugin, metadata: report.metadata, health: &health)
            }
        } catch {
            health.fail(.unreachable, "\(layout.latestKey): \(describe(error))")
        }
        return health
    }

    /// Restores latest into a throwaway server (plugins with the "drill" capability) and compares
    /// the key counts it reports with the source facts in the metadata.
    private func drill(_ name: String, plugin: LoadedPlugin, metadata: BackupMetadata?, health: inout BackupHealth) {
        guard plugin.manifest.capabilities?.contains("drill") == true else {
            health.evidence += "; no restore drill (plugin \(plugin.name) has none)"
            return
        }
        let summary: RestoreSummary
        do {
            summary = try RestoreService(workspace: workspace).restore(component: name, selector: .latest, target: "drill",
                                                                       options: .object(["drill": .bool(true)]), verified: metadata)
        } catch {
            health.fail(.drillMismatch, "restore drill of \(health.backupID ?? "latest") failed: \(describe(error))")
            return
        }
        health.checks += summary.checks
        guard let expected = metadata?.source["keys"], let found = summary.checks.compactMap({ $0.detail?["keys"] }).first else {
            health.fail(.drillMismatch, "restore drill of \(summary.backupID): the drill or backup_metadata.json reports no key counts to compare")
            return
        }
        let differences = Self.keyCountDifferences(expected: expected, found: found)
        guard differences.isEmpty else {
            health.fail(.drillMismatch, "restore drill of \(summary.backupID): key counts differ from backup_metadata.json: \(differences.joined(separator: ", "))")
            return
        }
        health.evidence += "; restore drill: key counts match the metadata (\(Self.keyCounts(found)))"
    }

    /// "db0: metadata 2016, restored 2015" for every database whose key count differs.
    static func keyCountDifferences(expected: JSONValue, found: JSONValue) -> [String] {
        let want = counts(expected), got = counts(found)
        return Set(want.keys).union(got.keys).sorted().compactMap { db in
            want[db] == got[db] ? nil : "\(db): metadata \(want[db] ?? 0), restored \(got[db] ?? 0)"
        }
    }

    private static func counts(_ value: JSONValue) -> [String: Int] {
        guard case .object(let dbs) = value else { return [:] }
        var result: [String: Int] = [:]
        for (db, info) in dbs {
            if case .number(let n)? = info["keys"], n > 0 { result[db] = Int(n) }
        }
        return result
    }

    private static func keyCounts(_ value: JSONValue) -> String {
        let c = counts(value)
        return c.isEmpty ? "no keys" : c.keys.sorted().map { "\($0) \(c[$0]!) keys" }.joined(separator: ", ")
    }
}
