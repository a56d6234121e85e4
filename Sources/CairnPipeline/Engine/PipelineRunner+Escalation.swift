import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// A finished run's findings for escalation: what its steps saw, plus one backup outcome per
/// component the pipeline set out to back up.
extension PipelineRunner {
    func escalate(_ pipeline: Pipeline, context: RunContext, outcome: Outcome, error: String?,
                  scope: RunScope) -> [EscalationNotice] {
        // A run stopped by the operator proves nothing either way.
        guard outcome != .cancelled else { return [] }
        let observations = context.allObservations
            + (outcome == .skipped ? [] : backupObservations(pipeline, context: context, runError: error))
        guard !observations.isEmpty else { return [] }
        return EscalationService(resources: resources, logger: scope.logger).report(
            observations, source: ObservationSource(runID: context.runID, logFile: context.logFile, origin: "pipeline \(pipeline.name)"))
    }

    /// For each component with a backup step: failed unless the run stored a backup of it and
    /// no step of it failed. A run that stopped before the backup step (a failed pre-check, a
    /// store that is down) counts as a failed backup: no backup was made. Components skipped by
    /// a hook (exit 75) count neither way.
    func backupObservations(_ pipeline: Pipeline, context: RunContext, runError: String?) -> [ConditionObservation] {
        let catalog = try? PipelineCatalog(config: config)
        var components = Self.backupComponents(pipeline.steps, catalog: catalog)
        for step in context.steps where step.kind == "backup" {
            if let component = step.component, !components.contains(component) { components.append(component) }
        }
        return components.flatMap { component -> [ConditionObservation] in
            if case .skipped? = context.state(of: component) { return [] }
            let failedStep = context.steps.first {
                $0.component == component && [.failure, .continued, .cancelled].contains($0.outcome)
            }
            if failedStep == nil, let backup = context.backup(of: component) {
                let summary = "backup \(backup.backupID) succeeded"
                return [.healthy(.consecutiveFailures, component: component, summary), .healthy(.backupStale, component: component, summary)]
            }
            let reason = failedStep.map { "\($0.name): \($0.error ?? "failed")" } ?? runError ?? "the run ended before the backup step"
            return [.problem(.consecutiveFailures, component: component, reason, evidence: [
                "last_error": .string(reason), "run_id": .string(context.runID), "pipeline": .string(pipeline.name),
                "log_file": (context.log(of: component) ?? context.logFile).map { .string($0) } ?? .null,
            ])]
        }
    }

    /// A run whose process died (kill -9, the OOM killer, a lost node) never reached `escalate`:
    /// each component it was backing up counts one failed backup, so runs killed night after night
    /// still open `consecutive_failures`.
    func escalateDeadRuns(_ runs: [RunRecord], state: StateStore, scope: RunScope) {
        let catalog = try? PipelineCatalog(config: config)
        for run in runs {
            var components = ((try? state.steps(runID: run.runID)) ?? []).filter { $0.kind == "backup" }.compactMap(\.component)
            if components.isEmpty, let pipeline = try? catalog?.pipeline(named: String(run.pipeline.split(separator: "/")[0])) {
                let expanded = catalog?.expanded(pipeline.steps) ?? pipeline.steps
                let backsUp = expanded.contains { if case .backup = $0.action { return true } else { return false } }
                components = run.component.map { backsUp ? [$0] : [] } ?? Self.backupComponents(pipeline.steps, catalog: catalog)
            }
            let reason = "run \(run.runID) died before it finished: \(run.error ?? "its process is gone")"
            let observations = Array(Set(components)).sorted().map { component in
                ConditionObservation.problem(.consecutiveFailures, component: component, reason, evidence: [
                    "last_error": .string(reason), "run_id": .string(run.runID), "pipeline": .string(run.pipeline),
                    "log_file": run.logFile.map { .string($0) } ?? .null,
                ], environment: run.environment)
            }
            guard !observations.isEmpty else { continue }
            EscalationService(resources: resources, logger: scope.logger).report(
                observations, source: ObservationSource(runID: run.runID, logFile: run.logFile, origin: "pipeline \(run.pipeline)"))
        }
    }

    /// Components named by `backup:` steps, including those inside parallel groups and nested
    /// pipelines (the emergency backup runs the `backup` pipeline once per component).
    static func backupComponents(_ steps: [PipelineStep], catalog: PipelineCatalog?) -> [String] {
        var names: [String] = []
        for step in catalog?.expanded(steps) ?? steps {
            if case .backup(let name, _) = step.action, !names.contains(name), !name.contains("${") { names.append(name) }
        }
        return names
    }
}
