import CairnCore
import Foundation
import GRDB

/// The SQLite database of run history (embedded default: `<store root>/.cairn/state.sqlite`).
public final class StateStore: Sendable {
    /// Internal so the run-history extension can use it. One queue serializes this process's threads;
    /// SQLite file locks (waited on up to busyMode) serialize processes.
    let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            var configuration = GRDB.Configuration()
            configuration.busyMode = .timeout(10)  // another cairn may be writing its record
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrate(queue)
        } catch let error as DatabaseError {
            throw Self.explain(error, path: path)
        } catch {
            throw CairnError.failure("cannot open the state database \(path): \(describe(error)); check that the folder is writable, or set state.path in cairn.yaml")
        }
    }

    /// Two processes starting on a new or older database both see the same migration missing; the one
    /// that loses fails on "table already exists" after the winner commits. Re-reading the applied
    /// migrations then skips it; each such loss means one more migration done, so this ends.
    private static func migrate(_ queue: DatabaseQueue) throws {
        let migrator = migrator
        let attempts = migrator.migrations.count + 1
        for attempt in 1... {
            do { return try migrator.migrate(queue) } catch where attempt < attempts { continue }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: backups") { db in
            try db.create(table: "backups") { t in
                t.column("backup_id", .text).notNull().primaryKey()
                t.column("component", .text).notNull()
                t.column("plugin", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("storage_key", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime).notNull()
                t.column("outcome", .text).notNull()
                t.column("error", .text)
                t.column("files", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("compressed_bytes", .integer).notNull()
                t.column("verified", .boolean).notNull()
            }
            try db.create(index: "backups_by_component", on: "backups", columns: ["component", "environment", "started_at"])
        }
        migrator.registerMigration("v2: runs, steps and locks") { db in
            try db.create(table: "runs") { t in
                t.column("run_id", .text).notNull().primaryKey()
                t.column("pipeline", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("component", .text)
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime)
                t.column("outcome", .text).notNull()
                t.column("error", .text)
                t.column("pid", .integer).notNull()
                t.column("hostname", .text).notNull()
                t.column("log_file", .text)
            }
            try db.create(index: "runs_by_start", on: "runs", columns: ["started_at"])
            try db.create(index: "runs_by_outcome", on: "runs", columns: ["outcome"])
            try db.create(table: "steps") { t in
                t.column("run_id", .text).notNull().references("runs", onDelete: .cascade)
                t.column("step_index", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("component", .text)
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime)
                t.column("outcome", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("error", .text)
                t.primaryKey(["run_id", "step_index"])
            }
            // One row per (pipeline, environment) that is running: the primary key is the mutual exclusion.
            try db.create(table: "locks") { t in
                t.column("pipeline", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("run_id", .text).notNull().references("runs", onDelete: .cascade)
                t.column("acquired_at", .datetime).notNull()
                t.primaryKey(["pipeline", "environment"])
            }
        }
        migrator.registerMigration("v3: backup verification details") { db in
            try db.alter(table: "backups") { t in t.add(column: "verification", .text) }
        }
        registerEscalationMigration(&migrator)
        migrator.registerMigration("backups: the run that made them") { db in
            try db.alter(table: "backups") { t in t.add(column: "run_id", .text) }
        }
        return migrator
    }

    public func record(_ backup: BackupRecord) throws {
        try write { db in try backup.save(db) }
    }

    /// Drops a backup's record: an attempt that was no backup at all (a configuration error).
    public func forget(backupID: String) throws {
        _ = try write { db in try BackupRecord.deleteOne(db, key: backupID) }
    }

    public func backups(component: String? = nil, environment: String? = nil, limit: Int = 100) throws -> [BackupRecord] {
        try read { db in
            var request = BackupRecord.all()
            if let component { request = request.filter(Column("component") == component) }
            if let environment { request = request.filter(Column("environment") == environment) }
            return try request.order(Column("started_at").desc).limit(limit).fetchAll(db)
        }
    }

    public func backup(id: String) throws -> BackupRecord? {
        try read { db in try BackupRecord.fetchOne(db, key: id) }
    }

    /// Backups that a run now recorded as interrupted (its process died, or it was cancelled) was
    /// still writing (`running`) or had stored without verifying: nothing vouches for them, and
    /// no live run owns them.
    public func unverifiedBackupsOfInterruptedRuns(component: String, environment: String) throws -> [BackupRecord] {
        try queue.read { db in
            try BackupRecord.fetchAll(db, sql: """
                SELECT backups.* FROM backups JOIN runs ON runs.run_id = backups.run_id
                WHERE backups.component = ? AND backups.environment = ? AND backups.outcome IN (?, ?)
                  AND NOT backups.verified AND runs.outcome = ?
                ORDER BY backups.started_at
                """, arguments: [component, environment, Outcome.running.rawValue, Outcome.success.rawValue,
                                 Outcome.interrupted.rawValue])
        }
    }
}
