import CairnArchive
import CairnCore
import CairnInterfaces
import CairnState
import Foundation
import Logging

/// `cairn prune`: deletes the backups a component's retention policy no longer keeps. It never
/// deletes latest.tar.gz, the backup latest.tar.gz holds, or the newest verified backup; it
/// deletes only archives it can vouch for (recorded by Cairn with the stored size, or read back
/// whole), so foreign, truncated and damaged objects are reported by name and left alone.
/// An archive the store locks against deletion (S3 Object Lock) is listed as locked until its
/// date and never deleted.
/// A store may offer a cleanup of its own (plugin.json: an action with `"prune": true`), which
/// runs for each component's prefix as well.
public struct PruneService {
    /// Objects a store's cleanup may remove are those left for longer than this (a day).
    public static let cleanupAge: Int64 = 86400

    /// A store's own cleanup, run by prune: `run(prefix, olderThanSeconds)` returns how many
    /// objects it removed (a negative number means it failed; the reason is in the log).
    public struct StoreCleanup {
        /// "s3.abort_stale_uploads", for reports.
        public var name: String
        public var run: (_ prefix: String, _ olderThanSeconds: Int64) throws -> JSONValue

        public init(name: String, run: @escaping (String, Int64) throws -> JSONValue) { self.name = name; self.run = run }
    }

    public var store: any ObjectStore
    public var state: StateStore
    public var environment: String
    public var cleanup: StoreCleanup?
    public var logger: Logger

    public init(store: any ObjectStore, state: StateStore, environment: String, cleanup: StoreCleanup?, logger: Logger) {
        self.store = store; self.state = state; self.environment = environment; self.cleanup = cleanup; self.logger = logger
    }

    /// `components`: each with its policy (nil: not pruned).
    public func prune(components: [(name: String, policy: RetentionPolicy?)], dryRun: Bool) -> PruneReport {
        let results = components.map { component in
            var result = PruneReport.Component(component: component.name, environment: environment, policy: component.policy)
            do { try prune(&result, dryRun: dryRun) } catch {
                result.errors.append(describe(error))
            }
            return result
        }
        return PruneReport(dryRun: dryRun, components: results)
    }

    private func prune(_ result: inout PruneReport.Component, dryRun: Bool) throws {
        let inventory = try ComponentInventory.read(store: store, component: result.component, environment: result.environment)
        result.untouched = inventory.foreign.map { .init(key: $0.key, reason: "not a Cairn backup (name outside the layout)") }
        defer { runCleanup(&result, prefix: inventory.layout.prefix, dryRun: dryRun) }
        guard let policy = result.policy else {
            result.notes.append("no retention policy (retention: in cairn.yaml): nothing pruned")
            return
        }
        var protected: [(id: String, reason: String)] = []
        if let latest = inventory.latest {
            let held: String?
            do { held = try inventory.heldByLatest(store: store) } catch {
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
            // A locked archive is never handed to `remove`: on a versioned S3 bucket a delete
            // would only hide it behind a delete marker while its retention keeps it, billed.
            let lockedUntil: Date?
            do { lockedUntil = try store.stat(key: archive.key).map { $0.lockedUntil ?? .distantPast } } catch {
                result.errors.append("cannot tell whether \(archive.key) is locked against deletion (\(describe(error))), so it was left")
                continue
            }
            guard let lockedUntil else { continue }  // gone since the listing
            if lockedUntil > Date() {
                result.locked.append(.init(key: archive.key, until: lockedUntil))
                continue
            }
            if let problem = try untrustworthy(archive, record: records[archive.backupID]) {
                result.untouched.append(.init(key: archive.key, reason: problem))
                continue
            }
            if dryRun { result.deleted.append(archive.key); continue }
            do {
                try store.remove(key: archive.key)
                result.deleted.append(archive.key)
                logger.info("pruned \(archive.key) (\(policy.description))")
            } catch {
                result.errors.append("cannot delete \(archive.key): \(describe(error))")
            }
        }
    }

    /// Why an archive that the policy lets go must still stay, or nil when it is a complete Cairn
    /// backup. A recorded backup whose stored size matches is trusted; anything else is read whole.
    private func untrustworthy(_ archive: StoredArchive, record: BackupRecord?) throws -> String? {
        if let record, record.outcome == .success {
            if UInt64(max(record.compressedBytes, 0)) == archive.size { return nil }
            return "truncated or replaced: \(archive.size) bytes stored, \(record.compressedBytes) written by the backup"
        }
        let report: VerificationReport
        do { report = try ArchiveCheck(store: store).full(key: archive.key, expectedBackupID: archive.backupID) } catch {
            return "not a complete Cairn backup (\(describe(error))); left for a person to look at"
        }
        guard let finding = report.findings.first else { return nil }
        return "not a complete Cairn backup (\(finding.check.message)); left for a person to look at"
    }

    private func runCleanup(_ result: inout PruneReport.Component, prefix: String, dryRun: Bool) {
        guard let cleanup else { return }
        if dryRun {
            result.notes.append("would run \(cleanup.name) under \(prefix) for what was left more than a day ago")
            return
        }
        do {
            let value = try cleanup.run(prefix, Self.cleanupAge)
            guard let count = value.numberValue, count >= 0 else {
                result.errors.append("\(cleanup.name) reported a failure (\(value.jsonText)); see the log")
                return
            }
            result.cleanedUp = Int(count)
        } catch {
            result.errors.append("\(cleanup.name) under \(prefix) failed: \(describe(error))")
        }
    }
}
