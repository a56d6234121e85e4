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
        let steps = catalog.expanded(pipeline.steps)
        var components: [String] = []
        for step in steps {
            switch step.action {
            case .check(let name), .backup(let name, _): if !components.contains(name) { components.append(name) }
            default: break
            }
        }
        var checks: [CheckResult] = []
        if steps.contains(where: { if case .hostCheck = $0.action { return true } else { return false } }) {
            checks += HostChecks.all(paths: [workspace.config.stagingDir, workspace.config.logDir] + workspace.storeLocalPaths,
                                     thresholds: workspace.config.hostChecks)
        }
        for component in components { checks += try workspace.openComponent(component, workspace.scope).check() }
        let store = try workspace.openStore(workspace.scope)
        checks += try store.checkAccess()
        let destinations = Dictionary(uniqueKeysWithValues: components.map {
            ($0, store.layout(component: $0, environment: workspace.environmentName,
                              format: workspace.config.compressionFormat).archiveKey("\($0)_YYYYMMDD_HHMMSS"))
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
}
