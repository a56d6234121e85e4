import CairnHost
import Foundation

/// Runs a pipeline for a command and turns its outcome into output and an exit code.
enum PipelineExecution {
    static func run(_ name: String, component: String?, globals: GlobalOptions,
                    configure: (inout Configuration) -> Void = { _ in }) throws -> RunSummary {
        let workspace = try globals.workspace(configure: configure)
        let catalog = try PipelineCatalog(config: workspace.config)
        let pipeline = try catalog.resolve(name, parameters: component.map { ["component": $0] } ?? [:],
                                           workspace: workspace, hooks: workspace.hookRunner())
        let reporter: any RunReporter = globals.json ? JSONLinesReporter()
            : isatty(STDERR_FILENO) == 1 ? TerminalReporter() as any RunReporter : LineReporter()
        return try PipelineRunner(workspace: workspace, reporter: reporter).run(pipeline, component: component)
    }

    /// Human summary on stdout (unless --json, where the summary line was already printed), then
    /// the documented exit code.
    static func finish(_ summary: RunSummary, globals: GlobalOptions) throws {
        if !globals.json {
            Output.line("\(summary.pipeline)\(summary.component.map { " \($0)" } ?? ""): \(summary.outcome.rawValue) (run \(summary.runID))")
            for backup in summary.backups {
                let state = backup.published ? "published as \(backup.latestKey)" : backup.verified ? "verified, not published"
                    : backup.verification != nil ? "failed verification and was removed" : "stored, not verified"
                Output.line("  backup \(backup.backupID): \(backup.files) files, \(Output.bytes(backup.bytes)) -> \(Output.bytes(backup.compressedBytes)), \(state)")
                Output.line("    at \(backup.store) \(backup.key)")
            }
            if summary.components.count > 1 {
                Output.line("  components:")
                for component in summary.components {
                    let mark = component.outcome == .success ? "ok  " : component.outcome == .skipped ? "skip" : "FAIL"
                    let backup = component.backupID.map { " \($0)\(component.published ? " (latest)" : "")" } ?? ""
                    Output.line("    \(mark) \(component.component)\(backup)\(component.error.map { ": \($0)" } ?? "")")
                    if let log = component.logFile { Output.line("         log: \(log)") }
                }
            }
            for step in summary.steps {
                let mark = step.outcome == .success ? "ok  " : step.outcome == .skipped ? "skip" : step.outcome == .continued ? "cont" : "FAIL"
                let result = step.result.map { " -> \($0.jsonText)" } ?? ""
                Output.line("  \(mark) \(step.name) (\(String(format: "%.2f", step.seconds)) s)\(result)\(step.error.map { ": \($0)" } ?? "")")
            }
            if let log = summary.logFile { Output.line("  log: \(log)") }
        }
        if summary.exitCode != 0 { throw ExitRequest(code: ExitCode(rawValue: summary.exitCode) ?? .failure) }
    }
}
