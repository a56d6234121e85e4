import CairnCore
import CairnPipeline

/// Reports nothing while a command's own run goes: the command prints its result at the end, and
/// the run's log lines still reach stderr and the run log.
struct SilentReporter: RunReporter {
    func runStarted(runID: String, pipeline: String, logFile: String?) {}
    func stepStarted(_ name: String) {}
    func stepProgress(_ name: String, done: UInt64, total: UInt64) {}
    func stepFinished(_ step: StepSummary) {}
    func runFinished(_ summary: RunSummary) {}
}
