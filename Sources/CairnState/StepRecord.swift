import CairnCore
import Foundation
import GRDB

/// One step of a run: a backup, a hook, a check... Keyed by (runID, index).
public struct StepRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "steps"

    public var runID: String
    /// Order in the run; steps that run in parallel still get distinct indexes.
    public var index: Int
    /// "backup redis", "hook pre.sh".
    public var name: String
    /// check|backup|verify|restore|publish|hook|action|storage|host_check|parallel
    public var kind: String
    public var component: String?
    public var startedAt: Date
    public var finishedAt: Date?
    /// running|success|failure|skipped|continued (failed, but on_error: continue let the run go on).
    public var outcome: String
    public var attempts: Int
    public var bytes: Int64
    public var error: String?

    public init(runID: String, index: Int, name: String, kind: String, component: String? = nil, startedAt: Date,
                finishedAt: Date? = nil, outcome: String, attempts: Int = 1, bytes: Int64 = 0, error: String? = nil) {
        self.runID = runID; self.index = index; self.name = name; self.kind = kind; self.component = component
        self.startedAt = startedAt; self.finishedAt = finishedAt; self.outcome = outcome; self.attempts = attempts
        self.bytes = bytes; self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, component, outcome, attempts, bytes, error
        // "index" is an SQL keyword; a plain column name keeps hand-written SQL simple.
        case runID = "run_id", index = "step_index", startedAt = "started_at", finishedAt = "finished_at"
    }
}
