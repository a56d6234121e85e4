import CairnCore
import CairnHooks
import CairnOperations
import Foundation
import Yams

/// Reads `escalation:` from cairn.yaml. Unknown keys, conditions and contacts are refused with
/// file:line, like every other config error (exit 2).
struct EscalationConfigParser {
    let reader: YAMLReader

    static let keys = ["consecutive_failures", "escalate_after", "hook_timeout", "send_logs", "contacts", "conditions", "hooks"]

    func parse(_ node: Node) throws -> EscalationSettings {
        var settings = EscalationSettings()
        let body = try reader.mapping(node, context: "'escalation'")
        try reader.rejectUnknownKeys(body, known: Self.keys, context: "'escalation'")
        let pipelines = PipelineParser(reader: reader)
        var hooks: [(spec: HookSpec, ownTimeout: Bool)] = []
        var contactReferences: [(issueType: String, node: Node)] = []
        var contactsNode: Node?
        for (keyNode, value) in body {
            switch keyNode.string ?? "" {
            case "consecutive_failures":
                let count = try reader.integer(value, key: "escalation.consecutive_failures")
                guard (1...1000).contains(count) else {
                    throw reader.error(value, "escalation.consecutive_failures must be 1 to 1000 failed backups in a row, got \(count)")
                }
                settings.consecutiveFailures = count
            case "escalate_after":
                settings.escalateAfter = try pipelines.duration(value, key: "escalation.escalate_after")
            case "hook_timeout":
                settings.hookTimeout = try pipelines.duration(value, key: "escalation.hook_timeout")
            case "send_logs":
                guard let flag = value.bool else { throw reader.error(value, "escalation.send_logs must be true or false") }
                settings.sendLogs = flag
            case "contacts":
                settings.contacts = try contacts(value)
                contactsNode = value
            case "conditions":
                for (nameNode, policyNode) in try reader.mapping(value, context: "'escalation.conditions'") {
                    let name = try reader.string(nameNode, key: "escalation.conditions")
                    guard let condition = EscalationCondition(rawValue: name) else {
                        let known = EscalationCondition.allCases.map(\.rawValue)
                        let hint = closest(to: name, in: known).map { "; did you mean '\($0)'?" } ?? ""
                        throw reader.error(nameNode, "unknown escalation condition '\(name)' (known conditions: \(known.joined(separator: ", ")))\(hint)")
                    }
                    let (policy, reference) = try self.policy(policyNode, condition: condition, base: settings.policy(condition))
                    settings.policies[condition] = policy
                    if let reference { contactReferences.append((policy.issueType, reference)) }
                }
            default:
                hooks = try reader.list(value, key: "escalation.hooks").map { node in
                    (try pipelines.hook(node), node.mapping?.keys.contains { $0.string == "timeout" } ?? false)
                }
            }
        }
        // Checked after the whole section is read, so `contacts:` may come after `conditions:`.
        for (issueType, node) in contactReferences where settings.contacts[issueType] == nil {
            let known = settings.contacts.keys.sorted()
            let hint = closest(to: issueType, in: known).map { "; did you mean '\($0)'?" } ?? ""
            throw reader.error(node, "unknown contact '\(issueType)': escalation.contacts has no such issue type (known: \(known.joined(separator: ", ")))\(hint)")
        }
        // A table of your own must still have a row for every condition left on its default row.
        if let contactsNode {
            let referenced = Set(contactReferences.map(\.issueType))
            for condition in EscalationCondition.allCases {
                let policy = settings.policy(condition)
                guard policy.enabled, settings.contacts[policy.issueType] == nil, !referenced.contains(policy.issueType) else { continue }
                throw reader.error(contactsNode, "escalation.contacts has no row '\(policy.issueType)', where condition \(condition.rawValue) goes by default; add that row, or set escalation.conditions.\(condition.rawValue).contacts to one of: \(settings.contacts.keys.sorted().joined(separator: ", "))")
            }
        }
        settings.hooks = hooks.map { hook in
            var spec = hook.spec
            if !hook.ownTimeout { spec.timeout = settings.hookTimeout }
            return spec
        }
        return settings
    }

    /// `contacts:` replaces the runbook's table as a whole: issue type -> {primary, secondary}.
    private func contacts(_ node: Node) throws -> [String: EscalationSettings.Contacts] {
        var table: [String: EscalationSettings.Contacts] = [:]
        for (nameNode, rowNode) in try reader.mapping(node, context: "'escalation.contacts'") {
            let name = try reader.string(nameNode, key: "escalation.contacts")
            guard Name.isValid(name) else {
                throw reader.error(nameNode, "issue type '\(name)' must be lowercase letters, digits, '-' or '_' (e.g. s3_aws)")
            }
            let row = try reader.mapping(rowNode, context: "escalation.contacts.\(name)")
            try reader.rejectUnknownKeys(row, known: ["primary", "secondary"], context: "escalation.contacts.\(name)")
            guard let primary = row.first(where: { $0.key.string == "primary" })?.value else {
                throw reader.error(rowNode, "escalation.contacts.\(name) needs 'primary:' (who is told first)")
            }
            table[name] = EscalationSettings.Contacts(
                primary: try reader.string(primary, key: "escalation.contacts.\(name).primary"),
                secondary: try row.first(where: { $0.key.string == "secondary" }).map {
                    try reader.string($0.value, key: "escalation.contacts.\(name).secondary")
                })
        }
        return table
    }

    /// `{contacts: s3_aws, severity: critical, enabled: true}`; returns the node naming the contacts, if any.
    private func policy(_ node: Node, condition: EscalationCondition,
                        base: EscalationSettings.Policy) throws -> (EscalationSettings.Policy, Node?) {
        let context = "escalation.conditions.\(condition.rawValue)"
        let body = try reader.mapping(node, context: context)
        try reader.rejectUnknownKeys(body, known: ["contacts", "severity", "enabled"], context: context)
        var policy = base
        var reference: Node?
        for (keyNode, value) in body {
            switch keyNode.string ?? "" {
            case "contacts":
                policy.issueType = try reader.string(value, key: "\(context).contacts")
                reference = value
            case "severity":
                let text = try reader.string(value, key: "\(context).severity")
                guard let severity = EscalationSeverity(rawValue: text) else {
                    throw reader.error(value, "\(context).severity must be one of \(EscalationSeverity.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
                }
                policy.severity = severity
            default:
                guard let flag = value.bool else { throw reader.error(value, "\(context).enabled must be true or false") }
                policy.enabled = flag
            }
        }
        return (policy, reference)
    }
}
