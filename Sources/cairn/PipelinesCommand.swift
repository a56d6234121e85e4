import ArgumentParser
import CairnConfig
import CairnHooks
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct PipelinesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipelines",
        abstract: "List pipelines and show their resolved steps.",
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List built-in pipelines and those of cairn.yaml.")
        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let catalog = try PipelineCatalog(config: workspace.config)
            let pipelines = catalog.names.compactMap { catalog.pipelines[$0] }
            if globals.json {
                return try Output.json(JSONValue.array(pipelines.map { .object(PipelineView.summary($0)) }))
            }
            let rows = pipelines.map { pipeline -> [String] in
                [pipeline.name, PipelineView.source(pipeline), pipeline.parameters.map { "--\($0)" }.joined(separator: " "), pipeline.description ?? ""]
            }
            Output.table(["NAME", "SOURCE", "NEEDS", "DESCRIPTION"], rows)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a pipeline's steps as they will run, after every load-time check.")
        @Argument(help: "Pipeline name.") var pipeline: String
        @Option(help: "The component for pipelines written for one.") var component: String?
        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let catalog = try PipelineCatalog(config: workspace.config)
            let resolved = try catalog.resolve(pipeline, parameters: component.map { ["component": $0] } ?? [:], resources: workspace)
            if globals.json { return try Output.json(PipelineView.json(resolved)) }
            Output.line("pipeline \(resolved.name) (\(PipelineView.source(resolved)))")
            if let description = resolved.description { Output.line("  \(description)") }
            for phase in HookPhase.allCases where !resolved.hooks[phase].isEmpty {
                Output.line("  run hooks \(phase.rawValue): \(resolved.hooks[phase].map(\.path).joined(separator: ", "))")
            }
            PipelineView.print(resolved.steps, indent: "  ")
        }
    }
}
