import CairnCore
import CairnState
import Foundation

/// Cairn's metrics, named in the Velero manner and computed from the state database, so every
/// export (a textfile, a push) says the same thing and a failed run can never move the last
/// success back. Labels are component, environment and procedure (the pipeline's name without its
/// component: backup, emergency, verify, validate, integrity...); never a backup id.
public struct MetricsReport {
    public var runs: [RunRecord]
    public var backups: [BackupRecord]
    public var openIncidents: [IncidentRecord]
    public var version: String

    public init(runs: [RunRecord], backups: [BackupRecord], openIncidents: [IncidentRecord], version: String) {
        self.runs = runs; self.backups = backups; self.openIncidents = openIncidents; self.version = version
    }

    public init(state: StateStore, version: String) throws {
        self.init(runs: try state.runs(limit: 1_000_000), backups: try state.backups(limit: 1_000_000),
                  openIncidents: try state.incidents(), version: version)
    }

    /// Run durations, seconds: from a quick check to a long upload.
    static let durationBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400]

    public var exposition: String {
        var out = PrometheusText()
        let finished = runs.filter { $0.outcome != .running }
        let groups = Dictionary(grouping: finished) { RunKey($0) }.sorted { $0.key < $1.key }

        func counter(_ name: String, _ help: String, _ count: ([RunRecord]) -> Int) {
            out.family(name, .counter, help)
            for (key, runs) in groups { out.sample(name, key.labels, Double(count(runs))) }
        }
        counter("cairn_backup_attempt_total", "Runs of each procedure that finished, whatever their outcome.") { $0.count }
        counter("cairn_backup_success_total", "Runs that succeeded.") { $0.filter { $0.outcome == .success }.count }
        counter("cairn_backup_failure_total", "Runs that failed, were cancelled or were interrupted (the process died).") {
            $0.filter { [.failure, .cancelled, .interrupted].contains($0.outcome) }.count
        }
        counter("cairn_backup_partial_failure_total", "Runs where some components or steps failed and others succeeded.") {
            $0.filter { $0.outcome == .partial }.count
        }

        out.family("cairn_backup_duration_seconds", .histogram, "How long finished runs took.")
        for (key, runs) in groups {
            let seconds = runs.compactMap { run in run.finishedAt.map { $0.timeIntervalSince(run.startedAt) } }
            out.histogram("cairn_backup_duration_seconds", key.labels, buckets: Self.durationBuckets, values: seconds)
        }

        out.family("cairn_backup_last_status", .gauge, "1 when the procedure's last finished run succeeded, 0 when it did not.")
        for (key, runs) in groups {
            let last = runs.max { $0.startedAt < $1.startedAt }
            out.sample("cairn_backup_last_status", key.labels, [.success, .continued].contains(last?.outcome) ? 1 : 0)
        }

        // Per component: what the newest successful backup is.
        let stored = Dictionary(grouping: backups.filter { $0.outcome == .success }) { ComponentKey(component: $0.component, environment: $0.environment) }
            .sorted { $0.key < $1.key }
        out.family("cairn_backup_last_success_timestamp_seconds", .gauge, "When the newest successful backup of the component finished (Unix time).")
        for (key, records) in stored {
            out.sample("cairn_backup_last_success_timestamp_seconds", key.labels, records.map { $0.finishedAt.timeIntervalSince1970 }.max() ?? 0)
        }
        out.family("cairn_backup_size_bytes", .gauge, "Size in the store of the newest successful backup of the component.")
        for (key, records) in stored {
            out.sample("cairn_backup_size_bytes", key.labels, Double(records.max { $0.finishedAt < $1.finishedAt }?.compressedBytes ?? 0))
        }
        out.family("cairn_verify_success", .gauge, "1 when the newest successful backup of the component passed read-back verification.")
        for (key, records) in stored {
            out.sample("cairn_verify_success", key.labels, records.max { $0.finishedAt < $1.finishedAt }?.verified == true ? 1 : 0)
        }

        // Restore tests: cairn integrity (every component) and cairn restore runs, drills included.
        let restoreTests = groups.filter { ["integrity", "restore"].contains($0.key.procedure) }
        out.family("cairn_restore_test_success_total", .counter, "Integrity tests and restores that succeeded.")
        for (key, runs) in restoreTests { out.sample("cairn_restore_test_success_total", key.labels, Double(runs.filter { $0.outcome == .success }.count)) }
        out.family("cairn_restore_test_failure_total", .counter, "Integrity tests and restores that failed.")
        for (key, runs) in restoreTests { out.sample("cairn_restore_test_failure_total", key.labels, Double(runs.filter { $0.outcome != .success }.count)) }

        out.family("cairn_incidents_open", .gauge, "Open incidents by environment and severity.")
        for (labels, incidents) in Dictionary(grouping: openIncidents, by: { [$0.environment, $0.severity] }).sorted(by: { $0.key.joined() < $1.key.joined() }) {
            out.sample("cairn_incidents_open", [("environment", labels[0]), ("severity", labels[1])], Double(incidents.count))
        }
        out.family("cairn_build_info", .gauge, "Always 1; the labels say which Cairn wrote these metrics.")
        out.sample("cairn_build_info", [("version", version)], 1)
        return out.text
    }
}

/// A run's labels: `backup/redis` in prod is procedure backup, component redis, environment prod.
struct RunKey: Hashable, Comparable {
    var procedure: String
    var component: String
    var environment: String

    init(_ run: RunRecord) {
        procedure = String(run.pipeline.split(separator: "/").first ?? "")
        component = run.component ?? "all"
        environment = run.environment
    }

    var labels: [(String, String)] { [("component", component), ("environment", environment), ("procedure", procedure)] }

    static func < (a: RunKey, b: RunKey) -> Bool { (a.procedure, a.component, a.environment) < (b.procedure, b.component, b.environment) }
}

struct ComponentKey: Hashable, Comparable {
    var component: String
    var environment: String
    var labels: [(String, String)] { [("component", component), ("environment", environment)] }
    static func < (a: ComponentKey, b: ComponentKey) -> Bool { (a.component, a.environment) < (b.component, b.environment) }
}
