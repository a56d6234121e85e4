import Foundation
import GRDB

/// The SQLite database of run history (embedded default: `<store root>/.cairn/state.sqlite`).
public final class StateStore: Sendable {
    private let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            var configuration = GRDB.Configuration()
            configuration.busyMode = .timeout(10)  // another cairn may be writing its record
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(queue)
        } catch {
            throw CairnError.failure("cannot open the state database \(path): \(describe(error)); check that the folder is writable, or set state.path in cairn.yaml")
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
        return migrator
    }

    public func record(_ backup: BackupRecord) throws {
        try queue.write { db in try backup.save(db) }
    }

    public func backups(component: String? = nil, environment: String? = nil, limit: Int = 100) throws -> [BackupRecord] {
        try queue.read { db in
            var request = BackupRecord.all()
            if let component { request = request.filter(Column("component") == component) }
            if let environment { request = request.filter(Column("environment") == environment) }
            return try request.order(Column("started_at").desc).limit(limit).fetchAll(db)
        }
    }

    public func backup(id: String) throws -> BackupRecord? {
        try queue.read { db in try BackupRecord.fetchOne(db, key: id) }
    }
}
