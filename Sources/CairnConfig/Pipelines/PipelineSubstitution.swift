import CairnCore
import CairnHooks
import CairnOperations
/// `${name}` parameters in pipelines (`cairn run backup --component redis`).
extension Pipeline {
    public func substituting(_ parameters: [String: String]) -> Pipeline {
        var copy = self
        copy.steps = steps.map { $0.substituting(parameters) }
        return copy
    }
}

extension PipelineStep {
    public func substituting(_ parameters: [String: String]) -> PipelineStep {
        func s(_ text: String) -> String {
            parameters.reduce(text) { $0.replacingOccurrences(of: "${\($1.key)}", with: $1.value) }
        }
        var copy = self
        copy.name = s(name)
        switch action {
        case .check(let c): copy.action = .check(component: s(c))
        case .backup(let c, let options): copy.action = .backup(component: s(c), options: options)
        case .verify(let c, let b): copy.action = .verify(component: s(c), backup: s(b))
        case .publish(let c): copy.action = .publish(component: s(c))
        case .restore(let c, let b, let t, let d): copy.action = .restore(component: s(c), backup: s(b), target: s(t), drill: d)
        case .validate(let c, let a): copy.action = .validate(components: c.map(s), allEnvironments: a)
        case .integrity(let c, let d): copy.action = .integrity(components: c.map(s), restoreDrill: d)
        case .prune(let c, let d): copy.action = .prune(components: c.map(s), dryRun: d)
        case .hook(var spec):
            spec.args = spec.args.map(s)
            copy.action = .hook(spec)
        case .action(let p, let a, let arguments):
            copy.action = .action(plugin: p, action: a, arguments: arguments.map { $0.substituting(s) })
        case .parallel(let steps): copy.action = .parallel(steps.map { $0.substituting(parameters) })
        case .pipeline(let name, let c): copy.action = .pipeline(name, component: c.map(s))
        case .hostCheck, .storageCheck: break
        }
        return copy
    }
}

extension JSONValue {
    public func substituting(_ s: (String) -> String) -> JSONValue {
        switch self {
        case .string(let text): return .string(s(text))
        case .array(let items): return .array(items.map { $0.substituting(s) })
        case .object(let fields): return .object(fields.mapValues { $0.substituting(s) })
        default: return self
        }
    }
}
