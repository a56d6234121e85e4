import CairnCore
import CairnHooks
import CairnOperations
import Foundation

/// `escalation:` in cairn.yaml (docs/escalation.md).
public struct EscalationSettings: Sendable {
    /// One row of the runbook's "Escalation Contacts" table.
    public struct Contacts: Sendable, Equatable {
        public var primary: String
        public var secondary: String?
    }

    /// How one condition is handled.
    public struct Policy: Sendable, Equatable {
        public var enabled = true
        public var severity: EscalationSeverity
        /// A key of `contacts`.
        public var issueType: String
    }

    /// Failed backups of a component in a row before `consecutive_failures` triggers.
    public var consecutiveFailures = 3
    /// How long an incident stays open before the secondary contact is added.
    public var escalateAfter: Double = 3600
    /// Limit for an escalation hook that sets no `timeout` of its own.
    public var hookTimeout: Double = 30
    /// Put the tail of the run log into events (off: logs can hold hostnames, paths, data).
    public var sendLogs = false
    public var contacts: [String: Contacts] = EscalationSettings.runbookContacts
    public var policies: [EscalationCondition: Policy] = Dictionary(uniqueKeysWithValues: EscalationCondition.allCases.map {
        ($0, Policy(severity: $0.defaultSeverity, issueType: $0.defaultIssueType))
    })
    public var hooks: [HookSpec] = []

    public init() {}

    /// The runbook's table, used when cairn.yaml has no `contacts:`.
    public static let runbookContacts: [String: Contacts] = [
        "backup_script": Contacts(primary: "DevOps Engineer", secondary: "Senior Backend Developer"),
        "s3_aws": Contacts(primary: "Cloud Infrastructure Team", secondary: "DevOps Lead"),
        "database": Contacts(primary: "Database Administrator", secondary: "Senior Backend Developer"),
        "system_resources": Contacts(primary: "System Administrator", secondary: "DevOps Engineer"),
    ]

    public func policy(_ condition: EscalationCondition) -> Policy {
        policies[condition] ?? Policy(severity: condition.defaultSeverity, issueType: condition.defaultIssueType)
    }
}
