import CairnCore
/// What a hook is told about the run: the JSON event on stdin and the CAIRN_* variables carry
/// the same fields.
public struct HookContext: Sendable {
    public var phase: HookPhase
    public var pipeline: String
    public var runID: String
    public var step: String?
    public var component: String?
    public var environment: String
    public var backupID: String?
    /// running, success, partial, failure or skipped.
    public var status: String
    /// `file:///…/x.tar.gz` or `s3://bucket/key`.
    public var artifactURL: String?
    public var logFile: String?
    /// The error message, on on_error and on finally after a failure.
    public var error: String?
    /// Open-ended extras for the JSON event only (sizes, durations…).
    public var details: [String: JSONValue]

    public init(phase: HookPhase, pipeline: String, runID: String, step: String? = nil,
                component: String? = nil, environment: String, backupID: String? = nil,
                status: String = "running", artifactURL: String? = nil, logFile: String? = nil,
                error: String? = nil, details: [String: JSONValue] = [:]) {
        self.phase = phase; self.pipeline = pipeline; self.runID = runID; self.step = step
        self.component = component; self.environment = environment; self.backupID = backupID
        self.status = status; self.artifactURL = artifactURL; self.logFile = logFile
        self.error = error; self.details = details
    }
}
