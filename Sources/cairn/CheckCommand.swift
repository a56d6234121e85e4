import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
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
        // --json: both forms stream the run as JSON lines, as every pipeline command does (docs/json.md).
        guard target == "storage" && !globals.json else {
            if target == "storage" {
                return try PipelineExecution.finish(try PipelineExecution.run("check-storage", component: nil, globals: globals), globals: globals)
            }
            return try PipelineExecution.finish(try PipelineExecution.run("checks", component: target, globals: globals), globals: globals)
        }
        let workspace = try globals.workspace()
        // Through the engine like any run: a failing store opens storage_inaccessible, a passing one resolves it.
        let step = try PipelineExecution.runCommand(
            BuiltInPipelines.command("check-storage", .storageCheck, description: "The store's access check."), workspace: workspace)
        let results = step.checks
        Output.line("storage \(workspace.storeDescription): \(results.failures.isEmpty ? "ok" : "FAILED")")
        Output.checks(results)
        if !results.failures.isEmpty { throw ExitRequest(code: .failure) }
    }
}
