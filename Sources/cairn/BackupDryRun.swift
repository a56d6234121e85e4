import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import Foundation

/// `cairn backup --dry-run`: the resolved plan and every check it would run (host, each
/// component, the store's access check), and nothing else: no backup, no history, no hooks, no
/// incidents, no run log. The store's access check writes and removes its own probe object.
struct BackupDryRun {
    let workspace: Workspace
    let pipeline: Pipeline
    let catalog: PipelineCatalog

    struct Report: Encodable {
        var dryRun = true
        var ok: Bool
        var pipeline: JSONValue
        var environment: String
        var store: String
        /// Where each component's backup would be written.
        var destinations: [String: String]
        var checks: [CheckResult]

        enum CodingKeys: String, CodingKey {
            case ok, pipeline, environment, store, destinations, checks
            case dryRun = "dry_run"
        }
    }

    func run(json: Bool) throws {
        let components = components(in: pipeline.steps, depth: 0)
        var checks: [CheckResult] = []
        if contains(pipeline.steps, depth: 0, where: { if case .hostCheck = $0 { return true } else { return false } }) {
            checks += HostChecks.all(paths: [workspace.config.stagingDir, workspace.config.logDir] + workspace.storeLocalPaths,
                                     thresholds: workspace.config.hostChecks)
        }
        for component in components { checks += try workspace.openComponent(component, workspace.scope).check() }
        checks += try workspace.openStore(workspace.scope).checkAccess()
        let destinations = Dictionary(uniqueKeysWithValues: components.map {
            ($0, StorageLayout(component: $0, environment: workspace.environmentName).prefix + "\($0)_YYYYMMDD_HHMMSS.tar.gz")
        })
        let report = Report(ok: checks.failures.isEmpty, pipeline: PipelineView.json(pipeline), environment: workspace.environmentName,
                            store: workspace.storeDescription, destinations: destinations, checks: checks)
        if json { try Output.json(report) } else {
            Output.line("dry run of pipeline \(pipeline.name) in \(report.environment): nothing is backed up or recorded")
            PipelineView.print(pipeline.steps, indent: "  ")
            for (component, key) in destinations.sorted(by: { $0.key < $1.key }) {
                Output.line("  \(component) would be written to \(report.store) \(key)")
            }
            Output.line("checks:")
            Output.checks(checks)
            Output.line(report.ok ? "ok: the backup would start" : "FAILED: the backup would stop at the checks above")
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }

    /// The components the pipeline checks, through parallel groups and nested pipelines.
    private func components(in steps: [PipelineStep], depth: Int) -> [String] {
        var names: [String] = []
        for step in steps {
            switch step.action {
            case .check(let name), .backup(let name, _): names.append(name)
            case .parallel(let members): names += components(in: members, depth: depth)
            case .pipeline(let name, let component):
                guard depth < 8, let nested = catalog.pipelines[name] else { continue }
                names += components(in: (component.map { nested.substituting(["component": $0]) } ?? nested).steps, depth: depth + 1)
            default: break
            }
        }
        return names.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    private func contains(_ steps: [PipelineStep], depth: Int, where test: (StepAction) -> Bool) -> Bool {
        steps.contains { step in
            if test(step.action) { return true }
            if case .parallel(let members) = step.action { return contains(members, depth: depth, where: test) }
            if case .pipeline(let name, _) = step.action, depth < 8, let nested = catalog.pipelines[name] {
                return contains(nested.steps, depth: depth + 1, where: test)
            }
            return false
        }
    }
}
