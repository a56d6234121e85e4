import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
/// One fact a command noticed about a condition: the problem is there (with its evidence) or it
/// is not (a success that resolves an open incident). Any command can report these to
/// `EscalationService`; pipeline runs derive them from their steps.
public struct ConditionObservation: Sendable, Equatable {
    public var condition: EscalationCondition
    /// The component; ignored for conditions of shared resources (see `sharedSubject`).
    public var component: String
    /// false: the problem was seen (for `consecutive_failures`: this backup attempt failed).
    public var healthy: Bool
    /// One line for people: "redis backup failed: connection refused".
    public var summary: String
    public var evidence: [String: JSONValue]
    /// nil: the environment of the command that reports it (validation may look at others).
    public var environment: String?

    public init(condition: EscalationCondition, component: String, healthy: Bool, summary: String,
                evidence: [String: JSONValue] = [:], environment: String? = nil) {
        self.condition = condition; self.component = component; self.healthy = healthy
        self.summary = summary; self.evidence = evidence; self.environment = environment
    }

    public static func problem(_ condition: EscalationCondition, component: String, _ summary: String,
                               evidence: [String: JSONValue] = [:], environment: String? = nil) -> ConditionObservation {
        ConditionObservation(condition: condition, component: component, healthy: false, summary: summary, evidence: evidence,
                             environment: environment)
    }

    public static func healthy(_ condition: EscalationCondition, component: String, _ summary: String,
                               environment: String? = nil) -> ConditionObservation {
        ConditionObservation(condition: condition, component: component, healthy: true, summary: summary, environment: environment)
    }

    /// The part of the incident key between environment and condition.
    public var subject: String { condition.sharedSubject ?? component }

    public static func key(environment: String, subject: String, condition: EscalationCondition) -> String {
        "cairn/\(environment)/\(subject)/\(condition.rawValue)"
    }
}

/// Where an observation came from, for events and the incident record.
public struct ObservationSource: Sendable {
    public var runID: String?
    public var logFile: String?
    /// "pipeline backup", "verify", "integrity"...
    public var origin: String

    public init(runID: String?, logFile: String?, origin: String) {
        self.runID = runID; self.logFile = logFile; self.origin = origin
    }
}
