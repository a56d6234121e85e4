import Foundation
import Logging

/// What one attempt of a step produced.
struct StepWork {
    var outcome: Outcome = .success
    var checks: [CheckResult] = []
    var result: JSONValue?
    var error: String?
}

/// Performs one attempt of one step's action.
struct StepExecutor {
    let workspace: Workspace
    let context: RunContext
    let runner: PipelineRunner
    let step: PipelineStep

    func execute() throws -> StepWork {
        switch step.action {
        case .hostCheck:
            var paths = [workspace.config.stagingDir, workspace.config.logDir]
            if let root = try? workspace.storageSettings().1.values["root"]?.value.stringValue { paths.append(root) }
            return checked(HostChecks.all(paths: paths, thresholds: workspace.config.hostChecks))
        case .storageCheck:
            return checked(try workspace.openStorage().checkAccess())
        case .check(let component):
            return checked(try workspace.openComponent(try workspace.resolveComponent(component)).check())
        case .backup(let component, let options):
            let reporter = runner.reporter, name = step.name
            let backup = try BackupService(workspace: workspace).backup(component: component, options: options) { done, total, _ in
                reporter.stepProgress(name, done: done, total: total)
            }
            context.store(backup)
            return StepWork()
        case .verify(let component, let which):
            if which == "new" {
                guard let backup = context.backup(of: component) else {
                    throw CairnError.failure("there is no new backup of \(component) in this run to verify (a 'backup: \(component)' step must come first, or verify 'latest')")
                }
                do {
                    let (verified, report) = try BackupService(workspace: workspace).verifyNew(backup)
                    context.store(verified)
                    return StepWork(checks: report.checks)
                } catch let failure as BackupService.VerificationFailure {
                    var failed = backup
                    failed.verification = "failed: \(failure.reason)"
                    context.store(failed)
                    throw failure
                }
            }
            let report = try VerifyService(workspace: workspace).verify(component: component, selector: try BackupSelector(which))
            return checked(report.checks)
        case .publish(let component):
            guard let backup = context.backup(of: component) else {
                throw CairnError.failure("there is no new backup of \(component) in this run to publish")
            }
            context.store(try BackupService(workspace: workspace).publish(backup))
            return StepWork()
        case .restore(let component, let which, let target):
            let summary = try RestoreService(workspace: workspace).restore(component: component, selector: try BackupSelector(which), target: target)
            return StepWork(checks: summary.checks)
        case .hook(let spec):
            return try runHook(spec)
        case .action(let pluginName, let actionName, let arguments):
            let action = try NativeAction(plugin: try workspace.registry.load(pluginName), name: actionName)
            let value = try workspace.call(action, arguments: arguments)
            workspace.logger.info("action \(pluginName).\(actionName) returned \(value.jsonText)")
            return StepWork(result: value)
        case .pipeline(let name, let component):
            let parameters = (component ?? context.component).map { ["component": $0] } ?? [:]
            let nested = try PipelineCatalog(config: workspace.config).resolve(name, parameters: parameters, workspace: workspace, hooks: runner.hooks)
            var nestedWorkspace = workspace
            if let component {
                // The runbook kept one log per component of an emergency backup; so does Cairn.
                let path = RunLog.path(logDir: workspace.config.logDir, pipeline: name, component: component, date: Date())
                let log = RunLog(path: path)
                let next = workspace.logger
                var logger = Logger(label: "cairn.run") { _ in RunLogHandler(log: log, next: next) }
                logger[metadataKey: "component"] = .string(component)
                nestedWorkspace = workspace.derived(logger: logger)
                context.setLog(path, for: component)
            }
            let (outcome, error) = runner.runNested(nested, context: context, workspace: nestedWorkspace)
            return StepWork(outcome: outcome, error: error)
        case .parallel(let members):
            let results = runner.runParallel(members, context: context, workspace: workspace)
            let failed = results.filter { $0.outcome == .failure || $0.outcome == .cancelled }
            let degraded = results.contains { $0.outcome == .continued || $0.outcome == .partial }
            let firstError = (failed + results.filter { $0.error != nil }).first.map { "\($0.name): \($0.error ?? "failed")" }
            if !failed.isEmpty, failed.count == results.count { return StepWork(outcome: .failure, error: firstError) }
            if !failed.isEmpty || degraded { return StepWork(outcome: .partial, error: firstError) }
            return StepWork()
        }
    }

    /// A check step fails when any check fails; warnings pass.
    private func checked(_ results: [CheckResult]) -> StepWork {
        for result in results {
            workspace.logger.log(level: result.status == .pass ? .info : .warning,
                                 "check \(result.source)/\(result.name): \(result.status.rawValue): \(result.message)")
        }
        let failures = results.failures
        guard failures.isEmpty else {
            return StepWork(outcome: .failure, checks: results, error: failures.described)
        }
        return StepWork(checks: results)
    }

    private func runHook(_ spec: HookSpec) throws -> StepWork {
        let hookContext = HookContext(
            phase: .before, pipeline: context.pipeline, runID: context.runID, step: step.name, component: context.component,
            environment: workspace.environmentName, backupID: context.component.flatMap { context.backup(of: $0)?.backupID },
            status: "running", artifactURL: nil, logFile: context.logFile, error: nil, details: [:])
        let logger = workspace.logger
        let name = URL(fileURLWithPath: spec.path).lastPathComponent
        let result = try runner.hooks.run(spec, context: hookContext, cancellation: workspace.cancellation) { line, isError in
            logger.log(level: isError ? .warning : .info, "[\(name)] \(line)")
        }
        switch result.outcome {
        case .ok: return StepWork()
        case .skip: return StepWork(outcome: .skipped, error: result.message)
        default: throw CairnError.failure(result.message)
        }
    }
}
