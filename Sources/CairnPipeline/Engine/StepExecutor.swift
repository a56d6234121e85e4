import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import Foundation
import Logging

/// What one attempt of a step produced.
struct StepWork {
    var outcome: Outcome = .success
    var checks: [CheckResult] = []
    /// What the step reports (a native action's return value, a validation's report).
    var result: JSONValue?
    var error: String?
    /// Validation or integrity findings, for escalation.
    var health: HealthReport?
}

/// Performs one attempt of one step's action.
struct StepExecutor {
    let resources: any RunResources
    let scope: RunScope
    let context: RunContext
    let runner: PipelineRunner
    let step: PipelineStep

    var config: Configuration { resources.config }
    var logger: Logger { scope.logger }

    func execute() throws -> StepWork {
        switch step.action {
        case .hostCheck:
            let paths = [config.stagingDir, config.logDir] + resources.storeLocalPaths
            return checked(HostChecks.all(paths: paths, thresholds: config.hostChecks))
        case .storageCheck:
            return checked(try resources.openStore(scope).checkAccess())
        case .check(let component):
            return checked(try resources.openComponent(component, scope).check())
        case .backup(let component, let options):
            // One writer per component and environment, on any host, whatever pipeline this is.
            try context.leases.acquire(component) {
                try StoreLease.acquire(store: try resources.openStore(scope), component: component, environment: resources.environmentName,
                                       runID: context.runID, leaseSeconds: config.lockLease, logger: logger)
            }
            let reporter = runner.reporter, name = step.name
            let backup = try backupService().backup(
                component: component, plugin: try resources.traits(ofComponent: component).plugin, options: options,
                progress: { done, total, _ in reporter.stepProgress(name, done: done, total: total) },
                open: { try resources.openComponent(component, scope) })
            context.store(backup)
            // The component saved what it could and says what is missing (ABI 1.2 fact "partial").
            if case .string(let missing)? = backup.metadata?.source["partial"] {
                return StepWork(outcome: .partial, error: "\(component): partial backup: \(missing)")
            }
            return StepWork()
        case .verify(let component, let which):
            if which == "new" { return try verifyNew(component) }
            let report = try VerifyService(store: try resources.openStore(scope), storeDescription: resources.storeDescription,
                                           environment: resources.environmentName)
                .verify(component: component, source: try resources.openComponent(component, scope), selector: try BackupSelector(which))
            var work = checked(report.checks)
            work.result = try encoded(report)
            return work
        case .publish(let component):
            guard let backup = context.backup(of: component) else {
                throw CairnError.failure("there is no new backup of \(component) in this run to publish")
            }
            try context.leases.requireHeld(component)
            context.store(try backupService().publish(backup))
            return StepWork()
        case .restore(let component, let which, let target, let drill):
            let summary = try restoreService().restore(
                component: component, source: try resources.openComponent(component, scope), selector: try BackupSelector(which),
                target: target, options: .object(drill ? ["drill": .bool(true)] : [:]))
            return StepWork(checks: summary.checks, result: try encoded(summary))
        case .validate(let components, let allEnvironments):
            let report = try ValidationService(store: try resources.openStore(scope), storeDescription: resources.storeDescription)
                .validate(components: try resources.componentNames(components).map { ($0, config.maxAge(of: $0)) },
                          environment: resources.environmentName, allEnvironments: allEnvironments)
            return try health(report)
        case .integrity(let components, let restoreDrill):
            let service = IntegrityService(store: try resources.openStore(scope), storeDescription: resources.storeDescription,
                                           environment: resources.environmentName,
                                           openComponent: { try resources.openComponent($0, scope) }, restore: try restoreService())
            return try health(service.check(components: try resources.componentNames(components), restoreDrill: restoreDrill))
        case .prune(let components, let dryRun):
            let service = PruneService(store: try resources.openStore(scope), state: try resources.openState(),
                                       environment: resources.environmentName, cleanup: try resources.storeCleanup(scope), logger: logger)
            let report = service.prune(components: try resources.componentNames(components).map { ($0, config.retention(of: $0)) },
                                       dryRun: dryRun)
            let errors = report.components.flatMap { $0.errors }
            return StepWork(outcome: errors.isEmpty ? .success : .failure, result: try encoded(report),
                            error: errors.isEmpty ? nil : errors.joined(separator: "; "))
        case .hook(let spec):
            return try runHook(spec)
        case .action(let plugin, let action, let arguments):
            let value = try resources.callAction(plugin: plugin, action: action, arguments: arguments, scope)
            logger.info("action \(plugin).\(action) returned \(value.jsonText)")
            return StepWork(result: value)
        case .pipeline(let name, let component):
            let parameters = (component ?? context.component).map { ["component": $0] } ?? [:]
            let nested = try PipelineCatalog(config: config).resolve(name, parameters: parameters, resources: resources)
            var nestedScope = scope
            if let component {
                // The runbook kept one log per component of an emergency backup; so does Cairn.
                let path = RunLog.path(logDir: config.logDir, pipeline: name, component: component, date: Date())
                let log = RunLog(path: path)
                let next = logger
                var componentLogger = Logger(label: "cairn.run") { _ in RunLogHandler(log: log, next: next) }
                componentLogger[metadataKey: "component"] = .string(component)
                nestedScope = scope.with(logger: componentLogger)
                context.setLog(path, for: component)
            }
            let (outcome, error) = runner.runNested(nested, context: context, scope: nestedScope)
            return StepWork(outcome: outcome, error: error)
        case .parallel(let members):
            let results = runner.runParallel(members, context: context, scope: scope)
            let failed = results.filter { $0.outcome == .failure || $0.outcome == .cancelled }
            let degraded = results.contains { $0.outcome == .continued || $0.outcome == .partial }
            let firstError = (failed + results.filter { $0.error != nil }).first.map { "\($0.name): \($0.error ?? "failed")" }
            if !failed.isEmpty, failed.count == results.count { return StepWork(outcome: .failure, error: firstError) }
            if !failed.isEmpty || degraded { return StepWork(outcome: .partial, error: firstError) }
            return StepWork()
        }
    }

    private func backupService() throws -> BackupService {
        var options = ArchiveOptions(format: config.compressionFormat, compressionLevel: config.compressionLevel,
                                     spoolDirectory: try resources.temporaryDirectory())
        if let threads = config.compressionThreads { options.threads = threads }
        // A store whose sweep cannot even be loaded still takes backups; `cairn prune` reports it.
        let cleanup = (try? resources.storeCleanup(scope)) ?? nil
        return BackupService(openStore: { try resources.openStore(scope) }, storeDescription: resources.storeDescription,
                             state: try resources.openState(), environment: resources.environmentName,
                             archiveOptions: options, logger: logger, runID: context.runID, cleanup: cleanup)
    }

    private func restoreService() throws -> RestoreService {
        RestoreService(store: try resources.openStore(scope), storeDescription: resources.storeDescription,
                       environment: resources.environmentName, workingDirectory: resources.workingDirectory, logger: logger)
    }

    /// Reads this run's new backup back; a failure removes it and keeps latest.tar.gz.
    private func verifyNew(_ component: String) throws -> StepWork {
        guard let backup = context.backup(of: component) else {
            throw CairnError.failure("there is no new backup of \(component) in this run to verify (a 'backup: \(component)' step must come first, or verify 'latest')")
        }
        do {
            let (verified, report) = try backupService().verifyNew(backup, source: try resources.openComponent(component, scope))
            context.store(verified)
            return StepWork(checks: report.checks)
        } catch let failure as BackupService.VerificationFailure {
            var failed = backup
            failed.verification = "failed: \(failure.reason)"
            context.store(failed)
            throw failure
        }
    }

    /// A check step fails when any check fails; warnings pass.
    private func checked(_ results: [CheckResult]) -> StepWork {
        for result in results {
            logger.log(level: result.status == .pass ? .info : .warning,
                       "check \(result.source)/\(result.name): \(result.status.rawValue): \(result.message)")
        }
        let failures = results.failures
        guard failures.isEmpty else {
            return StepWork(outcome: .failure, checks: results, error: failures.described)
        }
        return StepWork(checks: results)
    }

    /// A validation or integrity report: the step fails when any component failed.
    private func health(_ report: HealthReport) throws -> StepWork {
        let failed = report.results.filter { $0.status == .failed }
        if let misconfigured = failed.first(where: { $0.problem == .misconfigured }) {
            throw CairnError.usage("\(misconfigured.component)/\(misconfigured.environment): \(misconfigured.evidence)")
        }
        return StepWork(outcome: failed.isEmpty ? .success : .failure, result: try encoded(report),
                        error: failed.isEmpty ? nil : failed.map { "\($0.component)/\($0.environment): \($0.evidence)" }.joined(separator: "; "),
                        health: report)
    }

    private func encoded<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
    }

    private func runHook(_ spec: HookSpec) throws -> StepWork {
        let hookContext = HookContext(
            phase: .before, pipeline: context.pipeline, runID: context.runID, step: step.name, component: context.component,
            environment: resources.environmentName, backupID: context.component.flatMap { context.backup(of: $0)?.backupID },
            status: "running", artifactURL: nil, logFile: context.logFile, error: nil, details: [:])
        let logger = self.logger
        let name = URL(fileURLWithPath: spec.path).lastPathComponent
        let result = try resources.hooks.run(spec, context: hookContext, cancellation: scope.cancellation) { line, isError in
            logger.log(level: isError ? .warning : .info, "[\(name)] \(line)")
        }
        switch result.status {
        case .ok: return StepWork()
        case .skip: return StepWork(outcome: .skipped, error: result.message)
        default: throw CairnError.failure(result.message)
        }
    }
}
