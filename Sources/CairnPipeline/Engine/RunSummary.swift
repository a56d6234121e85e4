import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// What one step did.
public struct StepSummary: Codable, Sendable {
    public var name: String
    public var kind: String
    public var component: String?
    public var outcome: Outcome
    public var seconds: Double
    public var attempts: Int
    public var error: String?
    public var checks: [CheckResult]
    /// A native action's return value.
    public var result: JSONValue?
}

/// What a pipeline run did: the summary `--json` prints and hooks receive.
public struct RunSummary: Codable, Sendable {
    public var runID: String
    public var pipeline: String
    public var environment: String
    public var component: String?
    public var outcome: Outcome
    public var exitCode: Int32
    public var startedAt: Date
    public var finishedAt: Date
    public var logFile: String?
    public var error: String?
    public var steps: [StepSummary]
    public var backups: [BackupSummary]
    /// One line per component the run worked on (the emergency summary).
    public var components: [ComponentSummary] = []
    /// Incidents this run opened, escalated or resolved (docs/escalation.md).
    public var incidents: [EscalationNotice] = []

    enum CodingKeys: String, CodingKey {
        case pipeline, environment, component, outcome, error, steps, backups, components, incidents
        case runID = "run_id", exitCode = "exit_code", startedAt = "started_at", finishedAt = "finished_at", logFile = "log_file"
    }
}

/// How one component fared in a run.
public struct ComponentSummary: Codable, Sendable {
    public var component: String
    /// success, failure or skipped.
    public var outcome: Outcome
    public var backupID: String?
    public var published: Bool
    /// The first error of its steps.
    public var error: String?
    /// Its own log file, when it had one (nested pipelines for one component).
    public var logFile: String?

    enum CodingKeys: String, CodingKey {
        case component, outcome, published, error
        case backupID = "backup_id", logFile = "log_file"
    }
}

/// Receives a run's events as they happen (terminal progress bar, plain lines, JSON lines).
public protocol RunReporter: Sendable {
    func runStarted(runID: String, pipeline: String, logFile: String?)
    func stepStarted(_ name: String)
    /// Bytes done of total (0 = unknown) for the step; called often, reporters rate-limit.
    func stepProgress(_ name: String, done: UInt64, total: UInt64)
    func stepFinished(_ step: StepSummary)
    func runFinished(_ summary: RunSummary)
}
