import CairnCore
import CairnInterfaces
import CairnState
import Foundation

/// The runbook's "useful commands" as reports built from the store listing and the state database.
public struct ReportService {
    public var store: any ObjectStore
    public var environment: String

    public init(store: any ObjectStore, environment: String) { self.store = store; self.environment = environment }

    public func status(components: [String], state: StateStore, now: Date = Date()) throws -> StatusReport {
        let today = BackupID.day(now)
        let rows = try components.map { name -> StatusReport.Component in
            let inventory = try ComponentInventory.read(store: store, component: name, environment: environment)
            let stored = Dictionary(inventory.archives.map { ($0.backupID, $0) }, uniquingKeysWith: { first, _ in first })
            var backups: [String: StatusReport.Backup] = [:]
            for record in try state.backups(component: name, environment: environment, limit: 1000)
            where BackupID.day(record.startedAt) == today {
                backups[record.backupID] = StatusReport.Backup(
                    backupID: record.backupID, startedAt: record.startedAt, outcome: record.outcome.rawValue,
                    verified: record.verified, stored: stored[record.backupID] != nil,
                    bytes: record.outcome == .success ? record.compressedBytes : nil, error: record.error)
            }
            for archive in inventory.archives where BackupID.day(archive.created) == today && backups[archive.backupID] == nil {
                backups[archive.backupID] = StatusReport.Backup(backupID: archive.backupID, startedAt: archive.created, outcome: "stored",
                                                                verified: nil, stored: true, bytes: Int64(archive.size), error: nil)
            }
            let sorted = backups.values.sorted { ($0.startedAt, $0.backupID) < ($1.startedAt, $1.backupID) }
            let failedRuns = try failedRunsWithoutBackup(name, today: today, state: state)
            let lastBackup = sorted.last.map { ($0.startedAt, $0.outcome == "failure") }
            let lastFailedRun = failedRuns.last.map { ($0.at, true) }
            let last = [lastBackup, lastFailedRun].compactMap { $0 }.max { $0.0 < $1.0 }
            let outcome = last.map { $0.1 ? "failed" : "ok" } ?? "none"
            return StatusReport.Component(component: name, environment: environment, outcome: outcome, backups: sorted, failedRuns: failedRuns)
        }
        return StatusReport(day: today, environment: environment, components: rows)
    }

    /// Today's runs in this environment with a failed step for the component that never reached
    /// its backup step (those that did show as backups).
    private func failedRunsWithoutBackup(_ component: String, today: String, state: StateStore) throws -> [StatusReport.FailedRun] {
        var failed: [StatusReport.FailedRun] = []
        for run in try state.runs(component: component, limit: 200)
        where run.environment == environment && BackupID.day(run.startedAt) == today {
            let steps = try state.steps(runID: run.runID).filter { $0.component == component }
            // A run that got as far as a backup step is in the backups table, failed or not.
            guard !steps.contains(where: { $0.kind == "backup" }),
                  let step = steps.first(where: { ["failure", "continued"].contains($0.outcome) }) else { continue }
            failed.append(StatusReport.FailedRun(runID: run.runID, pipeline: run.pipeline, at: step.startedAt, step: step.name, error: step.error))
        }
        return failed.sorted { $0.at < $1.at }
    }

    /// Every environment found in the store for each component.
    public func size(components: [String]) throws -> SizeReport {
        var rows: [SizeReport.Row] = []
        for name in components {
            for environment in try ComponentInventory.environments(store: store, component: name) {
                let inventory = try ComponentInventory.read(store: store, component: name, environment: environment)
                rows.append(SizeReport.Row(component: name, environment: environment, archives: inventory.archives.count,
                                           bytes: inventory.totalBytes, latestBytes: inventory.latest?.size ?? 0))
            }
        }
        return SizeReport(rows: rows, totalBytes: rows.reduce(0) { $0 + $1.bytes })
    }

    /// `state`: where verification results are remembered; nil when this machine has none.
    public func latest(components: [String], state: StateStore?, now: Date = Date()) throws -> LatestReport {
        let rows = try components.map { name -> LatestReport.Row in
            let inventory = try ComponentInventory.read(store: store, component: name, environment: environment)
            var row = LatestReport.Row(component: name, environment: environment, published: inventory.latest != nil)
            if let latest = inventory.latest {
                let id = try inventory.heldByLatest(store: store)
                let archive = inventory.archives.first { $0.backupID == id }
                row.backupID = id
                row.bytes = latest.size
                row.createdAt = archive?.created ?? latest.modified
                if archive == nil { row.note = "\(latest.key) holds \(id ?? "an unnamed archive"), which is not stored under its own key" }
            } else if let archive = inventory.archives.first {
                row.backupID = archive.backupID
                row.bytes = archive.size
                row.createdAt = archive.created
                row.note = "no \(inventory.layout.latestKey): the newest backup was never published"
            } else {
                row.note = "no backups"
            }
            row.ageSeconds = row.createdAt.map { now.timeIntervalSince($0) }
            row.verified = row.backupID.flatMap { id in (try? state?.backup(id: id)).flatMap { $0 }?.verified }
            return row
        }
        return LatestReport(rows: rows)
    }
}
