import CairnCore
import CairnHooks
import CairnOperations
import Foundation
import Yams

/// Reads `pipelines:` (and hook sets) from YAML. Structure errors are reported here with
/// file:line; names of components, plugins and actions are checked later by `PipelineCatalog`.
public struct PipelineParser {
    let reader: YAMLReader

    static let stepTypes = ["host_check", "storage_check", "check", "backup", "verify", "publish", "restore",
                            "validate", "integrity", "prune", "hook", "action", "pipeline", "parallel"]
    static let policyKeys = ["name", "timeout", "retries", "retry_delay", "on_error", "hooks"]
    static let extraKeys: [String: [String]] = ["backup": ["options"], "verify": ["backup"], "restore": ["backup", "target", "drill"],
                                                "validate": ["all_environments"], "integrity": ["restore_drill"], "prune": ["dry_run"],
                                                "action": ["args"], "pipeline": ["component"]]

    public func pipelines(_ node: Node, builtIn: Bool) throws -> [Pipeline] {
        try reader.mapping(node, context: "'pipelines'").map { nameNode, body in
            let name = try reader.string(nameNode, key: "pipelines")
            guard Name.isValid(name) else {
                throw reader.error(nameNode, "pipeline name '\(name)' must be lowercase letters, digits, '-' or '_'")
            }
            return try pipeline(name: name, body, origin: reader.origin(nameNode), builtIn: builtIn)
        }
    }

    func pipeline(name: String, _ node: Node, origin: ValueOrigin, builtIn: Bool) throws -> Pipeline {
        let body = try reader.mapping(node, context: "pipeline '\(name)'")
        try reader.rejectUnknownKeys(body, known: ["description", "parameters", "hooks", "steps"], context: "pipeline '\(name)'")
        var result = Pipeline(name: name, description: nil, parameters: [], hooks: HookSet(), steps: [], origin: origin, builtIn: builtIn)
        var sawSteps = false
        for (key, value) in body {
            switch key.string {
            case "description": result.description = try reader.string(value, key: "description")
            case "parameters": result.parameters = try reader.list(value, key: "parameters").map { try reader.string($0, key: "parameters") }
            case "hooks": result.hooks = try hookSet(value, context: "pipeline '\(name)'")
            default:
                sawSteps = true
                result.steps = try reader.list(value, key: "steps").enumerated().map { try step($1, index: $0) }
                if result.steps.isEmpty { throw reader.error(value, "pipeline '\(name)' has no steps") }
            }
        }
        if !sawSteps { throw reader.error(node, "pipeline '\(name)' has no 'steps:' list") }
        return result
    }

    func step(_ node: Node, index: Int) throws -> PipelineStep {
        let body = try reader.mapping(node, context: "step \(index + 1)")
        let types = body.compactMap { $0.key.string }.filter { Self.stepTypes.contains($0) }
        guard types.count == 1, let type = types.first, let valueNode = body.first(where: { $0.key.string == type })?.value else {
            let unknown = body.compactMap { $0.key.string }.filter { !Self.stepTypes.contains($0) && !Self.policyKeys.contains($0) }
            let hint = unknown.first.flatMap { closest(to: $0, in: Self.stepTypes) }.map { "; did you mean '\($0)'?" } ?? ""
            throw reader.error(node, types.isEmpty
                ? "step \(index + 1) has no step type\(unknown.isEmpty ? "" : " ('\(unknown.joined(separator: "', '"))' is not one)") (one of: \(Self.stepTypes.joined(separator: ", ")))\(hint)"
                : "step \(index + 1) has several step types (\(types.joined(separator: ", "))); use one per step")
        }
        try reader.rejectUnknownKeys(body, known: [type] + Self.policyKeys + (Self.extraKeys[type] ?? []), context: "step \(index + 1) (\(type))")
        func extra(_ key: String) -> Node? { body.first { $0.key.string == key }?.value }
        func extraFlag(_ key: String) throws -> Bool { try extra(key).map { try flag($0, key: key) } ?? false }
        let action: StepAction
        switch type {
        case "host_check": action = .hostCheck
        case "storage_check": action = .storageCheck
        case "check": action = .check(component: try reader.string(valueNode, key: type))
        case "backup":
            action = .backup(component: try reader.string(valueNode, key: type),
                             options: try extra("options").map { try reader.json($0) } ?? .object([:]))
        case "verify":
            action = .verify(component: try reader.string(valueNode, key: type),
                             backup: try extra("backup").map { try reader.string($0, key: "backup") } ?? "new")
        case "publish": action = .publish(component: try reader.string(valueNode, key: type))
        case "restore":
            action = .restore(component: try reader.string(valueNode, key: type),
                              backup: try extra("backup").map { try reader.string($0, key: "backup") } ?? "latest",
                              target: try extra("target").map { try reader.string($0, key: "target") } ?? "",
                              drill: try extraFlag("drill"))
        case "validate":
            action = .validate(components: try components(valueNode, key: type),
                               allEnvironments: try extraFlag("all_environments"))
        case "integrity":
            action = .integrity(components: try components(valueNode, key: type),
                                restoreDrill: try extraFlag("restore_drill"))
        case "prune":
            action = .prune(components: try components(valueNode, key: type),
                            dryRun: try extraFlag("dry_run"))
        case "hook": action = .hook(try hook(valueNode))
        case "action":
            let reference = try reader.string(valueNode, key: type)
            let parts = reference.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw reader.error(valueNode, "action '\(reference)' must be written plugin.action, e.g. directory.count_files") }
            var arguments: [JSONValue] = []
            if let args = extra("args") {
                switch try reader.json(args) {
                case .array(let list): arguments = list
                case .object(let named): arguments = [.object(named)]  // named arguments, resolved by the catalog
                default: throw reader.error(args, "'args' must be a list or a mapping of parameter names to values")
                }
            }
            action = .action(plugin: parts[0], action: parts[1], arguments: arguments)
        case "pipeline":
            action = .pipeline(try reader.string(valueNode, key: type),
                               component: try extra("component").map { try reader.string($0, key: "component") })
        default:
            let members = try reader.list(valueNode, key: "parallel").enumerated().map { try step($1, index: $0) }
            if members.isEmpty { throw reader.error(valueNode, "a parallel group needs at least one step") }
            action = .parallel(members)
        }
        var parsed = PipelineStep(name: Self.defaultStepName(action), action: action, origin: reader.origin(node))
        for (key, value) in body {
            switch key.string {
            case "name": parsed.name = try reader.string(value, key: "name")
            case "timeout": parsed.timeout = try duration(value, key: "timeout")
            case "retries":
                let retries = try reader.integer(value, key: "retries")
                guard (0...20).contains(retries) else { throw reader.error(value, "retries must be 0 to 20, got \(retries)") }
                parsed.retries = retries
            case "retry_delay": parsed.retryDelay = try duration(value, key: "retry_delay")
            case "on_error":
                let text = try reader.string(value, key: "on_error")
                guard let policy = PipelineStep.OnError(rawValue: text) else {
                    throw reader.error(value, "on_error must be 'fail' or 'continue', got '\(text)'")
                }
                parsed.onError = policy
            case "hooks": parsed.hooks = try hookSet(value, context: "step \(index + 1)")
            default: break
            }
        }
        return parsed
    }

    /// `all`, one component, or a list of them; empty means every configured component.
    func components(_ node: Node, key: String) throws -> [String] {
        if let sequence = node.sequence { return try sequence.map { try reader.string($0, key: key) } }
        let name = try reader.string(node, key: key)
        return name == "all" ? [] : [name]
    }

    func flag(_ node: Node, key: String) throws -> Bool {
        guard let value = node.bool else { throw reader.error(node, "'\(key)' must be true or false") }
        return value
    }

    public static func defaultStepName(_ action: StepAction) -> String {
        func listed(_ components: [String]) -> String { components.isEmpty ? "all components" : components.joined(separator: ", ") }
        switch action {
        case .hostCheck: return "host checks"
        case .storageCheck: return "storage check"
        case .check(let c): return "check \(c)"
        case .backup(let c, _): return "backup \(c)"
        case .verify(let c, let b): return "verify \(c) (\(b))"
        case .publish(let c): return "publish \(c) latest"
        case .restore(let c, let b, _, let drill): return "\(drill ? "drill" : "restore") \(c) (\(b))"
        case .validate(let c, _): return "validate \(listed(c))"
        case .integrity(let c, _): return "integrity \(listed(c))"
        case .prune(let c, let dry): return "prune\(dry ? " (dry run)" : "") \(listed(c))"
        case .hook(let spec): return "hook \(URL(fileURLWithPath: spec.path).lastPathComponent)"
        case .action(let p, let a, _): return "action \(p).\(a)"
        case .pipeline(let name, let component): return "pipeline \(name)\(component.map { " \($0)" } ?? "")"
        case .parallel(let steps): return "parallel (\(steps.map(\.name).joined(separator: ", ")))"
        }
    }

    func hookSet(_ node: Node, context: String) throws -> HookSet {
        var set = HookSet()
        let body = try reader.mapping(node, context: "hooks of \(context)")
        try reader.rejectUnknownKeys(body, known: HookPhase.allCases.map(\.rawValue), context: "hooks of \(context)")
        for (key, value) in body {
            let hooks = try (value.sequence.map(Array.init) ?? [value]).map { try hook($0) }
            switch HookPhase(rawValue: key.string ?? "") {
            case .before: set.before = hooks
            case .after: set.after = hooks
            case .onError: set.onError = hooks
            case .finally: set.finally = hooks
            case nil: break
            }
        }
        return set
    }

    /// A hook is a path, or {path, args, timeout, pass_env}.
    func hook(_ node: Node) throws -> HookSpec {
        if node.scalar != nil { return HookSpec(path: try reader.string(node, key: "hook"), origin: reader.origin(node)) }
        let body = try reader.mapping(node, context: "hook")
        try reader.rejectUnknownKeys(body, known: ["path", "args", "timeout", "pass_env"], context: "hook")
        guard let pathNode = body.first(where: { $0.key.string == "path" })?.value else {
            throw reader.error(node, "a hook needs 'path:' (an executable; see docs/hooks.md)")
        }
        var spec = HookSpec(path: try reader.string(pathNode, key: "path"), origin: reader.origin(pathNode))
        for (key, value) in body {
            switch key.string {
            case "args": spec.args = try reader.list(value, key: "args").map { $0.scalar?.string ?? "" }
            case "timeout": spec.timeout = try duration(value, key: "timeout")
            case "pass_env": spec.passEnv = try reader.list(value, key: "pass_env").map { try reader.string($0, key: "pass_env") }
            default: break
            }
        }
        return spec
    }

    /// "90", "90s", "5m", "1h30m" -> seconds; `examples` show the usual form in the error.
    func duration(_ node: Node, key: String, examples: String = "30s, 5m or 1h30m") throws -> Double {
        let text = node.scalar?.string ?? ""
        if let seconds = Double(text), seconds > 0 { return seconds }
        guard let seconds = parseDuration(text) else {
            throw reader.error(node, "'\(key)' must be a duration like \(examples), got '\(text)'")
        }
        return seconds
    }
}
