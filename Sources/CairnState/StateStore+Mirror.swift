import CairnCore
import Foundation
import GRDB

/// What the store's copy of the state (StateMirror) reads from and writes into this database:
/// whole records, keyed as every host keys them (a run by its id, a streak by its component, an
/// incident by its key and the time it opened), never by this file's row ids.
extension StateStore {
    /// The component's failed backups in a row, as escalation counts them; nil before its first attempt.
    public func streak(component: String, environment: String) throws -> FailureStreak? {
        try read { db in try FailureStreak.fetchOne(db, key: ["environment": environment, "component": component]) }
    }

    public func streaks(environment: String) throws -> [FailureStreak] {
        try read { db in try FailureStreak.filter(Column("environment") == environment).fetchAll(db) }
    }

    /// Takes another host's streak as it is (the store's copy is newer than ours).
    public func replaceStreak(_ streak: FailureStreak) throws {
        try write { db in try streak.save(db) }
    }

    /// Takes another host's incident: updates ours with the same key and opening time, or adds it.
    public func replaceIncident(_ incident: IncidentRecord) throws {
        try write { db in
            var copy = incident
            if let existing = try IncidentRecord.filter(Column("key") == incident.key && Column("opened_at") == incident.openedAt).fetchOne(db) {
                copy.id = existing.id
                try copy.update(db)
                return
            }
            // Another host opened an incident under a key ours has open: theirs is the one that stands.
            if copy.status == .open {
                try db.execute(sql: "UPDATE incidents SET status = 'resolved', resolution = 'superseded by another host', resolved_at = ? WHERE key = ? AND status = 'open'",
                               arguments: [incident.openedAt, incident.key])
            }
            copy.id = nil
            try copy.insert(db)
        }
    }

    /// Adds a run another host recorded, with its steps; a run already here is left as it is.
    public func importRun(_ run: RunRecord, steps: [StepRecord]) throws {
        try write { db in
            guard try RunRecord.fetchOne(db, key: run.runID) == nil else { return }
            try run.insert(db)
            for step in steps { try step.insert(db) }
        }
    }

    public func hasRun(_ runID: String) throws -> Bool {
        try read { db in try RunRecord.fetchOne(db, key: runID) != nil }
    }
}
