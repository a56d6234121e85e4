import Foundation
import Yams

/// The built-in pipelines plus those of cairn.yaml, and the load-time checks that keep bad
/// pipelines from failing mid-backup: unknown step types (parser), components, plugins, actions
/// and argument types, hooks, references to missing pipelines and cycles.
public struct PipelineCatalog: Sendable {
    public let pipelines: [String: Pipeline]

    public init(config: Configuration) throws {
        var all: [String: Pipeline] = [:]
        let reader = YAMLReader(path: BuiltInPipelines.source)
        guard let root = try Yams.compose(yaml: BuiltInPipelines.yaml), let node = root.mapping?["pipelines"] else {
            throw CairnError.failure("the built-in pipelines do not parse")
        }
        for pipeline in try PipelineParser(reader: reader).pipelines(node, builtIn: true) { all[pipeline.name] = pipeline }
        all[BuiltInPipelines.emergencyName] = BuiltInPipelines.emergency(components: config.components.map(\.name))
        for pipeline in config.pipelines { all[pipeline.name] = pipeline }
        pipelines = all
    }

    public var names: [String] { pipelines.keys.sorted() }

    public func pipeline(named name: String) throws -> Pipeline {
        guard let pipeline = pipelines[name] else {
            let hint = closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw CairnError.usage("unknown pipeline '\(name)' (available: \(names.joined(separator: ", "))).\(hint) See cairn pipelines list")
        }
        return pipeline
    }

    /// The pipeline with its parameters filled in and every step checked against this workspace.
    public func resolve(_ name: String, parameters: [String: String], workspace: Workspace, hooks: HookRunner) throws -> Pipeline {
        var pipeline = try pipeline(named: name)
        for parameter in pipeline.parameters where parameters[parameter] == nil {
            throw CairnError.usage("pipeline '\(name)' needs --\(parameter) (it is written for one \(parameter))")
        }
        pipeline = pipeline.substituting(parameters)
        let checker = StepChecker(catalog: self, workspace: workspace, hooks: hooks)
        try checker.check(hooks: pipeline.hooks, at: pipeline.origin)
        try checker.check(hooks: workspace.config.hooks, at: .builtIn)
        pipeline.steps = try checker.check(pipeline.steps, path: [name], parameters: parameters)
        return pipeline
    }
}

/// Walks a pipeline's steps at load time.
struct StepChecker {
    let catalog: PipelineCatalog
    let workspace: Workspace
    let hooks: HookRunner

    func check(_ steps: [PipelineStep], path: [String], parameters: [String: String]) throws -> [PipelineStep] {
        try steps.map { step in
            do { return try check(step, path: path, parameters: parameters) } catch let error as CairnError {
                if error.message.hasPrefix("\(step.origin)") { throw error }
                throw CairnError(error.kind, "\(step.origin): step '\(step.name)': \(error.message)")
            }
        }
    }

    func check(hooks set: HookSet, at origin: ValueOrigin) throws {
        for spec in set.all { _ = try hooks.resolve(spec) }
    }

    private func check(_ step: PipelineStep, path: [String], parameters: [String: String]) throws -> PipelineStep {
        var step = step
        try check(hooks: step.hooks, at: step.origin)
        if let component = step.action.component {
            _ = try workspace.resolveComponent(component)
            try check(hooks: workspace.config.component(named: component)?.hooks ?? HookSet(), at: step.origin)
        }
        switch step.action {
        case .verify(_, let backup), .restore(_, let backup, _):
            if backup != "new", backup != "latest", !BackupID.isValid(backup) {
                throw CairnError.usage("backup '\(backup)' must be 'new' (this run's), 'latest' or a backup id")
            }
        case .hook(let spec):
            _ = try hooks.resolve(spec)
        case .action(let pluginName, let actionName, let arguments):
            let action = try NativeAction(plugin: try workspace.registry.load(pluginName), name: actionName)
            let checked: [JSONValue]
            if arguments.count == 1, case .object(let named) = arguments[0] {
                checked = try action.check(named: named)
            } else {
                checked = try action.check(positional: arguments)
            }
            step.action = .action(plugin: pluginName, action: actionName, arguments: checked)
        case .pipeline(let name, let component):
            if path.contains(name) {
                throw CairnError.usage("pipelines form a cycle: \((path + [name]).joined(separator: " -> "))")
            }
            var nestedParameters = parameters
            if let component { nestedParameters["component"] = component }
            let nested = try catalog.pipeline(named: name)
            for parameter in nested.parameters where nestedParameters[parameter] == nil {
                throw CairnError.usage("pipeline '\(name)' needs a \(parameter) (write 'component: NAME' next to 'pipeline: \(name)')")
            }
            _ = try check(nested.substituting(nestedParameters).steps, path: path + [name], parameters: nestedParameters)
        case .parallel(let members):
            if members.isEmpty {
                throw CairnError.usage(path.first == BuiltInPipelines.emergencyName
                    ? "the emergency pipeline backs up every component under 'components:' in \(workspace.config.file ?? "cairn.yaml"), and none is configured"
                    : "a parallel group needs at least one step")
            }
            step.action = .parallel(try check(members, path: path, parameters: parameters))
        case .hostCheck, .storageCheck, .check, .backup, .publish:
            break
        }
        return step
    }
}
