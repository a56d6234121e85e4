import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// One writer per component and environment, whatever command or pipeline, on whatever host:
/// the lock object in the store (cairn.lock), against the filesystem store and moto.
@Suite("Locks in the store", .serialized)
struct StoreLockTests {
    let temp: TemporaryDirectory
    let data: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-locks")
        data = temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try "settings\n".write(to: data.appendingPathComponent("app.conf"), atomically: true, encoding: .utf8)
        // A pipeline that holds the lock for a while: it signals, then waits, between backup and publish.
        try """
            #!/bin/sh
            cat >/dev/null
            touch '\(temp.path("holding").path)'
            sleep 4
            """.write(to: temp.path("hold.sh"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: temp.path("hold.sh").path)
    }

    /// cairn.yaml body shared by both stores: the component, a short lease and the slow pipeline.
    var body: String {
        """
        locks: { lease: 2s }
        components:
          configs: { plugin: directory, path: \(data.path) }
        pipelines:
          slow:
            steps:
              - backup: configs
              - hook: \(temp.path("hold.sh").path)
              - verify: configs
              - publish: configs
        """
    }

    func waitForHolding() -> Bool {
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: temp.path("holding").path) { Thread.sleep(forTimeInterval: 0.025) }
        return FileManager.default.fileExists(atPath: temp.path("holding").path)
    }

    func background(_ arguments: [String], environment: [String: String], in directory: URL) throws -> Process {
        let process = Process()
        process.executableURL = TestPaths.cairnExecutable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Two commands on one component: the second is refused naming the holder; the first publishes.
    func expectOneWriter(start: () throws -> Process, second: () throws -> ToolResult, latestID: () throws -> String?) throws {
        let holder = try start()
        try #require(waitForHolding(), "the first run never reached its hook")
        let refused = try second()
        // Skipped, not failed: the other run is making the backup.
        #expect(refused.status == 75)
        #expect(refused.stderr.contains("configs in test is locked by run run_"), "\(refused.stderr)")
        #expect(refused.stderr.contains("(pid \(holder.processIdentifier), since"), "\(refused.stderr)")
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        #expect(try latestID() != nil)
    }

    @Test func onTheFilesystemStoreOneCommandWritesAComponentAtATime() throws {
        let config = temp.path("cairn.yaml")
        let store = temp.path("store")
        try writeFilesystemConfig(config, store: store, body)
        let environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": config.path]) { $1 }
        let latest = store.appendingPathComponent("configs/test/latest.tar.gz")
        for second in [["backup", "configs"], ["backup", "--all"]] {
            try? FileManager.default.removeItem(at: temp.path("holding"))
            try expectOneWriter(start: { try background(["run", "slow"], environment: environment, in: temp.url) },
                                second: { try runCairn(second, config: config, in: temp.url) },
                                latestID: { FileManager.default.fileExists(atPath: latest.path) ? latest.path : nil })
        }
        // Released at the end: the next run takes it at once.
        #expect(!FileManager.default.fileExists(atPath: store.appendingPathComponent("configs/test/cairn.lock").path))
        #expect(try runCairn(["backup", "configs"], config: config, in: temp.url).status == 0)
        // The lock is Cairn's own: not a foreign object for validate.
        #expect(!(try runCairn(["validate", "--json"], config: config, in: temp.url).text.contains("cairn.lock")))
    }

    @Test func aKilledHoldersLockIsTakenOverAfterItsLeaseAndALostLockPublishesNothing() throws {
        let config = temp.path("cairn.yaml")
        let store = temp.path("store")
        try writeFilesystemConfig(config, store: store, body)
        let environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": config.path]) { $1 }
        #expect(try runCairn(["backup", "configs"], config: config, in: temp.url).status == 0)
        let latest = store.appendingPathComponent("configs/test/latest.tar.gz")
        let published = try Data(contentsOf: latest)

        // kill -9 while holding, on this host: its process is gone, so the lock is taken over at once.
        let killed = try background(["run", "slow"], environment: environment, in: temp.url)
        try #require(waitForHolding())
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let takeover = try runCairn(["backup", "configs"], config: config, in: temp.url)
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.stderr.contains("took over the lock of configs in test from run run_"), "\(takeover.stderr)")
        #expect(takeover.stderr.contains("(pid \(killed.processIdentifier)") && takeover.stderr.contains("whose process is gone"), "\(takeover.stderr)")

        // A holder on another host is taken for dead only when its lease has run out.
        let lockKey = store.appendingPathComponent("configs/test/cairn.lock")
        let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2))
        try #"{"expires_at":"\#(expires)","host":"other-host","pid":4242,"run_id":"run_elsewhere","started_at":"2026-01-01T00:00:00Z"}"#
            .write(to: lockKey, atomically: true, encoding: .utf8)
        let within = try runCairn(["backup", "configs"], config: config, in: temp.url)
        #expect(within.status == 75)
        #expect(within.stderr.contains("locked by run run_elsewhere on host other-host (pid 4242"), "\(within.stderr)")
        Thread.sleep(forTimeInterval: 2.5)
        let expired = try runCairn(["backup", "configs"], config: config, in: temp.url)
        #expect(expired.status == 0, "\(expired.stderr)")
        #expect(expired.stderr.contains("from run run_elsewhere on host other-host") && expired.stderr.contains("whose lease ran out"), "\(expired.stderr)")

        // A holder whose lock another run took (it was taken for dead) publishes nothing.
        let before = try Data(contentsOf: latest)
        #expect(before != published)
        try? FileManager.default.removeItem(at: temp.path("holding"))
        let holder = try background(["run", "slow"], environment: environment, in: temp.url)
        try #require(waitForHolding())
        let lock = store.appendingPathComponent("configs/test/cairn.lock")
        let usurper = #"{"expires_at":"2099-01-01T00:00:00Z","host":"elsewhere","pid":1,"run_id":"run_other","started_at":"2026-01-01T00:00:00Z"}"#
        try usurper.write(to: temp.path("usurper"), atomically: true, encoding: .utf8)
        #expect(rename(temp.path("usurper").path, lock.path) == 0)
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 1)
        #expect(try Data(contentsOf: latest) == before, "a run that lost its lock published")
        let history = try runCairn(["history", "--limit", "1", "--json"], config: config, in: temp.url).text
        #expect(history.contains("not published"), "\(history)")
        // The usurper's lock stays: it is not this run's to remove.
        #expect(try String(contentsOf: lock, encoding: .utf8).contains("run_other"))
    }

    @Test func onS3TheLockIsAConditionalWrite() throws {
        let s3 = try MotoCairn("cairn-locks-s3")
        try s3.writeConfig(bucket: "cairn-test", body)
        var environment = ProcessInfo.processInfo.environment
        for name in MotoCairn.overridingVariables { environment[name] = nil }
        environment.merge(s3.awsEnvironment.merging(["CAIRN_CONFIG": s3.configFile.path, "HOME": s3.temp.url.path]) { $1 }) { $1 }
        try expectOneWriter(start: { try background(["run", "slow"], environment: environment, in: s3.temp.url) },
                            second: { try s3.cairn(["backup", "configs"]) },
                            latestID: { try s3.aws("s3 ls s3://cairn-test/configs/test/latest.tar.gz").text.isEmpty ? nil : "latest" })
        #expect(!(try s3.aws("s3 ls s3://cairn-test/configs/test/").text.contains("cairn.lock")), "the lock was not released")

        // kill -9, then taken over (its process is gone from this host).
        try? FileManager.default.removeItem(at: temp.path("holding"))
        let killed = try background(["run", "slow"], environment: environment, in: s3.temp.url)
        try #require(waitForHolding())
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(try s3.aws("s3 ls s3://cairn-test/configs/test/").text.contains("cairn.lock"))
        let takeover = try s3.cairn(["backup", "configs"])
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.stderr.contains("took over the lock of configs in test"), "\(takeover.stderr)")
    }
}
