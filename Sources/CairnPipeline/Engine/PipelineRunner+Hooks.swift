import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// Hooks at run, component and step level (docs/hooks.md).
extension PipelineRunner {
    enum HookVerdict { case ok, skipped, failed(String) }

    func ensureComponent(_ component: String, context: RunContext, scope: RunScope) -> RunContext.ComponentState {
        if let state = context.state(of: component) { return state }
        context.setState(.ready, for: component)
        let state: RunContext.ComponentState
        switch componentHooks(component, phase: .before, context: context, scope: scope, status: "running", error: nil) {
        case .ok: state = .ready
        case .skipped: state = .skipped
        case .failed(let message): state = .aborted("a before hook of component \(component) failed, so the component was not backed up: \(message)")
        }
        context.setState(state, for: component)
        return state
    }

    func componentHooks(_ component: String, phase: HookPhase, context: RunContext, scope: RunScope,
                                status: String, error: String?) -> HookVerdict {
        let specs = config.component(named: component)?.hooks[phase] ?? []
        return runHooks(specs, phase: phase, step: nil, component: component, context: context, scope: scope, status: status, error: error)
    }

    func stepHooks(_ step: PipelineStep, phase: HookPhase, context: RunContext, scope: RunScope,
                           status: String, error: String?) -> HookVerdict {
        runHooks(step.hooks[phase], phase: phase, step: step.name, component: step.action.component, context: context,
                 scope: scope, status: status, error: error)
    }

    func runHookPhase(_ phase: HookPhase, _ set: HookSet, context: RunContext, scope: RunScope,
                              status: String, error: String?) -> HookVerdict {
        runHooks(set[phase], phase: phase, step: nil, component: context.component, context: context, scope: scope,
                 status: status, error: error)
    }

    /// Runs hooks of one phase in order. `before`: the first failure or skip decides. Other
    /// phases: every hook runs; failures are logged (they cannot undo what happened).
    func runHooks(_ specs: [HookSpec], phase: HookPhase, step: String?, component: String?, context: RunContext,
                          scope: RunScope, status: String, error: String?) -> HookVerdict {
        var verdict = HookVerdict.ok
        for spec in specs {
            let backup = component.flatMap { context.backup(of: $0) }
            let hookContext = HookContext(
                phase: phase, pipeline: context.pipeline, runID: context.runID, step: step, component: component,
                environment: resources.environmentName, backupID: backup?.backupID, status: status,
                artifactURL: backup.map { resources.artifactURL(key: $0.published ? $0.latestKey : $0.key) },
                logFile: context.logFile, error: error, details: [:])
            let logger = scope.logger
            let name = URL(fileURLWithPath: spec.path).lastPathComponent
            do {
                // `finally` hooks must run even after Ctrl-C, so they get a fresh cancellation.
                let cancellation = phase == .finally ? Cancellation() : scope.cancellation
                let result = try resources.hooks.run(spec, context: hookContext, cancellation: cancellation) { line, isError in
                    logger.log(level: isError ? .warning : .info, "[\(name)] \(line)")
                }
                switch result.status {
                case .ok: logger.info("\(result.message)")
                case .skip:
                    logger.info("\(result.message): skip requested (exit 75)")
                    if phase == .before { return .skipped }
                default:
                    logger.error("\(result.message)")
                    if phase == .before { return .failed(result.message) }
                    verdict = .failed(result.message)
                }
            } catch {
                logger.error("hook \(spec.path) could not run: \(describe(error))")
                if phase == .before { return .failed(describe(error)) }
                verdict = .failed(describe(error))
            }
        }
        return verdict
    }
}
