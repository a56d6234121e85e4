import ArgumentParser
import CairnHost
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run pre-checks without backing up: 'storage' for the store's access check, or a component.",
        discussion: """
        cairn check storage      the store is reachable, listable and writable (the runbook's \
        aws s3 ls + sts get-caller-identity step)
        cairn check redis        host resources, the component's health checks and storage access \
        (the built-in 'checks' pipeline)
        Exits 1 when a check fails.
        """)

    @Argument(help: "'storage', or a component instance.")
    var target: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        guard target == "storage" else {
            return try PipelineExecution.finish(try PipelineExecution.run("checks", component: target, globals: globals), globals: globals)
        }
        let workspace = try globals.workspace()
        let escalation = EscalationService(workspace: workspace)
        let source = ObservationSource(runID: nil, logFile: nil, origin: "cairn check storage")
        let results: [CheckResult]
        do { results = try workspace.openStorage().checkAccess() } catch {
            escalation.report(ConditionFindings.after(.storageCheck, error: error, storageLabel: workspace.config.storageType), source: source)
            throw error
        }
        // A failing store opens storage_inaccessible; a passing one resolves it.
        escalation.report(ConditionFindings.storageCheck(results), source: source)
        if globals.json { try Output.json(results) } else {
            Output.line("storage \(workspace.storeDescription()): \(results.failures.isEmpty ? "ok" : "FAILED")")
            Output.checks(results)
        }
        if !results.failures.isEmpty { throw ExitRequest(code: .failure) }
    }
}
