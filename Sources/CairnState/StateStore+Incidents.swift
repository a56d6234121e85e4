import CairnCore
import Foundation
import GRDB

/// Incidents and the failure streaks that open them (docs/escalation.md).
extension StateStore {
    static func registerEscalationMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("escalation: incidents and failure streaks") { db in
            try db.create(table: "incidents") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("key", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("component", .text).notNull()
                t.column("condition", .text).notNull()
                t.column("severity", .text).notNull()
                t.column("status", .text).notNull()
                t.column("summary", .text).notNull()
                t.column("evidence", .text).notNull()
                t.column("opened_at", .datetime).notNull()
                t.column("opened_run_id", .text)
                t.column("last_seen_at", .datetime).notNull()
                t.column("last_run_id", .text)
                t.column("occurrences", .integer).notNull()
                t.column("escalated_at", .datetime)
                t.column("resolved_at", .datetime)
                t.column("resolution", .text)
                t.column("deliveries", .text).notNull()
            }
            // "Triggers once while open": the database itself refuses a second open incident per key.
            try db.execute(sql: "CREATE UNIQUE INDEX incidents_open_key ON incidents(key) WHERE status = 'open'")
            try db.create(index: "incidents_by_opened", on: "incidents", columns: ["opened_at"])
            // Failed backup attempts of a component in a row, counting runs that failed before the
            // backup step (a stopped Redis fails its pre-check and never writes a backup record).
            try db.create(table: "failure_streaks") { t in
                t.column("environment", .text).notNull()
                t.column("component", .text).notNull()
                t.column("failures", .integer).notNull()
                t.column("first_failure_at", .datetime)
                t.column("last_error", .text)
                t.column("last_success_at", .datetime)
                t.primaryKey(["environment", "component"])
            }
        }
    }

    public func openIncident(key: String) throws -> IncidentRecord? {
        try read { db in
            try IncidentRecord.filter(Column("key") == key && Column("status") == IncidentRecord.Status.open.rawValue).fetchOne(db)
        }
    }

    public func incident(id: Int64) throws -> IncidentRecord? {
        try read { db in try IncidentRecord.fetchOne(db, key: id) }
    }

    /// Open incidents oldest first, or (`includeResolved`) the newest `limit` of all.
    public func incidents(includeResolved: Bool = false, environment: String? = nil, limit: Int = 100) throws -> [IncidentRecord] {
        try read { db in
            var request = IncidentRecord.all()
            if !includeResolved { request = request.filter(Column("status") == IncidentRecord.Status.open.rawValue) }
            if let environment { request = request.filter(Column("environment") == environment) }
            request = includeResolved ? request.order(Column("opened_at").desc, Column("id").desc) : request.order(Column("opened_at"), Column("id"))
            return try request.limit(limit).fetchAll(db)
        }
    }

    /// Stores a new open incident; fails if one is already open under its key.
    public func insertIncident(_ incident: IncidentRecord) throws -> IncidentRecord {
        try write { db in
            var copy = incident
            try copy.insert(db)
            return copy
        }
    }

    /// Records that an open incident's problem was seen again; nil when it is no longer open.
    public func recordRecurrence(id: Int64, at time: Date, summary: String, evidence: String, runID: String?) throws -> IncidentRecord? {
        try updateOpenIncident(id: id, set: """
            last_seen_at = ?, occurrences = occurrences + 1, summary = ?, evidence = ?, last_run_id = COALESCE(?, last_run_id)
            """, arguments: [time, summary, evidence, runID])
    }

    /// Closes an open incident; nil when it was no longer open (another cairn closed it first).
    public func resolveIncident(id: Int64, at time: Date, resolution: String, runID: String?) throws -> IncidentRecord? {
        try updateOpenIncident(id: id, set: "status = 'resolved', resolved_at = ?, resolution = ?, last_run_id = COALESCE(?, last_run_id)",
                               arguments: [time, resolution, runID])
    }

    /// Marks an open incident escalated; nil when it already was (or is closed), so it escalates once.
    public func escalateIncident(id: Int64, at time: Date) throws -> IncidentRecord? {
        try updateOpenIncident(id: id, set: "escalated_at = ?", arguments: [time], alsoWhere: "escalated_at IS NULL")
    }

    /// Applies `set` to the incident if it is still open (and `alsoWhere` holds) and returns it as
    /// stored; nil when another cairn changed it first, so each transition happens once.
    private func updateOpenIncident(id: Int64, set: String, arguments: StatementArguments,
                                    alsoWhere: String = "1") throws -> IncidentRecord? {
        try write { db in
            try db.execute(sql: "UPDATE incidents SET \(set) WHERE id = ? AND status = 'open' AND \(alsoWhere)",
                           arguments: arguments + [id])
            return db.changesCount > 0 ? try IncidentRecord.fetchOne(db, key: id) : nil
        }
    }

    /// Adds one delivery attempt to the incident's record.
    public func appendDelivery(incidentID: Int64, _ delivery: JSONValue) throws {
        try write { db in
            guard var incident = try IncidentRecord.fetchOne(db, key: incidentID) else { return }
            incident.deliveries = JSONValue.array(incident.deliveryValues + [delivery]).jsonText
            try incident.update(db)
        }
    }

    /// Records one backup attempt of a component and returns the failures in a row (0 after a success).
    public func recordBackupAttempt(component: String, environment: String, succeeded: Bool, error: String?,
                                    at time: Date = Date()) throws -> FailureStreak {
        try write { db in
            var streak = try FailureStreak.fetchOne(db, key: ["environment": environment, "component": component])
                ?? FailureStreak(environment: environment, component: component, failures: 0)
            if succeeded {
                streak.failures = 0
                streak.firstFailureAt = nil
                streak.lastError = nil
                streak.lastSuccessAt = time
            } else {
                streak.failures += 1
                if streak.firstFailureAt == nil { streak.firstFailureAt = time }
                streak.lastError = error
            }
            try streak.save(db)
            return streak
        }
    }
}

/// Failed backup attempts of one component in a row.
public struct FailureStreak: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "failure_streaks"
    public var environment: String
    public var component: String
    public var failures: Int
    public var firstFailureAt: Date?
    public var lastError: String?
    public var lastSuccessAt: Date?

    enum CodingKeys: String, CodingKey {
        case environment, component, failures
        case firstFailureAt = "first_failure_at", lastError = "last_error", lastSuccessAt = "last_success_at"
    }
}
