import CairnCore
/// How one hook run ended. Refusals (missing, unsafe) are thrown instead, before anything runs.
public struct HookResult: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case ok
        /// Exit 75: skip this component without alerting.
        case skip
        case failed(exitCode: Int32)
        case killedBySignal(Int32)
        case timedOut
        /// Stopped because the run was cancelled (Ctrl-C, SIGTERM).
        case cancelled
    }

    public var status: Status
    public var seconds: Double
    public var resolvedPath: String
    /// One line for people: "hook /x/pre.sh exited 3 after 0.2 s".
    public var message: String

    public init(status: Status, seconds: Double, resolvedPath: String, message: String) {
        self.status = status; self.seconds = seconds; self.resolvedPath = resolvedPath; self.message = message
    }
}
