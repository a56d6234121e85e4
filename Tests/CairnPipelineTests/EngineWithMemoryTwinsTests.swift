@testable import CairnPipeline
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnState
import CairnTestSupport
import Foundation
import Logging
import Testing

/// Receives a run's events, for tests that check what a reporter is told.
final class RecordingReporter: RunReporter, @unchecked Sendable {
    // @unchecked: `events` is guarded by `lock`; parallel steps report from several threads.
    private let lock = NSLock()
    private var events: [String] = []

    var recorded: [String] { lock.lock(); defer { lock.unlock() }; return events }

    private func add(_ event: String) { lock.lock(); defer { lock.unlock() }; events.append(event) }

    func runStarted(runID: String, pipeline: String, logFile: String?) { add("run \(pipeline)") }
    func stepStarted(_ name: String) { add("start \(name)") }
    func stepProgress(_ name: String, done: UInt64, total: UInt64) {}
    func stepFinished(_ step: StepSummary) { add("finish \(step.name): \(step.outcome.rawValue)") }
    func runFinished(_ summary: RunSummary) { add("end \(summary.outcome.rawValue)") }
}

/// The engine over the in-memory twins (MemoryResources): the built-in pipelines and the
/// commands' own runs, with their history and incidents in a real state database, and no plugin
/// library or server anywhere.
@Suite("Engine with in-memory twins")
struct EngineWithMemoryTwinsTests {
    static let backupKinds = ["host_check", "check", "storage_check", "backup", "verify", "publish"]

    let component = ScriptedComponent(name: "app")
    let resources: MemoryResources
    let reporter = RecordingReporter()

    init() throws {
        resources = try MemoryResources(components: ["app": component]) { config in
            // Host checks that cannot fail on a full or busy test machine.
            config.hostChecks = HostCheckThresholds(minFreeDiskBytes: 0, warnFreeDiskBytes: 0, minAvailableMemoryBytes: 0,
                                                    warnAvailableMemoryBytes: 0, maxLoadPerCore: .infinity, warnLoadPerCore: .infinity)
        }
    }

    var runner: PipelineRunner {
        PipelineRunner(resources: resources, reporter: reporter,
                       scope: RunScope(logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, cancellation: Cancellation()))
    }

    var catalog: PipelineCatalog { get throws { try PipelineCatalog(config: resources.config) } }

    func runBackup() throws -> RunSummary {
        let pipeline = try catalog.resolve("backup", parameters: ["component": "app"], resources: resources)
        return try runner.run(pipeline, component: "app")
    }

    /// A command's own one-step run, checked as the command line checks it.
    func runCommand(_ name: String, _ action: StepAction, component: String? = nil) throws -> RunSummary {
        let pipeline = try catalog.check(BuiltInPipelines.command(name, action, description: "test \(name)"), resources: resources)
        return try runner.run(pipeline, component: component)
    }

    func openIncidentKeys() throws -> [String] { try resources.openState().incidents().map(\.key) }

    func healthReport(_ step: StepSummary?) throws -> HealthReport {
        let value = try #require(step?.result)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(HealthReport.self, from: Data(value.jsonText.utf8))
    }

    // MARK: The backup pipeline

    @Test func theBackupPipelineRunsEveryStepAndPublishes() throws {
        let summary = try runBackup()
        #expect(summary.outcome == .success, "\(summary.error ?? "")")
        #expect(summary.exitCode == 0)
        #expect(summary.steps.map(\.kind) == Self.backupKinds)
        #expect(summary.steps.allSatisfy { $0.outcome == .success })
        #expect(reporter.recorded.first == "run backup")
        #expect(reporter.recorded.last == "end success")
        #expect(reporter.recorded.filter { $0.hasPrefix("finish ") } == summary.steps.map { "finish \($0.name): success" })

        #expect(summary.backups.count == 1)
        let backup = try #require(summary.backups.first)
        #expect(backup.verified && backup.published)
        #expect(try resources.store.list(prefix: "app/test/").map(\.key) == [backup.key, "app/test/latest.tar.gz"])
        #expect(resources.store.data("app/test/latest.tar.gz") == resources.store.data(backup.key))

        let state = try resources.openState()
        let run = try #require(try state.runs(component: "app").first)
        #expect(run.runID == summary.runID)
        #expect(run.outcome == .success)
        #expect(run.pipeline == "backup/app")
        // `cairn history --pipeline backup` finds the runs made for one component too.
        #expect(try state.runs(pipeline: "backup").map(\.runID) == [run.runID])
        #expect(try state.runs(pipeline: "back").isEmpty)
        #expect(run.finishedAt != nil)
        let steps = try state.steps(runID: run.runID)
        #expect(steps.map(\.kind) == Self.backupKinds)
        #expect(steps.allSatisfy { $0.outcome == "success" })
        #expect(try state.backup(id: backup.backupID)?.verified == true)
        #expect(try openIncidentKeys() == [])
    }

    @Test func aFailedPreCheckStopsTheRunBeforeTheBackup() throws {
        component.checkFailure = "the server does not answer"
        let summary = try runBackup()
        #expect(summary.outcome == .failure)
        #expect(summary.exitCode == 1)
        #expect(summary.steps.map(\.kind) == ["host_check", "check"])
        #expect(summary.error?.contains("the server does not answer") == true, "\(summary.error ?? "")")
        #expect(summary.backups.isEmpty)
        #expect(component.backups == 0)
        #expect(try resources.store.list(prefix: "").isEmpty)
        #expect(try resources.openState().runs(component: "app").first?.outcome == .failure)
    }

    @Test func threeFailedRunsOpenAnIncidentAndASuccessResolvesIt() throws {
        let key = "cairn/test/app/consecutive_failures"
        component.checkFailure = "the server does not answer"
        for run in 1...3 {
            #expect(try openIncidentKeys() == [], "no incident before the third failure (run \(run))")
            let summary = try runBackup()
            #expect(summary.outcome == .failure)
            #expect(summary.incidents.map(\.key) == (run == 3 ? [key] : []))
        }
        let incident = try #require(try resources.openState().openIncident(key: key))
        #expect(incident.condition == "consecutive_failures")
        #expect(incident.evidenceValue["consecutive_failures"] == .number(3))
        #expect(try openIncidentKeys() == [key])

        component.checkFailure = nil
        let recovered = try runBackup()
        #expect(recovered.outcome == .success)
        #expect(recovered.incidents.map(\.action) == ["resolve"])
        #expect(try openIncidentKeys() == [])
        #expect(try resources.openState().incidents(includeResolved: true).first?.status == .resolved)
    }

    // MARK: The commands' own runs

    @Test func validationAfterABackupReportsItHealthy() throws {
        let backup = try #require(try runBackup().backups.first)
        let summary = try runCommand("validate", .validate(components: [], allEnvironments: false))
        #expect(summary.outcome == .success, "\(summary.error ?? "")")
        let report = try healthReport(summary.steps.first)
        #expect(report.kind == "validation")
        #expect(report.ok)
        #expect(report.results.map(\.component) == ["app"])
        #expect(report.results.first?.backupID == backup.backupID)
        #expect(try openIncidentKeys() == [])
    }

    @Test func validationWithoutABackupFailsAndOpensBackupStale() throws {
        let summary = try runCommand("validate", .validate(components: [], allEnvironments: false))
        #expect(summary.outcome == .failure)
        #expect(summary.exitCode == 1)
        let report = try healthReport(summary.steps.first)
        #expect(!report.ok)
        #expect(report.results.first?.problem == .missing)
        #expect(try openIncidentKeys() == ["cairn/test/app/backup_stale"])
    }

    @Test func verifyingADamagedLatestFailsAndOpensCorruptionDetected() throws {
        _ = try runBackup()
        var damaged = try #require(resources.store.data("app/test/latest.tar.gz"))
        damaged[damaged.count - 8] ^= 0xFF  // the gzip CRC: only the gzip layer's own check can fail
        resources.store.put("app/test/latest.tar.gz", damaged)

        let summary = try runCommand("verify", .verify(component: "app", backup: "latest"), component: "app")
        #expect(summary.outcome == .failure)
        #expect(summary.exitCode == 1)
        #expect(summary.steps.first?.checks.failures.isEmpty == false)
        let key = "cairn/test/app/corruption_detected"
        #expect(summary.incidents.map(\.key) == [key])
        #expect(try openIncidentKeys() == [key])
    }

    @Test func aRestoreWithoutATargetIsRefusedBeforeAnythingRuns() throws {
        #expect(!component.traits.restoresInPlace)
        let refused = #expect(throws: CairnError.self) {
            try runCommand("restore", .restore(component: "app", backup: "latest", target: "", drill: false), component: "app")
        }
        #expect(refused?.kind == .usage)
        #expect(refused?.message.contains("needs a target") == true, "\(refused?.message ?? "")")
        #expect(reporter.recorded.isEmpty)
        #expect(try resources.openState().runs().isEmpty)
    }

    // MARK: Without the state database

    @Test func aPipelineThatChangesNothingRunsWithoutHistoryAndABackupDoesNot() throws {
        let made = try runBackup()
        #expect(made.outcome == .success)
        resources.stateUnavailable = true

        let validation = try runCommand("validate", .validate(components: [], allEnvironments: false))
        #expect(validation.outcome == .success, "\(validation.error ?? "")")
        #expect(try healthReport(validation.steps.first).ok)

        let refused = #expect(throws: CairnError.self) { try runBackup() }
        #expect(refused?.message.contains("cannot open the state database") == true, "\(refused?.message ?? "")")
        #expect(component.backups == 1, "the backup pipeline stopped before its backup step")

        resources.stateUnavailable = false
        let runs = try resources.openState().runs()
        #expect(runs.map(\.runID) == [made.runID], "only the first backup run is in the history")
        #expect(try resources.store.list(prefix: "app/test/").count == 2)
    }
}
