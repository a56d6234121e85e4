import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// What an escalation hook is told: one JSON document on stdin and the same facts as CAIRN_*
/// variables (docs/escalation.md has the schema).
struct EscalationEvent {
    enum Action: String, Sendable { case trigger, escalate, resolve }

    var action: Action
    var incident: IncidentRecord
    var contacts: EscalationSettings.Contacts?
    var issueType: String
    var source: ObservationSource
    /// The last lines of the run log, only when `send_logs: true`.
    var logTail: [String]?

    var escalated: Bool { incident.escalatedAt != nil }

    /// Who should act now: the primary contact, plus the secondary once escalated.
    var notify: [String] {
        guard let contacts else { return [] }
        return [contacts.primary] + (escalated ? contacts.secondary.map { [$0] } ?? [] : [])
    }

    func json(time: Date = Date()) -> JSONValue {
        func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        func date(_ value: Date?) -> JSONValue { value.map { .string(Self.timestamp($0)) } ?? .null }
        return .object([
            "event": .string("escalation"),
            "action": .string(action.rawValue),
            "time": .string(Self.timestamp(time)),
            "key": .string(incident.key),
            "severity": .string(incident.severity),
            "condition": .string(incident.condition),
            "component": .string(incident.component),
            "environment": .string(incident.environment),
            "summary": .string(incident.summary),
            "evidence": incident.evidenceValue,
            "run_id": optional(source.runID),
            "log_file": optional(source.logFile),
            "source": .string(source.origin),
            "host": .string(LocalProcess.hostname),
            "opened_at": date(incident.openedAt),
            "escalated_at": date(incident.escalatedAt),
            "resolved_at": date(incident.resolvedAt),
            "occurrences": .number(Double(incident.occurrences)),
            "contacts": .object([
                "issue_type": .string(issueType),
                "primary": optional(contacts?.primary),
                "secondary": optional(contacts?.secondary),
                "notify": .array(notify.map { .string($0) }),
            ]),
            "log_tail": logTail.map { .array($0.map { .string($0) }) } ?? .null,
        ])
    }

    /// Every variable always set (empty when not applicable), so `set -u` scripts work.
    var variables: [(String, String)] {
        [
            ("CAIRN_HOOK_PHASE", "escalation"),
            ("CAIRN_ESCALATION_ACTION", action.rawValue),
            ("CAIRN_INCIDENT_KEY", incident.key),
            ("CAIRN_SEVERITY", incident.severity),
            ("CAIRN_CONDITION", incident.condition),
            ("CAIRN_COMPONENT", incident.component),
            ("CAIRN_ENVIRONMENT", incident.environment),
            ("CAIRN_SUMMARY", incident.summary),
            ("CAIRN_EVIDENCE", incident.evidenceValue.jsonText),
            ("CAIRN_RUN_ID", source.runID ?? ""),
            ("CAIRN_LOG_FILE", source.logFile ?? ""),
            ("CAIRN_CONTACT_PRIMARY", contacts?.primary ?? ""),
            ("CAIRN_CONTACT_SECONDARY", contacts?.secondary ?? ""),
            ("CAIRN_NOTIFY", notify.joined(separator: ", ")),
        ]
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
