import CairnCore
import CairnHooks
import CairnOperations
/// The runbook's "When to Escalate", one case per line of it, plus what its daily validation
/// looks for. The raw value is the last part of an incident key
/// (`cairn/<environment>/<subject>/<condition>`) and the name used in cairn.yaml.
public enum EscalationCondition: String, CaseIterable, Codable, Sendable {
    /// "Backup fails multiple times consecutively": N failed backups of one component in a row.
    case consecutiveFailures = "consecutive_failures"
    /// "S3 bucket becomes inaccessible": the store's access check or a store operation failed.
    case storageInaccessible = "storage_inaccessible"
    /// "Critical system resources are exhausted": a host check (disk, memory, load) failed.
    case resourcesExhausted = "resources_exhausted"
    /// "Data corruption is detected in backups": a verification found a damaged archive or a
    /// checksum that does not match.
    case corruptionDetected = "corruption_detected"
    /// Not in the runbook's list, but what its daily validation looks for: a component with no
    /// backup, or none younger than `validation.max_age`. It catches the failure that produces no
    /// failed run at all: backups that stopped being attempted.
    case backupStale = "backup_stale"

    /// Conditions of shared resources are keyed by the resource, not by the component whose run
    /// noticed: one store outage is one incident, however many components it stops.
    public var sharedSubject: String? {
        switch self {
        case .storageInaccessible: return "storage"
        case .resourcesExhausted: return "host"
        case .consecutiveFailures, .corruptionDetected, .backupStale: return nil
        }
    }

    /// The row of the runbook's "Escalation Contacts" table it goes to, unless configured otherwise.
    var defaultIssueType: String {
        switch self {
        case .consecutiveFailures, .backupStale: return "backup_script"
        case .storageInaccessible: return "s3_aws"
        case .resourcesExhausted: return "system_resources"
        case .corruptionDetected: return "database"
        }
    }

    var defaultSeverity: EscalationSeverity {
        switch self {
        case .resourcesExhausted, .backupStale: return .error
        default: return .critical
        }
    }
}

/// PagerDuty's severities, which most other tools map onto.
public enum EscalationSeverity: String, CaseIterable, Codable, Sendable {
    case critical, error, warning, info
}
