import CairnHost
import Foundation

/// Plain, timestamped lines on stderr: for logs, cron mail and CI, where a redrawn bar is noise.
final class LineReporter: RunReporter, @unchecked Sendable {
    // @unchecked: `lastProgress` is guarded by `lock`.
    private let lock = NSLock()
    private var lastProgress: [String: Date] = [:]
    private let formatter = ISO8601DateFormatter()

    func write(_ text: String) {
        FileHandle.standardError.write(Data("\(formatter.string(from: Date())) \(text)\n".utf8))
    }

    func runStarted(runID: String, pipeline: String, logFile: String?) {
        write("run \(runID): pipeline \(pipeline) started\(logFile.map { ", log \($0)" } ?? "")")
    }

    func stepStarted(_ name: String) { write("step '\(name)' started") }

    func stepProgress(_ name: String, done: UInt64, total: UInt64) {
        lock.lock()
        let due = Date().timeIntervalSince(lastProgress[name] ?? .distantPast) >= 10
        if due { lastProgress[name] = Date() }
        lock.unlock()
        guard due else { return }
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
