import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// Runs a pipeline for a command and turns its outcome into output and an exit code.
enum PipelineExecution {
    static func run(_ name: String, component: String?, globals: GlobalOptions,
                    configure: (inout Configuration) -> Void = { _ in }) throws -> RunSummary {
        let workspace = try globals.workspace(configure: configure)
        let catalog = try PipelineCatalog(config: workspace.config)
        let pipeline = try catalog.resolve(name, parameters: component.map { ["component": $0] } ?? [:], resources: workspace)
        let summary = try PipelineRunner(resources: workspace, reporter: reporter(globals), scope: workspace.scope)
            .run(pipeline, component: component)
        afterRun(workspace)
        return summary
    }

    /// A command's own one-step run (`cairn verify`, `cairn validate`...): recorded, locked, hooked
    /// and escalated like any pipeline run. Returns that step; a step that produced nothing to
    /// show is thrown as the error it ended with.
    static func runCommand(_ pipeline: Pipeline, component: String? = nil, workspace: Workspace) throws -> StepSummary {
        let checked = try PipelineCatalog(config: workspace.config).check(pipeline, resources: workspace)
        // The command prints its own result; a terminal still shows the steps as they go.
        let reporter = isatty(STDERR_FILENO) == 1 && !Output.quiet ? TerminalReporter() as any RunReporter : SilentReporter()
        let summary = try PipelineRunner(resources: workspace, reporter: reporter, scope: workspace.scope).run(checked, component: component)
        afterRun(workspace)
        guard let step = summary.steps.last(where: { $0.kind == checked.steps.first?.action.kind }),
              step.result != nil || !step.checks.isEmpty else {
            let message = summary.error ?? "\(pipeline.name) produced no result (see \(summary.logFile ?? "the run log"))"
            // The runner says exit 2 when the step met a configuration error.
            throw CairnError(summary.exitCode == ExitCode.usage.rawValue ? .usage : .failure, message)
        }
        return step
    }

    /// Once a run has ended: its records shared through the store, then the metrics written from them.
    private static func afterRun(_ workspace: Workspace) {
        workspace.shareState()
        MetricsExport(workspace).export()
    }

    /// A command step's result as the report type it encodes.
    static func result<Result: Decodable>(of step: StepSummary, as type: Result.Type) throws -> Result {
        guard let value = step.result else { throw CairnError.failure(step.error ?? "\(step.name) produced no result") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Result.self, from: Data(value.jsonText.utf8))
    }

    private static func reporter(_ globals: GlobalOptions) -> any RunReporter {
        if globals.json { return JSONLinesReporter() }
        if globals.quiet { return SilentReporter() }
        if LoggingSetup.json { return JSONLinesReporter(to: STDERR_FILENO) }
        return isatty(STDERR_FILENO) == 1 ? TerminalReporter() : LineReporter()
    }

    /// Human summary on stdout (unless --json, where the summary line was already printed, or
    /// --quiet, where only a failure is said), then the documented exit code.
    static func finish(_ summary: RunSummary, globals: GlobalOptions) throws {
        if globals.quiet, !globals.json, summary.exitCode != 0 {
            Output.error("\(summary.pipeline) \(summary.outcome.rawValue): \(summary.error ?? "see \(summary.logFile ?? "the run log")")",
                         exitCode: ExitCode(rawValue: summary.exitCode) ?? .failure)
        }
        if !globals.json && !globals.quiet {
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
                    let mark = Marks.mark(component.outcome)
                    let backup = component.backupID.map { " \($0)\(component.published ? " (latest)" : "")" } ?? ""
                    Output.line("    \(mark) \(component.component)\(backup)\(component.error.map { ": \($0)" } ?? "")")
                    if let log = component.logFile { Output.line("         log: \(log)") }
                }
            }
            // On a terminal the reporter has just shown every step; the summary repeats only the failed ones.
            let shown = isatty(STDERR_FILENO) == 1
            for step in summary.steps where !shown || step.error != nil {
                let mark = Marks.mark(step.outcome)
                let result = step.result.map { " -> \($0.jsonText)" } ?? ""
                Output.line("  \(mark) \(step.name) (\(String(format: "%.2f", step.seconds)) s)\(result)\(step.error.map { ": \($0)" } ?? "")")
            }
            for incident in summary.incidents {
                Output.line("  incident \(incident.action): \(incident.key) (escalation hooks notified: \(incident.delivered) of \(incident.hooks))")
            }
            if let log = summary.logFile { Output.line("  log: \(log)") }
        }
        if summary.exitCode != 0 { throw ExitRequest(code: ExitCode(rawValue: summary.exitCode) ?? .failure) }
    }
}
