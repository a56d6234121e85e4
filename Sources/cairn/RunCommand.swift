import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: a runbook procedure as a list of steps.",
        discussion: """
        Built-in pipelines: backup (pre-checks, backup, verify, publish latest) and checks. Define \
        your own, or override these, under 'pipelines:' in cairn.yaml (docs/pipelines.md). \
        Examples:
          cairn run backup --component redis
          cairn run nightly --json
        Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 partial, 75 skipped.
        """)

    @Argument(help: "Pipeline name (see cairn pipelines list).")
    var pipeline: String

    @Option(help: "The component for pipelines written for one (${component}).")
    var component: String?

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        try PipelineExecution.finish(try PipelineExecution.run(pipeline, component: component, globals: globals), globals: globals)
    }
}
