import CairnConfig
import CairnCore
import CairnHooks

/// A resolved pipeline as `cairn pipelines show --json` prints it (docs/json.md).
enum PipelineView {
    static func json(_ pipeline: Pipeline) -> JSONValue {
        var fields = summary(pipeline)
        fields["hooks"] = hooks(pipeline.hooks)
        fields["steps"] = .array(pipeline.steps.map(step))
        return .object(fields)
    }

    /// What `cairn pipelines list --json` prints of each pipeline.
    static func summary(_ pipeline: Pipeline) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "name": .string(pipeline.name), "source": .string(source(pipeline)),
            "parameters": .array(pipeline.parameters.map(JSONValue.string)),
        ]
        fields["description"] = pipeline.description.map(JSONValue.string)
        return fields
    }

    static func source(_ pipeline: Pipeline) -> String { pipeline.builtIn ? "built-in" : "\(pipeline.origin)" }

    private static func step(_ step: PipelineStep) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(step.name), "kind": .string(step.action.kind),
            "retries": .number(Double(step.retries)), "retry_delay_seconds": .number(step.retryDelay),
            "on_error": .string(step.onError.rawValue), "hooks": hooks(step.hooks),
        ]
        // A field with no value is left out, never null (docs/json.md).
        fields["component"] = step.action.component.map(JSONValue.string)
        fields["timeout_seconds"] = step.timeout.map(JSONValue.number)
        if case .action(_, _, let arguments) = step.action { fields["arguments"] = .array(arguments) }
        if case .parallel(let members) = step.action { fields["steps"] = .array(members.map(Self.step)) }
        return .object(fields)
    }

    /// Only the phases that have hooks: {"before": ["notify.sh"]}.
    private static func hooks(_ set: HookSet) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: HookPhase.allCases.filter { !set[$0].isEmpty }
            .map { ($0.rawValue, JSONValue.array(set[$0].map { .string($0.path) })) }))
    }

    /// The steps as `cairn pipelines show` prints them, one numbered line each.
    static func print(_ steps: [PipelineStep], indent: String) {
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
            if case .parallel(let members) = step.action { print(members, indent: indent + "   ") }
        }
    }
}
