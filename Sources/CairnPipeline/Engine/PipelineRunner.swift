import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation
import Logging

/// Runs a resolved pipeline: lock, log file, run/component/step hooks, retries, timeouts,
/// parallel groups, history, the record file, and one outcome (success, partial, failure, skipped).
public final class PipelineRunner: @unchecked Sendable {
    // @unchecked: immutable after init; per-run state lives in RunContext.
    let resources: any RunResources
    let reporter: RunReporter
    /// The invocation's logger (stderr) and cancellation (Ctrl-C).
    let scope: RunScope

    public init(resources: any RunResources, reporter: RunReporter, scope: RunScope) {
        self.resources = resources
        self.reporter = reporter
        self.scope = scope
    }

    var config: Configuration { resources.config }

    /// How a list of steps ended.
    private struct SequenceResult {
        var stopped = false     // a step failed with on_error: fail
        var degraded = false    // something failed but the run went on
        var succeeded = false   // at least one step did its work
        var error: String?
    }

    public func run(_ pipeline: Pipeline, component: String?) throws -> RunSummary {
        // The state database usually sits beside a local store; when the store is what is broken, a
        // run that changes nothing (a check) still runs, without history or lock, and says so.
        let state: StateStore?
        do { state = try resources.openState() } catch where pipeline.changesNothing {
            scope.logger.warning("\(describe(error)); \(pipeline.name) runs without history or lock (it changes nothing)")
            state = nil
        }
        let dead = try state?.markInterruptedRuns() ?? []
        for run in dead {
            scope.logger.warning("run \(run.runID) of \(run.pipeline) was interrupted (its process pid \(run.pid) is gone); marked interrupted")
        }
        if let state { escalateDeadRuns(dead, state: state, scope: scope) }
        let started = Date()
        let logPath = RunLog.path(logDir: config.logDir, pipeline: pipeline.name, component: component, date: started)
        let lockName = component.map { "\(pipeline.name)/\($0)" } ?? pipeline.name
        let runID: String
        do {
            runID = try state?.beginRun(pipeline: lockName, environment: resources.environmentName, component: component,
                                        logFile: logPath).runID ?? StateStore.runID(startedAt: started, pid: LocalProcess.pid)
        } catch let error as StateDatabaseError where error.cause == .disk {
            // The disk is what failed: on-call hears of it though no incident can be stored.
            _ = EscalationService(resources: resources, logger: scope.logger).reportUnrecorded(
                .problem(.resourcesExhausted, component: "host", "\(pipeline.name) could not start: \(error.message)"),
                source: ObservationSource(runID: nil, logFile: nil, origin: "pipeline \(pipeline.name)"))
            throw error
        }
        let runLog = RunLog(path: logPath)
        let next = scope.logger
        var logger = Logger(label: "cairn.run") { _ in RunLogHandler(log: runLog, next: next) }
        logger[metadataKey: "run"] = .string(runID)
        let runScope = scope.with(logger: logger)
        let context = RunContext(runID: runID, pipeline: pipeline.name, component: component, logFile: logPath)
        defer { context.leases.releaseAll() }
        reporter.runStarted(runID: runID, pipeline: pipeline.name, logFile: logPath)
        logger.info("run \(runID): pipeline \(pipeline.name)\(component.map { " for \($0)" } ?? "") in environment \(resources.environmentName)")

        var result = SequenceResult()
        var runSkipped = false
        let runHooks = mergedRunHooks(pipeline)
        switch runHookPhase(.before, runHooks, context: context, scope: runScope, status: "running", error: nil) {
        case .failed(let message): result.stopped = true; result.error = message
        case .skipped: runSkipped = true
        case .ok: result = runSequence(pipeline.steps, context: context, scope: runScope)
        }
        // Component-level after/on_error/finally, once per component the run touched.
        for (name, componentState) in context.touchedComponents {
            let failed = context.steps.contains { $0.component == name && ($0.outcome == .failure || $0.outcome == .continued) }
            switch componentState {
            case .ready:
                _ = componentHooks(name, phase: failed ? .onError : .after, context: context, scope: runScope,
                                   status: failed ? "failure" : "success", error: failed ? result.error : nil)
            case .aborted(let reason):
                _ = componentHooks(name, phase: .onError, context: context, scope: runScope, status: "failure", error: reason)
            case .skipped:
                break
            }
            let status: String
            switch componentState {
            case .skipped: status = "skipped"
            case .aborted: status = "failure"
            case .ready: status = failed ? "failure" : "success"
            }
            _ = componentHooks(name, phase: .finally, context: context, scope: runScope, status: status, error: nil)
        }
        let cancelled = scope.cancellation.isCancelled
        // Every component the run works on was skipped by its hooks (exit 75): the run is skipped.
        let components = context.touchedComponents
        let allComponentsSkipped = !components.isEmpty && components.allSatisfy { if case .skipped = $0.1 { return true } else { return false } }
        let outcome: Outcome = runSkipped || (allComponentsSkipped && !result.stopped && !result.degraded) ? .skipped
            : cancelled ? .cancelled
            : result.stopped ? .failure
            : result.degraded ? (result.succeeded ? .partial : .failure)
            : (!result.succeeded && context.steps.allSatisfy { $0.outcome == .skipped }) ? .skipped
            : .success
        discardUnverifiedBackups(context, pipeline: pipeline, outcome: outcome, scope: runScope)
        let status = outcome == .continued ? "success" : outcome.rawValue
        if outcome != .skipped {
            _ = runHookPhase(outcome == .success ? .after : .onError, runHooks, context: context, scope: runScope,
                             status: status, error: result.error)
        }
        _ = runHookPhase(.finally, runHooks, context: context, scope: runScope, status: status, error: result.error)
        // Notifiers run under their own timeouts and cannot change the outcome. A configuration
        // error escalates nothing: no incident, no failed backup toward consecutive_failures.
        let configurationError = context.configurationError
        if let configurationError {
            logger.error("configuration error: \(configurationError); nothing is escalated: fix the configuration (cairn config check)")
        }
        let incidents = configurationError != nil ? [] : escalate(pipeline, context: context, outcome: outcome, error: result.error, scope: runScope)
        let exitCode = configurationError != nil && outcome != .cancelled ? ExitCode.usage : outcome.exitCode

        let summary = RunSummary(runID: runID, pipeline: pipeline.name, environment: resources.environmentName,
                                 component: component, outcome: outcome, exitCode: exitCode.rawValue,
                                 startedAt: started, finishedAt: Date(), logFile: logPath,
                                 error: cancelled ? "cancelled by the operator" : result.error,
                                 steps: context.steps, backups: context.allBackups, components: componentSummaries(context), incidents: incidents)
        let historyOutcome = Outcome(rawValue: outcome == .cancelled ? "interrupted" : outcome.rawValue) ?? .failure
        try? state?.finishRun(runID, outcome: historyOutcome, error: summary.error)
        writeRecordLines(summary)
        logger.info("run \(runID) finished: \(outcome.rawValue)\(summary.error.map { ": \($0)" } ?? "")")
        reporter.runFinished(summary)
        return summary
    }

    private func componentSummaries(_ context: RunContext) -> [ComponentSummary] {
        context.touchedComponents.map { name, state in
            let steps = context.steps.filter { $0.component == name }
            let failed = steps.first { [.failure, .continued, .cancelled].contains($0.outcome) }
            let outcome: Outcome
            switch state {
            case .skipped: outcome = .skipped
            case .aborted: outcome = .failure
            case .ready: outcome = failed == nil ? .success : .failure
            }
            var error = failed?.error
            if case .aborted(let reason) = state { error = reason }
            let backup = context.backup(of: name)
            return ComponentSummary(component: name, outcome: outcome, backupID: backup?.backupID, published: backup?.published ?? false,
                                    error: error, logFile: context.log(of: name))
        }
    }

    private func mergedRunHooks(_ pipeline: Pipeline) -> HookSet {
        var set = config.hooks
        set.before += pipeline.hooks.before
        set.after += pipeline.hooks.after
        set.onError += pipeline.hooks.onError
        set.finally += pipeline.hooks.finally
        return set
    }

    // MARK: Sequences and steps

    private func runSequence(_ steps: [PipelineStep], context: RunContext, scope: RunScope) -> SequenceResult {
        var result = SequenceResult()
        for step in steps {
            if scope.cancellation.isCancelled {
                result.stopped = true
                result.error = result.error ?? "cancelled by the operator"
                break
            }
            let outcome = runStep(step, context: context, scope: scope)
            switch outcome.outcome {
            case .success: result.succeeded = true
            case .partial: result.succeeded = true; result.degraded = true; result.error = result.error ?? outcome.error
            case .skipped: break
            case .continued: result.degraded = true; result.error = result.error ?? outcome.error
            case .failure, .cancelled, .interrupted, .running:
                result.stopped = true
                result.error = outcome.error
            }
            if result.stopped { break }
        }
        return result
    }

    /// Runs one step with its hooks, retries and timeout; records it.
    private func runStep(_ step: PipelineStep, context: RunContext, scope: RunScope) -> StepSummary {
        let index = context.reserveIndex()
        let started = Date()
        var summary = StepSummary(name: step.name, kind: step.action.kind, component: step.action.component,
                                  outcome: .success, seconds: 0, attempts: 0, error: nil, checks: [], result: nil)
        let finish: (StepSummary) -> StepSummary = { finished in
            var final = finished
            final.seconds = Date().timeIntervalSince(started)
            if case .parallel = step.action {} else { context.append(final) }
            self.recordStep(final, index: index, started: started, context: context)
            self.reporter.stepFinished(final)
            return final
        }
        // Component hooks and state: a failed `before` aborts the component, 75 skips it.
        if let component = step.action.component {
            switch ensureComponent(component, context: context, scope: scope) {
            case .aborted(let reason):
                summary.outcome = step.onError == .continue ? .continued : .failure
                summary.error = reason
                return finish(summary)
            case .skipped:
                summary.outcome = .skipped
                summary.error = "skipped: component \(component) was skipped earlier in this run (a hook, or another run holds its lock)"
                return finish(summary)
            case .ready: break
            }
        }
        reporter.stepStarted(step.name)
        switch stepHooks(step, phase: .before, context: context, scope: scope, status: "running", error: nil) {
        case .failed(let message):
            summary.outcome = step.onError == .continue ? .continued : .failure
            summary.error = message
        case .skipped:
            summary.outcome = .skipped
        case .ok:
            summary = attempt(step, summary: summary, context: context, scope: scope)
        }
        if summary.outcome != .skipped {
            let failed = summary.outcome == .failure || summary.outcome == .continued
            _ = stepHooks(step, phase: failed ? .onError : .after, context: context, scope: scope,
                          status: failed ? "failure" : "success", error: summary.error)
        }
        _ = stepHooks(step, phase: .finally, context: context, scope: scope, status: summary.outcome.rawValue, error: summary.error)
        if summary.outcome != .success, summary.outcome != .skipped {
            scope.logger.error("step '\(step.name)' \(summary.outcome == .continued ? "failed (on_error: continue)" : "failed"): \(summary.error ?? "")")
        }
        return finish(summary)
    }

    /// Attempts with retries (exponential backoff) under the step's deadline.
    private func attempt(_ step: PipelineStep, summary: StepSummary, context: RunContext, scope: RunScope) -> StepSummary {
        var summary = summary
        var delay = step.retryDelay
        for attempt in 1...(step.retries + 1) {
            summary.attempts = attempt
            let stepCancellation = Cancellation(parent: scope.cancellation)
            let deadline = DeadlineTimer(seconds: step.timeout, cancellation: stepCancellation)
            let stepScope = scope.with(cancellation: stepCancellation)
            // Only the last attempt's findings count: a retry that succeeds clears what the first saw.
            var observations: [ConditionObservation]?, retrying = false
            defer { if !retrying { context.observe(observations ?? []) } }
            do {
                let work = try StepExecutor(resources: resources, scope: stepScope, context: context, runner: self, step: step).execute()
                deadline.stop()
                observations = ConditionFindings.after(step.action, work: work)
                summary.checks = work.checks
                summary.result = work.result
                summary.outcome = work.outcome
                summary.error = work.error
                if work.outcome == .failure { throw CairnError.failure(work.error ?? "failed") }
                if work.outcome == .partial && step.onError == .fail {
                    // A parallel group where some members failed: the run goes on, degraded.
                    summary.outcome = .partial
                }
                return summary
            } catch {
                deadline.stop()
                if let locked = error as? ComponentLocked, let component = step.action.component {
                    // Another run is backing the component up: its later steps are skipped too.
                    context.setState(.skipped, for: component)
                    summary.error = locked.message
                    summary.outcome = .skipped
                    observations = []
                    return summary
                }
                if !deadline.fired, ConfigurationFailure.describes(error) {
                    // No retry fixes a configuration, and it says nothing about the store or the source.
                    context.configurationFailed(describe(error))
                    summary.error = describe(error)
                    summary.outcome = .failure
                    observations = []
                    return summary
                }
                if observations == nil {
                    observations = ConditionFindings.after(step.action, error: error)
                }
                summary.error = deadline.fired ? "timed out after \(formatSeconds(step.timeout ?? 0)) (\(describe(error)))" : describe(error)
                summary.outcome = step.onError == .continue ? .continued : .failure
                if scope.cancellation.isCancelled { summary.outcome = .cancelled; return summary }
                guard attempt <= step.retries else { return summary }
                scope.logger.warning("step '\(step.name)' attempt \(attempt) of \(step.retries + 1) failed: \(summary.error ?? ""); retrying in \(formatSeconds(delay))")
                if !sleep(delay, unless: scope.cancellation) { summary.outcome = .cancelled; return summary }
                retrying = true
                delay = min(delay * 2, 3600)
            }
        }
        return summary
    }

    /// Runs members of a parallel group on their own threads and waits for all of them.
    func runParallel(_ steps: [PipelineStep], context: RunContext, scope: RunScope) -> [StepSummary] {
        let results = LockedArray<StepSummary?>(repeating: nil, count: steps.count)
        let group = DispatchGroup()
        for (index, step) in steps.enumerated() {
            group.enter()
            Thread.detachNewThread {
                results[index] = self.runStep(step, context: context, scope: scope)
                group.leave()
            }
        }
        group.wait()
        return results.values.compactMap { $0 }
    }

    func runNested(_ pipeline: Pipeline, context: RunContext, scope: RunScope) -> (Outcome, String?) {
        let result = runSequence(pipeline.steps, context: context, scope: scope)
        if result.stopped { return (.failure, result.error) }
        return (result.degraded ? .partial : .success, result.error)
    }
}
