import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show recent runs, newest first: when they started, how long they took and how they ended.",
        discussion: "With --json, each run is printed with its steps.")

    @Option(name: .long, help: "Only runs of this component, alone or as a step of a pipeline.")
    var component: String?

    @Option(name: .long, help: "Only runs of this pipeline.")
    var pipeline: String?

    @Option(name: .long, help: "How many runs to show.")
    var limit = 20

    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        let workspace = try globals.workspace()
        guard let path = try workspace.existingStatePath(json: globals.json, nothing: "no runs recorded yet") else { return }
        let state = try workspace.openState()
        // A run killed with -9 shows as interrupted, not running; only a pipeline run marks it,
        // so that it is also escalated.
        let runs = try state.runs(pipeline: pipeline, component: component, limit: limit).map(state.asSeen)
        if globals.json {
            return try Output.json(try runs.map { Entry(run: $0, steps: try state.steps(runID: $0.runID)) })
        }
        if runs.isEmpty {
            let filters = [pipeline.map { "pipeline \($0)" }, component.map { "component \($0)" }].compactMap { $0 }
            return Output.line("no runs recorded\(filters.isEmpty ? "" : " for " + filters.joined(separator: ", ")) in \(path)")
        }
        if let component {
            // The count escalation uses (runs that failed before the backup step count too), shared
            // by every host through the store; else what this machine's backup records say.
            let environment = workspace.environmentName
            let failures = try state.streak(component: component, environment: environment)?.failures
                ?? state.consecutiveFailures(component: component, environment: environment)
            Output.line("\(component) in \(workspace.environmentName): \(failures) consecutive failed backup\(failures == 1 ? "" : "s") since the last success")
        }
        let formatter = ISO8601DateFormatter()
        Output.table(["RUN", "PIPELINE", "COMPONENT", "ENV", "STARTED (UTC)", "DURATION", "OUTCOME", "ERROR"], runs.map { run in
            [run.runID, run.pipeline, run.component ?? "-", run.environment, formatter.string(from: run.startedAt),
             run.finishedAt.map { Self.duration($0.timeIntervalSince(run.startedAt)) } ?? "-",
             run.outcome.rawValue, Self.shorten(run.error ?? "")]
        })
    }

    /// A run as --json prints it: its own fields plus "steps".
    struct Entry: Encodable {
        var run: RunRecord
        var steps: [StepRecord]

        enum CodingKeys: String, CodingKey { case steps }

        func encode(to encoder: any Encoder) throws {
            try run.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(steps, forKey: .steps)
        }
    }

    /// "850ms", "42s", "3m05s", "2h04m".
    static func duration(_ seconds: TimeInterval) -> String {
        if seconds < 1 { return "\(Int((max(0, seconds) * 1000).rounded()))ms" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// One line of at most 60 characters, so a long error does not wreck the table.
    static func shorten(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count <= 60 ? line : line.prefix(59) + "…"
    }
}
