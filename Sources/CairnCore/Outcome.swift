/// How something Cairn did ended: a step, a run, a backup attempt. One vocabulary for the
/// engine, the history and the reports; the raw values are what history and `--json` show.
public enum Outcome: String, Codable, Sendable {
    /// Still going (a run in the history whose process has not finished).
    case running
    case success
    /// Some of it succeeded (a parallel group, an emergency backup where some components failed).
    case partial
    case failure
    /// Nothing to do, or a hook asked to skip (exit 75).
    case skipped
    /// Failed, but its on_error policy let the run go on.
    case continued
    /// Stopped by the operator (Ctrl-C, SIGTERM) or a deadline.
    case cancelled
    /// A run whose process died without finishing it (kill -9, a lost node); found by the next run.
    case interrupted

    public var exitCode: ExitCode {
        switch self {
        case .success, .continued: return .success
        case .partial: return .partial
        case .skipped: return .skipped
        case .failure, .cancelled, .interrupted, .running: return .failure
        }
    }
}
