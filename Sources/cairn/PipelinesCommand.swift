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
            let rows = catalog.names.compactMap { catalog.pipelines[$0] }.map { pipeline -> [String] in
                [pipeline.name, pipeline.builtIn ? "built-in" : "\(pipeline.origin)",
                 pipeline.parameters.map { "--\($0)" }.joined(separator: " "), pipeline.description ?? ""]
            }
            if globals.json {
                return try Output.json(rows.map { ["name": $0[0], "source": $0[1], "parameters": $0[2], "description": $0[3]] })
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
            Output.line("pipeline \(resolved.name) (\(resolved.builtIn ? "built-in" : "\(resolved.origin)"))")
            if let description = resolved.description { Output.line("  \(description)") }
            for phase in HookPhase.allCases where !resolved.hooks[phase].isEmpty {
                Output.line("  run hooks \(phase.rawValue): \(resolved.hooks[phase].map(\.path).joined(separator: ", "))")
            }
            print(steps: resolved.steps, indent: "  ")
        }

        private func print(steps: [PipelineStep], indent: String) {
            for (index, step) in steps.enumerated() {
                var policy: [String] = []
                if let timeout = step.timeout { policy.append("timeout \(Int(timeout))s") }
                if step.retries > 0 { policy.append("retries \(step.retries) from \(Int(step.retryDelay))s") }
                if step.onError == .continue { policy.append("on_error continue") }
                Output.line("\(indent)\(index + 1). \(step.name) [\(step.action.kind)]\(policy.isEmpty ? "" : " (\(policy.joined(separator: ", ")))")")
                for phase in HookPhase.allCases where !step.hooks[phase].isEmpty {
                    Output.line("\(indent)   hooks \(phase.rawValue): \(step.hooks[phase].map(\.path).joined(separator: ", "))")
                }
                if case .action(_, _, let arguments) = step.action {
                    Output.line("\(indent)   arguments: \(arguments.map(\.jsonText).joined(separator: ", "))")
                }
                if case .parallel(let members) = step.action { print(steps: members, indent: indent + "   ") }
            }
        }
    }
}
