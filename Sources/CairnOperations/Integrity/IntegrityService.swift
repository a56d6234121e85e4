import CairnArchive
import CairnCore
import CairnInterfaces
import Foundation

/// The runbook's weekly integrity test, done properly: download latest.tar.gz of every
/// component and check its structure, every SHA-256 in backup_metadata.json and the component's
/// own validation (RDB CRC, AOF manifest...), where the runbook only ran `tar -tzf`. With a
/// restore drill, components that offer one are restored into a throwaway server and the facts
/// their drill contract names compared with the metadata.
public struct IntegrityService {
    public var store: any ObjectStore
    public var storeDescription: String
    public var environment: String
    /// Opens a component by name; a component that cannot be opened is reported, not thrown.
    public var openComponent: (String) throws -> any ComponentSource
    /// Runs drills (the store's restore into a throwaway server).
    public var restore: RestoreService

    public init(store: any ObjectStore, storeDescription: String, environment: String,
                openComponent: @escaping (String) throws -> any ComponentSource, restore: RestoreService) {
        self.store = store; self.storeDescription = storeDescription; self.environment = environment
        self.openComponent = openComponent; self.restore = restore
    }

    /// The current environment only (`--environment` picks another): the drill restores through it.
    public func check(components: [String], restoreDrill: Bool = false, now: Date = Date()) -> HealthReport {
        HealthReport(kind: "integrity", checkedAt: now, results: components.map { check(component: $0, restoreDrill: restoreDrill) })
    }

    func check(component name: String, restoreDrill: Bool) -> BackupHealth {
        let layout = StorageLayout(component: name, environment: environment)
        var health = BackupHealth(component: name, environment: environment, key: layout.latestKey)
        do {
            let latestKey = try BackupSelector.latest.resolvedKey(in: layout, store: store)
            health.key = latestKey
            guard try store.stat(key: latestKey) != nil else {
                health.fail(.missing, "no \(layout.latestKey) in \(storeDescription)")
                return health
            }
            let source = try openComponent(name)
            let report = try ArchiveCheck(store: store).full(key: latestKey, component: source)
            health.backupID = report.backupID
            health.checks = report.checks
            if let problem = report.problem {
                health.fail(problem == .metadata ? .unreadableMetadata : .corrupt, report.checks.failures.described)
                return health
            }
            health.evidence = "\(report.backupID ?? "?"): \(report.files) files, \(report.bytes) bytes; "
                + (source.traits.canVerify ? "structure, every checksum and the component's validation pass"
                                           : "structure and every checksum pass (the plugin has no validation of its own)")
            if restoreDrill {
                drill(name, source: source, report: report, health: &health)
            }
        } catch {
            health.fail(ConfigurationFailure.describes(error) ? .misconfigured : .unreachable, "\(layout.latestKey): \(describe(error))")
        }
        return health
    }

    /// Restores latest into a throwaway server and compares the counts the drill contract names.
    private func drill(_ name: String, source: any ComponentSource, report: VerificationReport, health: inout BackupHealth) {
        let metadata = report.metadata
        guard let contract = source.traits.drill else {
            health.evidence += "; no restore drill (plugin \(source.traits.plugin) has none)"
            return
        }
        let summary: RestoreSummary
        do {
            summary = try restore.restore(component: name, source: source, selector: .latest, target: "",
                                          options: .object(["drill": .bool(true)]), verified: report)
        } catch {
            health.fail(.drillMismatch, "restore drill of \(health.backupID ?? "latest") failed: \(describe(error))")
            return
        }
        health.checks += summary.checks
        guard let expected = metadata?.source[contract.fact],
              let found = summary.checks.compactMap({ $0.detail?[contract.fact] }).first else {
            health.fail(.drillMismatch, "restore drill of \(summary.backupID): the drill or backup_metadata.json reports no \(contract.noun) to compare")
            return
        }
        let want = Self.counts(expected, field: contract.field), got = Self.counts(found, field: contract.field)
        let differences = Set(want.keys).union(got.keys).sorted().compactMap { entry in
            want[entry] == got[entry] ? nil : "\(entry): metadata \(want[entry] ?? 0), restored \(got[entry] ?? 0)"
        }
        guard differences.isEmpty else {
            health.fail(.drillMismatch, "restore drill of \(summary.backupID): \(contract.noun) differ from backup_metadata.json: \(differences.joined(separator: ", "))")
            return
        }
        let listed = got.isEmpty ? "no \(contract.field)" : got.keys.sorted().map { "\($0) \(got[$0]!) \(contract.field)" }.joined(separator: ", ")
        health.evidence += "; restore drill: \(contract.noun) match the metadata (\(listed))"
    }

    /// {"db0": {"keys": 5}, ...} -> ["db0": 5]; entries with no count, or a count of 0, are left out.
    static func counts(_ value: JSONValue, field: String) -> [String: Int] {
        guard case .object(let entries) = value else { return [:] }
        var result: [String: Int] = [:]
        for (entry, info) in entries {
            if case .number(let n)? = info[field], n > 0 { result[entry] = Int(n) }
        }
        return result
    }
}
