import CairnCore
import Foundation
import GRDB

/// One invocation of a pipeline (or of a single component) as the state database remembers it.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"


    /// "run_20261126_190102_4821": UTC start time and pid, with "_2", "_3"... when that is taken.
    public var runID: String
    public var pipeline: String
    public var environment: String
    /// Set for single-component runs.
    public var component: String?
    public var startedAt: Date
    public var finishedAt: Date?
    public var outcome: Outcome
    public var error: String?
    public var pid: Int32
    public var hostname: String
    public var logFile: String?

    public init(runID: String, pipeline: String, environment: String, component: String? = nil, startedAt: Date,
                finishedAt: Date? = nil, outcome: Outcome, error: String? = nil, pid: Int32, hostname: String,
                logFile: String? = nil) {
        self.runID = runID; self.pipeline = pipeline; self.environment = environment; self.component = component
        self.startedAt = startedAt; self.finishedAt = finishedAt; self.outcome = outcome; self.error = error
        self.pid = pid; self.hostname = hostname; self.logFile = logFile
    }

    enum CodingKeys: String, CodingKey {
        case pipeline, environment, component, outcome, error, pid, hostname
        case runID = "run_id", startedAt = "started_at", finishedAt = "finished_at", logFile = "log_file"
    }
}
