import Foundation
import Testing
@testable import CairnCore
@testable import CairnState
import CairnTestSupport

@Suite("RunHistory")
struct RunHistoryTests {
    let directory: TemporaryDirectory
    let state: StateStore

    init() throws {
        directory = try TemporaryDirectory("run-history")
        state = try StateStore(path: directory.path("state.sqlite").path)
    }

    /// A pid that certainly belonged to a process that has ended: a child we waited for.
    static func deadPid() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    func insert(_ run: RunRecord, lock: Bool) throws {
        try state.queue.write { db in
            try run.insert(db)
            if lock {
                try db.execute(sql: "INSERT INTO locks (pipeline, environment, run_id, acquired_at) VALUES (?, ?, ?, ?)",
                               arguments: [run.pipeline, run.environment, run.runID, run.startedAt])
            }
        }
    }

    func lockCount() throws -> Int {
        try state.queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM locks") ?? 0 }
    }

    @Test func beginAndFinish() throws {
        let run = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: "/var/log/cairn/x.log")
        #expect(run.runID.hasPrefix("run_"))
        #expect(run.runID.hasSuffix("_\(getpid())"))
        #expect(run.outcome == .running)
        #expect(run.pid == getpid())
        #expect(run.hostname == LocalProcess.hostname)
        #expect(run.logFile == "/var/log/cairn/x.log")
        #expect(try state.runs() == [run])
        #expect(try lockCount() == 1)

        try state.finishRun(run.runID, outcome: .partial, error: "redis: connection refused")
        let finished = try #require(try state.run(id: run.runID))
        #expect(finished.outcome == .partial)
        #expect(finished.error == "redis: connection refused")
        #expect(try #require(finished.finishedAt) >= run.startedAt)
        #expect(try lockCount() == 0)

        // The lock is free again, and a second run in the same second gets its own ID.
        let again = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        #expect(again.runID != run.runID)
    }

    @Test func finishingAnUnknownRunFails() throws {
        let error = #expect(throws: CairnError.self) { try state.finishRun("run_nope", outcome: .success, error: nil) }
        #expect(error?.message.contains("run_nope is not in the state database") == true)
    }

    @Test func secondRunOfTheSamePipelineAndEnvironmentIsRefused() throws {
        let first = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        let error = #expect(throws: CairnError.self) {
            try state.beginRun(pipeline: "nightly", environment: "prod", component: "redis", logFile: nil)
        }
        let since = StateStore.timestamp(first.startedAt)
        #expect(error?.message == "pipeline 'nightly' for environment 'prod' is already running (run \(first.runID),"
            + " pid \(getpid()) on \(LocalProcess.hostname) since \(since)); wait for it or stop it")
        #expect(error?.exitCode == .failure)
        #expect(try state.runs().count == 1)

        // Other environments and pipelines have their own locks.
        _ = try state.beginRun(pipeline: "nightly", environment: "staging", component: nil, logFile: nil)
        _ = try state.beginRun(pipeline: "hourly", environment: "prod", component: nil, logFile: nil)
        #expect(try lockCount() == 3)
    }

    @Test func aRunOnAnotherHostCountsAsAlive() throws {
        let remote = RunRecord(runID: "run_remote", pipeline: "nightly", environment: "prod",
                               startedAt: Date(timeIntervalSince1970: 1_790_000_000), outcome: .running,
                               pid: try Self.deadPid(), hostname: "other-host-\(UUID().uuidString.prefix(8))")
        try insert(remote, lock: true)
        let error = #expect(throws: CairnError.self) {
            try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        }
        #expect(error?.message.contains("(run run_remote, pid \(remote.pid) on \(remote.hostname) since 2026-09-21T") == true)
        #expect(error?.message.contains("\(remote.hostname) is another host, so cairn cannot check whether that process is alive") == true)
        #expect(try state.markInterruptedRuns().isEmpty)
    }

    @Test func aDeadHolderIsMarkedInterruptedAndTheLockTakenOver() throws {
        let pid = try Self.deadPid()
        let stale = RunRecord(runID: "run_stale", pipeline: "nightly", environment: "prod",
                              startedAt: Date(timeIntervalSince1970: 1_790_000_000), outcome: .running,
                              pid: pid, hostname: LocalProcess.hostname)
        try insert(stale, lock: true)

        let run = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        #expect(run.outcome == .running)
        let interrupted = try #require(try state.run(id: "run_stale"))
        #expect(interrupted.outcome == .interrupted)
        #expect(interrupted.error == "the process (pid \(pid)) ended without finishing the run")
        #expect(try lockCount() == 1)
        #expect(try state.runs().map(\.runID) == [run.runID, "run_stale"])
    }

    @Test func markInterruptedRunsOnlyTouchesDeadLocalProcesses() throws {
        let pid = try Self.deadPid()
        let host = LocalProcess.hostname
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        try insert(RunRecord(runID: "run_dead", pipeline: "nightly", environment: "prod", startedAt: start,
                             outcome: .running, pid: pid, hostname: host), lock: true)
        try insert(RunRecord(runID: "run_dead_done", pipeline: "nightly", environment: "dev", startedAt: start,
                             finishedAt: start, outcome: .success, pid: pid, hostname: host), lock: false)
        try insert(RunRecord(runID: "run_remote", pipeline: "nightly", environment: "staging", startedAt: start,
                             outcome: .running, pid: pid, hostname: "elsewhere"), lock: true)
        let alive = try state.beginRun(pipeline: "hourly", environment: "prod", component: nil, logFile: nil)

        let interrupted = try state.markInterruptedRuns()
        #expect(interrupted.map(\.runID) == ["run_dead"])
        #expect(interrupted.first?.outcome == .interrupted)
        #expect(try state.run(id: "run_dead") == interrupted.first)
        #expect(try state.run(id: "run_dead_done")?.outcome == .success)
        #expect(try state.run(id: "run_remote")?.outcome == .running)
        #expect(try state.run(id: alive.runID)?.outcome == .running)
        #expect(try lockCount() == 2)
        #expect(try state.markInterruptedRuns().isEmpty)
    }

    /// Only an archive that a run recorded as interrupted was writing or stored without verifying
    /// is debris: not one of a live run, not a verified one, not a failed attempt, not another
    /// component's.
    @Test func unverifiedArchivesOfInterruptedRunsAreFoundAndNoOthers() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        try insert(RunRecord(runID: "run_dead", pipeline: "backup/redis", environment: "prod", startedAt: start,
                             outcome: .running, pid: try Self.deadPid(), hostname: LocalProcess.hostname), lock: true)
        let live = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        func backup(_ id: String, run: String, component: String = "redis", outcome: Outcome = .success,
                    verified: Bool = false) throws {
            try state.record(BackupRecord(backupID: id, component: component, plugin: "redis", environment: "prod",
                                          storageKey: "\(component)/prod/\(id).tar.gz", startedAt: start, finishedAt: start,
                                          outcome: outcome, error: nil, files: 1, bytes: 1, compressedBytes: 1,
                                          verified: verified, runID: run))
        }
        try backup("redis_1", run: "run_dead")
        try backup("redis_2", run: "run_dead", verified: true)
        try backup("redis_3", run: "run_dead", outcome: .failure)
        try backup("configs_1", run: "run_dead", component: "configs")
        try backup("redis_4", run: live.runID, outcome: .running)
        try backup("redis_5", run: "run_dead", outcome: .running)
        #expect(try state.unverifiedBackupsOfInterruptedRuns(component: "redis", environment: "prod").isEmpty)

        _ = try state.markInterruptedRuns()
        let found = try state.unverifiedBackupsOfInterruptedRuns(component: "redis", environment: "prod")
        #expect(Set(found.map(\.backupID)) == ["redis_1", "redis_5"])
        #expect(found.allSatisfy { $0.runID == "run_dead" })
        #expect(try state.unverifiedBackupsOfInterruptedRuns(component: "redis", environment: "dev").isEmpty)
    }

    @Test func stepsRoundTripAndUpdateInPlace() throws {
        let run = try state.beginRun(pipeline: "nightly", environment: "prod", component: nil, logFile: nil)
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var backup = StepRecord(runID: run.runID, index: 1, name: "backup redis", kind: "backup", component: "redis",
                                startedAt: start, outcome: "running")
        let hook = StepRecord(runID: run.runID, index: 0, name: "hook pre.sh", kind: "hook", startedAt: start,
                              finishedAt: start.addingTimeInterval(2), outcome: "continued", attempts: 3,
                              error: "exit status 1")
        try state.recordStep(backup)
        try state.recordStep(hook)
        #expect(try state.steps(runID: run.runID) == [hook, backup])

        backup.finishedAt = start.addingTimeInterval(61)
        backup.outcome = "success"
        backup.bytes = 5_000_000_000
        try state.recordStep(backup)
        #expect(try state.steps(runID: run.runID) == [hook, backup])
        #expect(try state.steps(runID: "run_other").isEmpty)
    }

    @Test func runsAreNewestFirstAndFiltered() throws {
        let host = LocalProcess.hostname
        for (index, (pipeline, component)) in [("nightly", nil), ("adhoc", "redis"), ("adhoc", "weaviate"), ("nightly", nil)]
            .enumerated() {
            try insert(RunRecord(runID: "run_\(index)", pipeline: pipeline, environment: "prod", component: component,
                                 startedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 60),
                                 finishedAt: Date(timeIntervalSince1970: 1_790_000_030 + Double(index) * 60),
                                 outcome: .success, pid: 1, hostname: host), lock: false)
        }
        #expect(try state.runs().map(\.runID) == ["run_3", "run_2", "run_1", "run_0"])
        #expect(try state.runs(limit: 2).map(\.runID) == ["run_3", "run_2"])
        #expect(try state.runs(pipeline: "nightly").map(\.runID) == ["run_3", "run_0"])
        #expect(try state.runs(component: "redis").map(\.runID) == ["run_1"])
        #expect(try state.runs(pipeline: "nightly", component: "redis").isEmpty)
        // A pipeline run that backed redis up counts as a run of redis.
        try state.recordStep(StepRecord(runID: "run_0", index: 0, name: "backup redis", kind: "backup", component: "redis",
                                        startedAt: Date(timeIntervalSince1970: 1_790_000_000), outcome: "success"))
        #expect(try state.runs(component: "redis").map(\.runID) == ["run_1", "run_0"])
        #expect(try state.runs(pipeline: "nightly", component: "redis").map(\.runID) == ["run_0"])
    }

    @Test func consecutiveFailuresCountUpToTheLastSuccess() throws {
        func backup(_ minute: Int, _ outcome: Outcome, component: String = "redis",
                    environment: String = "prod") throws {
            let start = Date(timeIntervalSince1970: 1_790_000_000 + Double(minute) * 60)
            try state.record(BackupRecord(
                backupID: "\(component)-\(environment)-\(minute)", component: component, plugin: component,
                environment: environment, storageKey: "k", startedAt: start, finishedAt: start, outcome: outcome,
                error: outcome == .failure ? "boom" : nil, files: 0, bytes: 0, compressedBytes: 0, verified: false))
        }
        #expect(try state.consecutiveFailures(component: "redis", environment: "prod") == 0)
        try backup(0, .failure)
        #expect(try state.consecutiveFailures(component: "redis", environment: "prod") == 1)
        try backup(1, .success)
        #expect(try state.consecutiveFailures(component: "redis", environment: "prod") == 0)
        try backup(2, .failure)
        try backup(4, .failure)
        try backup(3, .failure)
        // Other components and environments do not count.
        try backup(5, .success, component: "weaviate")
        try backup(6, .success, environment: "dev")
        #expect(try state.consecutiveFailures(component: "redis", environment: "prod") == 3)
        #expect(try state.consecutiveFailures(component: "redis", environment: "dev") == 0)
        try backup(7, .success)
        #expect(try state.consecutiveFailures(component: "redis", environment: "prod") == 0)
    }

    /// Two connections to one file (as two processes would have) racing for one lock: exactly one wins.
    @Test func twoStoresRacingForOneLockHaveOneWinner() throws {
        let other = try StateStore(path: state.path)
        for round in 0..<20 {
            let results = Results<RunRecord>()
            // Both threads spin until both are ready, so they start within microseconds of each other
            // (a semaphore wakes them one after the other, usually too far apart to overlap).
            let ready = Results<Void>()
            let group = DispatchGroup()
            for store in [state, other] {
                group.enter()
                Thread.detachNewThread {
                    ready.add(.success(()))
                    while ready.all.count < 2 {}
                    results.add(Result { try store.beginRun(pipeline: "race", environment: "prod", component: nil, logFile: nil) })
                    group.leave()
                }
            }
            group.wait()
            let winners = results.all.compactMap { try? $0.get() }
            let losers = results.all.compactMap { result -> CairnError? in
                if case .failure(let error) = result { return error as? CairnError } else { return nil }
            }
            #expect(winners.count == 1, "round \(round)")
            #expect(losers.count == 1, "round \(round)")
            #expect(losers.first?.message.contains("is already running") == true, "round \(round)")
            for winner in winners { try state.finishRun(winner.runID, outcome: .success, error: nil) }
        }
        #expect(try state.runs(limit: 100).count == 20)
        #expect(try lockCount() == 0)
    }

    /// Opening a new database from several places at once must not trip over the migrations.
    @Test func concurrentOpeningsMigrateOnce() throws {
        for round in 0..<5 {
            let path = directory.path("fresh-\(round).sqlite").path
            let results = Results<[RunRecord]>()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                results.add(Result { try StateStore(path: path).runs() })
            }
            for result in results.all { #expect(throws: Never.self) { try result.get() } }
        }
    }

    /// Threads of one process sharing one store.
    @Test func threadsSharingAStoreSerialize() throws {
        let run = try state.beginRun(pipeline: "parallel", environment: "prod", component: nil, logFile: nil)
        let results = Results<Void>(), state = state
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            results.add(Result {
                try state.recordStep(StepRecord(runID: run.runID, index: index, name: "backup c\(index)", kind: "backup",
                                                startedAt: Date(timeIntervalSince1970: 1_790_000_000), outcome: "success"))
            })
        }
        for result in results.all { #expect(throws: Never.self) { try result.get() } }
        #expect(try state.steps(runID: run.runID).map(\.index) == Array(0..<16))
    }
}

/// Results collected from several threads.
private final class Results<T>: @unchecked Sendable {
    // @unchecked: `items` is only touched under `lock`.
    private let lock = NSLock()
    private var items: [Result<T, any Error>] = []

    func add(_ result: Result<T, any Error>) {
        lock.lock(); defer { lock.unlock() }
        items.append(result)
    }

    var all: [Result<T, any Error>] {
        lock.lock(); defer { lock.unlock() }
        return items
    }
}
