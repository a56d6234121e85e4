import CairnCore
import Foundation
import GRDB

/// One incident: a condition that held for a component (or for the store or host) from the run
/// that opened it until it was resolved. At most one is open per key.
public struct IncidentRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "incidents"

    public enum Status: String, Codable, Sendable { case open, resolved }

    public var id: Int64?
    /// `cairn/<environment>/<subject>/<condition>`: the dedup key notifiers use.
    public var key: String
    public var environment: String
    /// The component, or `storage` / `host` for conditions of shared resources.
    public var component: String
    public var condition: String
    public var severity: String
    public var status: Status
    public var summary: String
    /// JSON object: the facts behind the latest observation (errors, counts, check results).
    public var evidence: String
    public var openedAt: Date
    public var openedRunID: String?
    public var lastSeenAt: Date
    public var lastRunID: String?
    /// How many observations of the problem this incident has absorbed.
    public var occurrences: Int
    public var escalatedAt: Date?
    public var resolvedAt: Date?
    /// "run run_… (backup succeeded)" or "by hand: <note>".
    public var resolution: String?
    /// JSON array of delivery attempts: {time, action, hook, outcome, message}.
    public var deliveries: String

    enum CodingKeys: String, CodingKey {
        case id, key, environment, component, condition, severity, status, summary, evidence, occurrences, resolution, deliveries
        case openedAt = "opened_at", openedRunID = "opened_run_id", lastSeenAt = "last_seen_at", lastRunID = "last_run_id"
        case escalatedAt = "escalated_at", resolvedAt = "resolved_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64?, key: String, environment: String, component: String, condition: String, severity: String,
                status: Status, summary: String, evidence: String, openedAt: Date, openedRunID: String?, lastSeenAt: Date,
                lastRunID: String?, occurrences: Int, escalatedAt: Date?, resolvedAt: Date?, resolution: String?,
                deliveries: String) {
        self.id = id; self.key = key; self.environment = environment; self.component = component
        self.condition = condition; self.severity = severity; self.status = status; self.summary = summary
        self.evidence = evidence; self.openedAt = openedAt; self.openedRunID = openedRunID; self.lastSeenAt = lastSeenAt
        self.lastRunID = lastRunID; self.occurrences = occurrences; self.escalatedAt = escalatedAt
        self.resolvedAt = resolvedAt; self.resolution = resolution; self.deliveries = deliveries
    }

    public var evidenceValue: JSONValue { (try? JSONValue.parse(evidence)) ?? .object([:]) }
    public var deliveryValues: [JSONValue] {
        if case .array(let list)? = try? JSONValue.parse(deliveries) { return list }
        return []
    }
}
