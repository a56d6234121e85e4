import CairnCore
import Foundation
import GRDB

/// Run history and the per-(pipeline, environment) lock that keeps two runs of one pipeline apart.
extension StateStore {
    /// Starts a run under the lock for (pipeline, environment).
    ///
    /// A holder whose process is alive on this host (or that ran on another host, which cannot be
    /// checked from here) makes this throw; a holder whose process is gone is marked `interrupted`
    /// and the lock taken over. Check and take happen in one IMMEDIATE transaction, so of two
    /// processes or threads racing here exactly one gets the lock.
    public func beginRun(pipeline: String, environment: String, component: String?, logFile: String?) throws -> RunRecord {
        let hostname = LocalProcess.hostname, pid = LocalProcess.pid
        return try immediateTransaction { db in
            if let holder = try Self.lockHolder(db, pipeline: pipeline, environment: environment) {
                if holder.outcome != .running {
                    // Finished without releasing the lock (not expected): nothing left to protect.
                    try db.execute(sql: "DELETE FROM locks WHERE run_id = ?", arguments: [holder.runID])
                } else if Self.processIsGone(holder, localHostname: hostname) {
                    try Self.markInterrupted(db, holder)
                } else {
                    let remote = holder.hostname == hostname ? ""
                        : "; \(holder.hostname) is another host, so cairn cannot check whether that process is alive"
                    throw CairnError.failure("pipeline '\(pipeline)' for environment '\(environment)' is already running"
                        + " (run \(holder.runID), pid \(holder.pid) on \(holder.hostname) since \(Self.timestamp(holder.startedAt))\(remote));"
                        + " wait for it or stop it")
                }
            }
            return try Self.takeLock(db, pipeline, environment, component, logFile, pid, hostname)
        }
    }

    /// Records how the run ended and releases its lock.
    public func finishRun(_ runID: String, outcome: Outcome, error: String?) throws {
        guard outcome != .running else {
            throw CairnError.failure("run \(runID) cannot finish with outcome 'running'")
        }
        try immediateTransaction { db in
            try db.execute(sql: "UPDATE runs SET finished_at = ?, outcome = ?, error = ? WHERE run_id = ?",
                           arguments: [Date(), outcome.rawValue, error, runID])
            guard db.changesCount > 0 else {
                throw CairnError.failure("run \(runID) is not in the state database \(path)")
            }
            try db.execute(sql: "DELETE FROM locks WHERE run_id = ?", arguments: [runID])
        }
    }

    /// Marks runs still `running` whose process is gone from this host as `interrupted` and drops
    /// their locks; returns them as they are now recorded. Runs of other hosts are left alone.
    @discardableResult
    public func markInterruptedRuns() throws -> [RunRecord] {
        let hostname = LocalProcess.hostname
        return try immediateTransaction { db in
            let running = try RunRecord
                .filter(Column("outcome") == Outcome.running.rawValue && Column("hostname") == hostname)
                .order(Column("started_at"))
                .fetchAll(db)
            var interrupted: [RunRecord] = []
            for run in running where Self.processIsGone(run, localHostname: hostname) {
                interrupted.append(try Self.markInterrupted(db, run))
            }
            return interrupted
        }
    }

    /// The run as a reader should see it: one still `running` whose process is gone from this host
    /// shows as `interrupted`, without being marked (marking it is the next pipeline run's job,
    /// which then escalates it).
    public func asSeen(_ run: RunRecord) -> RunRecord {
        guard run.outcome == .running, Self.processIsGone(run, localHostname: LocalProcess.hostname) else { return run }
        var seen = Self.interrupted(run)
        seen.error! += "; the next pipeline run records it as a failure"
        return seen
    }

    /// Inserts the step, or updates the one with the same (runID, index).
    public func recordStep(_ step: StepRecord) throws {
        try write { db in try step.save(db) }
    }

    /// Newest first. `component` matches single-component runs of it and pipeline runs with a step for it:
    /// "what happened to redis" includes the nightly pipeline that backed it up.
    public func runs(pipeline: String? = nil, component: String? = nil, limit: Int = 20) throws -> [RunRecord] {
        try read { db in
            var request = RunRecord.all()
            // Runs for one component are recorded (and locked) as "<pipeline>/<component>".
            if let pipeline {
                request = request.filter(sql: "pipeline = ? OR substr(pipeline, 1, ?) = ?",
                                         arguments: [pipeline, pipeline.count + 1, pipeline + "/"])
            }
            if let component {
                request = request.filter(sql: "component = ? OR run_id IN (SELECT run_id FROM steps WHERE component = ?)",
                                          arguments: [component, component])
            }
            return try request.order(Column("started_at").desc, Column("run_id").desc).limit(limit).fetchAll(db)
        }
    }

    public func run(id: String) throws -> RunRecord? {
        try read { db in try RunRecord.fetchOne(db, key: id) }
    }

    /// In step order.
    public func steps(runID: String) throws -> [StepRecord] {
        try read { db in
            try StepRecord.filter(Column("run_id") == runID).order(Column("step_index")).fetchAll(db)
        }
    }

    /// Failed backups of a component in an environment since its last successful one (all of them
    /// if it never succeeded): what alerting counts before it triggers.
    public func consecutiveFailures(component: String, environment: String) throws -> Int {
        try read { db in
            let outcomes = try String.fetchCursor(db, sql: """
                SELECT outcome FROM backups WHERE component = ? AND environment = ?
                ORDER BY started_at DESC, backup_id DESC
                """, arguments: [component, environment])
            var failures = 0
            while let outcome = try outcomes.next() {
                if outcome == Outcome.success.rawValue { break }
                if outcome == Outcome.failure.rawValue { failures += 1 }
            }
            return failures
        }
    }

    // MARK: Helpers

    /// IMMEDIATE takes SQLite's write lock before the first read, so a check-then-write cannot be
    /// overtaken by another connection (a DEFERRED one could read, then lose the upgrade race).
    private func immediateTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    private static func lockHolder(_ db: Database, pipeline: String, environment: String) throws -> RunRecord? {
        try RunRecord.fetchOne(db, sql: """
            SELECT runs.* FROM locks JOIN runs ON runs.run_id = locks.run_id
            WHERE locks.pipeline = ? AND locks.environment = ?
            """, arguments: [pipeline, environment])
    }

    /// Only a process of this host can be checked; one on another host counts as alive.
    private static func processIsGone(_ run: RunRecord, localHostname: String) -> Bool {
        run.hostname == localHostname && !LocalProcess.isAlive(pid: run.pid)
    }

    /// The run of a process that ended without finishing it.
    private static func interrupted(_ run: RunRecord) -> RunRecord {
        var run = run
        run.outcome = .interrupted
        run.error = "the process (pid \(run.pid)) ended without finishing the run"
        return run
    }

    @discardableResult
    private static func markInterrupted(_ db: Database, _ run: RunRecord) throws -> RunRecord {
        let run = interrupted(run)
        try run.update(db)
        try db.execute(sql: "DELETE FROM locks WHERE run_id = ?", arguments: [run.runID])
        return run
    }

    private static func takeLock(_ db: Database, _ pipeline: String, _ environment: String, _ component: String?,
                                 _ logFile: String?, _ pid: Int32, _ hostname: String) throws -> RunRecord {
        let now = Date()
        let run = RunRecord(runID: try newRunID(db, startedAt: now, pid: pid), pipeline: pipeline,
                            environment: environment, component: component, startedAt: now, outcome: .running,
                            pid: pid, hostname: hostname, logFile: logFile)
        try run.insert(db)
        try db.execute(sql: "INSERT INTO locks (pipeline, environment, run_id, acquired_at) VALUES (?, ?, ?, ?)",
                       arguments: [pipeline, environment, run.runID, now])
        // Read back so the caller holds exactly what is stored (dates keep milliseconds only).
        return try RunRecord.fetchOne(db, key: run.runID)!
    }

    /// "run_20261126_190102_4821": a run's id from its UTC start time and pid.
    public static func runID(startedAt: Date, pid: Int32) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        return "run_\(formatter.string(from: startedAt))_\(pid)"
    }

    /// "run_20261126_190102_4821" (UTC time, pid); runs of one process in the same second get "_2", "_3"...
    private static func newRunID(_ db: Database, startedAt: Date, pid: Int32) throws -> String {
        let base = runID(startedAt: startedAt, pid: pid)
        var candidate = base
        for suffix in 2... {
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE run_id = ?", arguments: [candidate]) == true else { break }
            candidate = "\(base)_\(suffix)"
        }
        return candidate
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }
}
