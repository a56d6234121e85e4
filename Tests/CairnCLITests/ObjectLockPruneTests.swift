import CairnCore
import CairnPluginHost
import CairnTestSupport
import Foundation
import Testing

/// `cairn prune` on a moto bucket created with Object Lock: the archive the policy lets go that is
/// still locked is listed as locked until its date and never deleted (no delete marker hides it,
/// and moto itself refuses to delete its version); an unlocked one is deleted as usual. Backups
/// and the replacement of latest.tar.gz work on the versioned, locked bucket.
@Suite("Object Lock and prune on moto")
struct ObjectLockPruneTests {
    let setup: MotoCairn
    let data: URL

    init() throws {
        setup = try MotoCairn("cairn-object-lock-prune")
        data = setup.temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Data("settings\n".utf8).write(to: data.appendingPathComponent("app.conf"))
    }

    /// `isolation` nil: the s3 plugin's default (in-process, it is shipped with Cairn).
    func config(lock: Bool, isolation: PluginIsolation.Mode? = nil) throws {
        try """
            environment: test
            state: { path: \(setup.temp.path("state.sqlite").path) }
            logs: { dir: \(setup.temp.path("logs").path) }
            storage:
              type: s3
              bucket: vault
              endpoint: \(setup.moto.endpoint)
            \(lock ? "  object_lock: { mode: governance, retain: 3d }" : "")
            \(isolation.map { "  isolation: \($0.rawValue)" } ?? "")
            retention: { keep_last: 1 }
            components:
              configs: { plugin: directory, path: \(data.path) }
            """.write(to: setup.configFile, atomically: true, encoding: .utf8)
    }

    func backup() throws -> String {
        let result = try setup.cairn(["backup", "configs", "--json"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        // --json: one JSON object per line; the last is the run's summary.
        let summary = try JSONValue.parse(String(result.text.split(separator: "\n").last ?? ""))
        guard case .array(let backups)? = summary["backups"], let id = backups.first?["backup_id"]?.stringValue else {
            throw ToolFailure(command: "cairn backup", result: result)
        }
        return id
    }

    func versions(_ key: String) throws -> JSONValue {
        let result = try setup.aws("s3api list-object-versions --bucket vault --prefix \(key)")
        guard result.status == 0 else { throw ToolFailure(command: "list-object-versions", result: result) }
        return try JSONValue.parse(result.text)
    }

    /// In a worker too: the lock date crosses the worker's channel with each object's info.
    @Test(arguments: PluginIsolation.Mode.allCases)
    func aLockedArchiveIsListedUntilItsDateAndNeverDeleted(isolation: PluginIsolation.Mode) throws {
        #expect(try setup.aws("s3api create-bucket --bucket vault --object-lock-enabled-for-bucket").status == 0)
        try config(lock: false, isolation: isolation)
        let unlocked = try backup()
        try config(lock: true, isolation: isolation)
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let locked = try backup()
        Thread.sleep(forTimeInterval: 1.1)
        let newest = try backup()
        #expect(Set([unlocked, locked, newest]).count == 3)
        let lockedKey = "configs/test/\(locked).tar.gz", unlockedKey = "configs/test/\(unlocked).tar.gz"

        let result = try setup.cairn(["prune", "--json"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        let component = try unwrap(try JSONValue.parse(result.text)["components"].flatMap { value -> JSONValue? in
            if case .array(let rows) = value { return rows.first }
            return nil
        }, "component in \(result.text)")
        #expect(component["deleted"] == .array([.string(unlockedKey)]), "\(component.jsonText)")
        guard case .array(let lockedRows)? = component["locked"], lockedRows.count == 1 else {
            Issue.record("no locked archive in \(component.jsonText)"); return
        }
        #expect(lockedRows[0]["key"]?.stringValue == lockedKey)
        let until = try unwrap(lockedRows[0]["until"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }, "until")
        #expect(abs(until.timeIntervalSinceNow - 3 * 86400) < 600, "\(until)")

        // prune never sent a delete for it: no delete marker hides it, it is still the current version.
        let lockedVersions = try versions(lockedKey)
        #expect(lockedVersions["DeleteMarkers"] == nil, "\(lockedVersions.jsonText)")
        guard case .array(let rows)? = lockedVersions["Versions"], let version = rows.first?["VersionId"]?.stringValue else {
            Issue.record("no version of \(lockedKey): \(lockedVersions.jsonText)"); return
        }
        // ...and the delete it must not attempt is one moto itself refuses.
        let refused = try setup.aws("s3api delete-object --bucket vault --key \(lockedKey) --version-id \(version)")
        #expect(refused.status != 0 && refused.stderr.contains("AccessDenied"), "\(refused.text)\(refused.stderr)")
        // The unlocked one was deleted: on a versioned bucket that is a delete marker.
        #expect(try versions(unlockedKey)["DeleteMarkers"] != nil)

        // The text report says it too.
        let text = try setup.cairn(["prune", "--dry-run"])
        #expect(text.text.contains("LOCKED \(lockedKey) until "), "\(text.text)")

        // latest.tar.gz was replaced on the locked bucket: one version per backup, each locked but the first.
        guard case .array(let latest)? = try versions("configs/test/latest.tar.gz")["Versions"] else {
            Issue.record("no versions of latest.tar.gz"); return
        }
        #expect(latest.count == 3, "\(latest)")
        // The store ran where it was asked to: the run log names its worker, or none.
        let files = FileManager.default.enumerator(at: setup.temp.path("logs"), includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
        let logged = files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(logged.contains("runs in worker process") == (isolation == .process), "\(isolation)")
    }

    /// A bucket whose default retention locks every new version, without `object_lock`: backups
    /// (their conditional writes too) and the access check work, and prune sees the lock.
    @Test func aBucketDefaultRetentionIsSeenByPrune() throws {
        #expect(try setup.aws("s3api create-bucket --bucket vault --object-lock-enabled-for-bucket").status == 0)
        let rule = #"{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}"#
        #expect(try setup.aws("s3api put-object-lock-configuration --bucket vault --object-lock-configuration '\(rule)'").status == 0)
        try config(lock: false)
        let older = try backup()
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        _ = try backup()
        let check = try setup.cairn(["check", "storage"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("locked by the bucket's default Object Lock retention"), "\(check.text)")
        let result = try setup.cairn(["prune"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(result.text.contains("LOCKED configs/test/\(older).tar.gz until "), "\(result.text)")
        #expect(try versions("configs/test/\(older).tar.gz")["DeleteMarkers"] == nil)
    }
}
