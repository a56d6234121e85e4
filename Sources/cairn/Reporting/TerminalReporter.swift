import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// On a terminal: one status line redrawn in place (step, bytes, rate, ETA), with finished
/// steps printed above it.
final class TerminalReporter: RunReporter, @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    private var current: String?
    private var stepStart = Date()
    private var lastDraw = Date.distantPast

    private func emit(_ text: String, keepLine: Bool) {
        // \r + clear-to-end redraws the status line; finished lines end with a newline.
        StandardStreams.err("\r\u{1B}[K\(text)\(keepLine ? "\n" : "")")
    }

    func runStarted(runID: String, pipeline: String, logFile: String?) {
        lock.lock(); defer { lock.unlock() }
        emit("\(pipeline) (\(runID))\(logFile.map { ", log \($0)" } ?? "")", keepLine: true)
    }

    func stepStarted(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        current = name
        stepStart = Date()
        emit("… \(name)", keepLine: false)
    }

    func stepProgress(_ name: String, done: UInt64, total: UInt64) {
        lock.lock(); defer { lock.unlock() }
        guard Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        let elapsed = max(Date().timeIntervalSince(stepStart), 0.001)
        let rate = Double(done) / elapsed
        var text = "… \(name)  \(Output.bytes(done))"
        if total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 24
            let filled = Int(fraction * Double(width))
            text += " of \(Output.bytes(total)) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))] \(Int(fraction * 100))%"
            if rate > 0, done < total { text += "  ETA \(Int((Double(total - done) / rate).rounded())) s" }
        }
        text += "  \(Output.bytes(UInt64(rate)))/s"
        emit(text, keepLine: false)
    }

    func stepFinished(_ step: StepSummary) {
        lock.lock(); defer { lock.unlock() }
        let mark = Marks.mark(step.outcome, on: STDERR_FILENO)
        emit("\(mark) \(step.name) (\(String(format: "%.1f", step.seconds)) s)\(step.error.map { ": \($0)" } ?? "")", keepLine: true)
    }

    func runFinished(_ summary: RunSummary) {}
}
