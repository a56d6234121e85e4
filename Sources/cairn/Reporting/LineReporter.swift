import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// Plain, timestamped lines on stderr: for logs, cron mail and CI, where a redrawn bar is noise.
final class LineReporter: RunReporter, @unchecked Sendable {
    // @unchecked: the formatter is only read, never changed, after init.
    private let formatter = ISO8601DateFormatter()
    private let throttle = ProgressThrottle(every: 10)

    func write(_ text: String) {
        StandardStreams.err("\(formatter.string(from: Date())) \(text)\n")
    }

    func runStarted(runID: String, pipeline: String, logFile: String?) {
        write("run \(runID): pipeline \(pipeline) started\(logFile.map { ", log \($0)" } ?? "")")
    }

    func stepStarted(_ name: String) { write("step '\(name)' started") }

    func stepProgress(_ name: String, done: UInt64, total: UInt64) {
        guard throttle.due(name) else { return }
        write("step '\(name)': \(Output.bytes(done))\(total > 0 ? " of \(Output.bytes(total))" : "")")
    }

    func stepFinished(_ step: StepSummary) {
        write("step '\(step.name)' \(step.outcome.rawValue) after \(String(format: "%.1f", step.seconds)) s"
              + (step.attempts > 1 ? " (\(step.attempts) attempts)" : "") + (step.error.map { ": \($0)" } ?? ""))
    }

    func runFinished(_ summary: RunSummary) {
        write("run \(summary.runID) \(summary.outcome.rawValue) (exit \(summary.exitCode))")
    }
}
