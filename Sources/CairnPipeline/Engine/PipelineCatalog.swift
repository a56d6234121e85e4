import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// The built-in pipelines plus those of cairn.yaml, and the load-time checks that keep bad
/// pipelines from failing mid-backup: unknown step types (parser), components, plugins, actions
/// and argument types, hooks, references to missing pipelines and cycles.
public struct PipelineCatalog: Sendable {
    public let pipelines: [String: Pipeline]

    public init(config: Configuration) throws {
        var all: [String: Pipeline] = [:]
        for pipeline in try BuiltInPipelines.all(components: config.components.map(\.name)) { all[pipeline.name] = pipeline }
        for pipeline in config.pipelines { all[pipeline.name] = pipeline }
        pipelines = all
    }

    public var names: [String] { pipelines.keys.sorted() }

    /// Every step `steps` would run, in order: those inside parallel groups and those of nested
    /// pipelines (with their component filled in) as well as the groups and pipeline steps.
    public func expanded(_ steps: [PipelineStep], depth: Int = 0) -> [PipelineStep] {
        steps.flatMap { step -> [PipelineStep] in
            switch step.action {
            case .parallel(let members): return [step] + expanded(members, depth: depth)
            case .pipeline(let name, let component):
                // Cycles are refused when pipelines load; the depth limit only keeps this total.
                guard depth < 8, let nested = pipelines[name] else { return [step] }
                return [step] + expanded((component.map { nested.substituting(["component": $0]) } ?? nested).steps, depth: depth + 1)
            default: return [step]
            }
        }
    }

    public func pipeline(named name: String) throws -> Pipeline {
        guard let pipeline = pipelines[name] else {
            let hint = closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw CairnError.usage("unknown pipeline '\(name)' (available: \(names.joined(separator: ", "))).\(hint) See cairn pipelines list")
        }
        return pipeline
    }

    /// The pipeline with its parameters filled in and every step checked against `resources`.
    public func resolve(_ name: String, parameters: [String: String], resources: any RunResources) throws -> Pipeline {
        var pipeline = try pipeline(named: name)
        // Parameters name things that become parts of paths and keys (the run log's file name).
        for (parameter, value) in parameters.sorted(by: { $0.key < $1.key }) where !Name.isValid(value) {
            throw CairnError.usage("--\(parameter) '\(value)' must be \(Name.rule)")
        }
        for parameter in pipeline.parameters where parameters[parameter] == nil {
            throw CairnError.usage("pipeline '\(name)' needs --\(parameter) (it is written for one \(parameter))")
        }
        return try check(pipeline.substituting(parameters), parameters: parameters, resources: resources)
    }

    /// Checks a pipeline built elsewhere (a command's own run) as `resolve` checks those it finds.
    public func check(_ pipeline: Pipeline, parameters: [String: String] = [:], resources: any RunResources) throws -> Pipeline {
        try StepChecker(catalog: self, resources: resources).check(hooks: resources.config.hooks)
        return try checkOwnParts(pipeline, parameters: parameters, resources: resources)
    }

    /// `check` without the run-level hooks of cairn.yaml, which every pipeline shares: a check of
    /// the whole file (cairn config check) reports those once and still sees each pipeline's own problems.
    public func checkOwnParts(_ pipeline: Pipeline, parameters: [String: String] = [:], resources: any RunResources) throws -> Pipeline {
        var pipeline = pipeline
        let checker = StepChecker(catalog: self, resources: resources)
        try checker.check(hooks: pipeline.hooks)
        pipeline.steps = try checker.check(pipeline.steps, path: [pipeline.name], parameters: parameters)
        return pipeline
    }
}

/// Walks a pipeline's steps at load time.
struct StepChecker {
    let catalog: PipelineCatalog
    let resources: any RunResources

    func check(_ steps: [PipelineStep], path: [String], parameters: [String: String]) throws -> [PipelineStep] {
        try steps.map { step in
            do { return try check(step, path: path, parameters: parameters) } catch let error as CairnError {
                // A command's own step (cairn verify...) is the command line itself: no location to name.
                if step.origin == .builtIn || error.message.hasPrefix("\(step.origin)") { throw error }
                throw CairnError(error.kind, "\(step.origin): step '\(step.name)': \(error.message)")
            }
        }
    }

    func check(hooks set: HookSet) throws {
        for spec in set.all { _ = try resources.hooks.resolve(spec) }
    }

    private func check(_ step: PipelineStep, path: [String], parameters: [String: String]) throws -> PipelineStep {
        var step = step
        try check(hooks: step.hooks)
        if step.action.usesStore { try resources.checkStore() }
        if let component = step.action.component {
            try resources.checkComponent(component)
            try check(hooks: resources.config.component(named: component)?.hooks ?? HookSet())
        }
        switch step.action {
        case .verify(_, let backup):
            try checkSelector(backup)
        case .restore(let component, let backup, let target, let drill):
            try checkSelector(backup)
            try RestoreService.check(component: component, traits: try resources.traits(ofComponent: component),
                                     target: target, drill: drill)
        case .validate(let components, _), .integrity(let components, _), .prune(let components, _):
            _ = try resources.componentNames(components)
        case .hook(let spec):
            _ = try resources.hooks.resolve(spec)
        case .action(let pluginName, let actionName, let arguments):
            step.action = .action(plugin: pluginName, action: actionName,
                                  arguments: try resources.checkAction(plugin: pluginName, action: actionName, arguments: arguments))
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
                    ? "the emergency pipeline backs up every component under 'components:' in \(resources.config.file ?? "cairn.yaml"), and none is configured"
                    : "a parallel group needs at least one step")
            }
            step.action = .parallel(try check(members, path: path, parameters: parameters))
        case .hostCheck, .storageCheck, .check, .backup, .publish:
            break
        }
        return step
    }

    private func checkSelector(_ backup: String) throws {
        if backup != "new", backup != "latest", !BackupID.isValid(backup) {
            throw CairnError.usage("backup '\(backup)' must be 'new' (this run's), 'latest' or a backup id")
        }
    }
}
