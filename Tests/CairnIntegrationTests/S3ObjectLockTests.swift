import CairnCore
import CairnInterfaces
import CairnPluginHost
import CairnS3
import CairnTestSupport
import Foundation
import Testing

/// `object_lock` on moto: a bucket created with Object Lock (so versioned) gets archives and
/// latest.tar.gz written with a retention date that moto itself enforces (it refuses to delete the
/// locked version), `stat` reports the date, latest.tar.gz can still be replaced, and the access
/// check confirms the bucket's Object Lock and versioning, or says how to turn them on.
@Suite("S3 Object Lock on moto")
struct S3ObjectLockTests {
    let setup: MotoCairn

    init() throws { setup = try MotoCairn("s3-object-lock") }

    func open(bucket: String, _ extra: [String: JSONValue]) throws -> PluginStore {
        let plugin = try PluginLoader.load(linkedEntry: { major, minor in cairnPluginEntryV1(major, minor) },
                                           manifestURL: TestPaths.packageRoot.appendingPathComponent("Plugins/S3/plugin.json"))
        return try StoreConformance.open(plugin, settings: [
            "bucket": .string(bucket), "endpoint": .string(setup.moto.endpoint), "region": .string("us-east-1"),
            "access_key_id": .string(setup.moto.accessKey), "secret_access_key": .string(setup.moto.secretKey),
        ].merging(extra) { $1 }, scratch: setup.temp.url)
    }

    /// "2026-12-07" of a date, UTC.
    static func day(_ date: Date) -> String { String(date.formatted(.iso8601).prefix(10)) }

    static let lock: JSONValue = .object(["mode": .string("governance"), "retain": .string("2d")])

    func write(_ store: PluginStore, _ key: String, _ text: String) throws {
        let writer = try store.openWriter(key: key)
        try Data(text.utf8).withUnsafeBytes { try writer.write($0) }
        try writer.commit()
    }

    func json(_ command: String) throws -> JSONValue {
        let result = try setup.aws(command)
        guard result.status == 0 else { throw ToolFailure(command: command, result: result) }
        return try JSONValue.parse(result.text)
    }

    @Test func archivesAndLatestAreWrittenLockedAndMotoRefusesToDeleteThem() throws {
        #expect(try setup.aws("s3api create-bucket --bucket locked --object-lock-enabled-for-bucket").status == 0)
        let store = try open(bucket: "locked", ["object_lock": Self.lock])
        let key = "app/test/app_20261205_101010.tar.gz"
        let before = Date()
        try write(store, key, "first archive\n")
        try store.copy(from: key, to: "app/test/latest.tar.gz")

        // stat reports the retention date: about two days from now.
        let stat = try unwrap(try store.stat(key: key), "stat")
        let until = try unwrap(stat.lockedUntil, "lockedUntil")
        #expect(abs(until.timeIntervalSince(before) - 2 * 86400) < 120, "\(until)")
        #expect(try store.stat(key: "app/test/latest.tar.gz")?.lockedUntil != nil)

        // moto holds the same retention, in governance mode (as the AWS CLI reads it).
        let head = try json("s3api head-object --bucket locked --key \(key)")
        #expect(head["ObjectLockMode"]?.stringValue == "GOVERNANCE", "\(head.jsonText)")
        #expect(head["ObjectLockRetainUntilDate"]?.stringValue?.hasPrefix(S3ObjectLockTests.day(until)) == true, "\(head.jsonText)")

        // The delete that would destroy the archive (its version) is refused by moto itself.
        let versions = try json("s3api list-object-versions --bucket locked --prefix \(key)")
        let version = try unwrap(versions["Versions"]?.items.first?["VersionId"]?.stringValue, "version id")
        let refused = try setup.aws("s3api delete-object --bucket locked --key \(key) --version-id \(version)")
        #expect(refused.status != 0, "moto deleted a locked version: \(refused.text)")
        #expect(refused.stderr.contains("AccessDenied"), "\(refused.stderr)")

        // latest.tar.gz is replaced on the locked bucket: a new version; the old one stays, locked.
        let second = "app/test/app_20261205_111111.tar.gz"
        try write(store, second, "second archive, longer\n")
        try store.copy(from: second, to: "app/test/latest.tar.gz")
        #expect(try store.stat(key: "app/test/latest.tar.gz")?.size == UInt64("second archive, longer\n".utf8.count))
        let latestVersions = try json("s3api list-object-versions --bucket locked --prefix app/test/latest.tar.gz")["Versions"]?.items ?? []
        #expect(latestVersions.count == 2, "\(latestVersions)")
        let oldLatest = try unwrap(latestVersions.first(where: { $0["IsLatest"] == .bool(false) })?["VersionId"]?.stringValue, "old latest")
        #expect(try setup.aws("s3api delete-object --bucket locked --key app/test/latest.tar.gz --version-id \(oldLatest)").status != 0)

        // The access check confirms Object Lock and versioning, and cleans up its unlocked probe.
        let checks = Dictionary(try store.checkAccess().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(checks["object_lock"]?.status == .pass, "\(checks)")
        #expect(checks["versioning"]?.status == .pass, "\(checks)")
        #expect(checks["delete"]?.status == .pass, "\(checks)")
        let left = try json("s3api list-object-versions --bucket locked --prefix .cairn-access-check")
        #expect(left["Versions"] == nil && left["DeleteMarkers"] == nil, "\(left)")
    }

    /// moto keeps no lock from a CreateMultipartUpload, so the requests themselves are looked at:
    /// through the proxy, which logs each request's Object Lock headers.
    @Test func multipartUploadsAndMultipartCopiesAskForTheLockToo() throws {
        #expect(try setup.aws("s3api create-bucket --bucket locked --object-lock-enabled-for-bucket").status == 0)
        let proxy = try FaultProxy(upstream: setup.moto.port, in: setup.temp.url)
        let store = try open(bucket: "locked", ["object_lock": Self.lock, "endpoint": .string("http://127.0.0.1:\(proxy.port)"),
                                                "part_size": .string("5MiB"), "multipart_threshold": .string("5MiB"),
                                                "multipart_copy_threshold": .string("1MiB")])
        let key = "app/test/app_20261205_121212.tar.gz"
        let writer = try store.openWriter(key: key)
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
        for _ in 0..<11 { try chunk.withUnsafeBytes { try writer.write($0) } }
        do { try writer.commit() } catch { Issue.record("\(error): \(proxy.recorded("log"))"); return }
        try store.copy(from: key, to: "app/test/latest.tar.gz")
        let day = Self.day(Date().addingTimeInterval(2 * 86400))
        let log = proxy.recorded("log").split(separator: "\n")
        let starts = log.filter { $0.hasPrefix("POST") && $0.contains("?uploads") }
        #expect(starts.count == 2, "the archive's upload and latest's multipart copy: \(log)")
        for start in starts { #expect(start.contains(" lock=GOVERNANCE/\(day)T"), "\(start)") }
        #expect(log.contains { $0.hasPrefix("PUT /locked/app/test/latest.tar.gz?partNumber=") }, "a multipart copy: \(log)")
    }

    @Test func theAccessCheckOnABucketWithoutLockSaysHowToFixIt() throws {
        #expect(try setup.aws("s3 mb s3://plain").status == 0)
        let store = try open(bucket: "plain", ["object_lock": Self.lock])
        let checks = Dictionary(try store.checkAccess().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let lock = try unwrap(checks["object_lock"], "object_lock check")
        #expect(lock.status == .fail)
        #expect(lock.message.contains("bucket 'plain' does not have Object Lock enabled"), "\(lock.message)")
        #expect(lock.message.contains("--object-lock-enabled-for-bucket"), "\(lock.message)")
        let versioning = try unwrap(checks["versioning"], "versioning check")
        #expect(versioning.status == .fail)
        #expect(versioning.message.contains("put-bucket-versioning --bucket plain --versioning-configuration Status=Enabled"),
                "\(versioning.message)")

        // And a locked write there is refused, so a backup fails rather than goes up unlocked.
        #expect(throws: StoreError.self) { try write(store, "app/test/app_20261205_101010.tar.gz", "x\n") }
        #expect(try store.stat(key: "app/test/app_20261205_101010.tar.gz") == nil)

        // Without object_lock the same bucket has no such checks.
        let unlocked = try open(bucket: "plain", [:])
        #expect(try unlocked.checkAccess().allSatisfy { $0.name != "object_lock" && $0.name != "versioning" })
    }

    @Test func badObjectLockSettingsAreRefusedNamingTheSetting() throws {
        #expect(try setup.aws("s3 mb s3://plain").status == 0)
        let cases: [(JSONValue, [String: JSONValue], String)] = [
            (.object(["mode": .string("strict"), "retain": .string("30d")]), [:], "mode must be governance or compliance, not 'strict'"),
            (.object(["mode": .string("governance"), "retain": .string("30")]), [:], "retain must be a whole number of days"),
            (.object(["mode": .string("governance")]), [:], "needs retain"),
            (.object(["mode": .string("governance"), "retain": .string("1d"), "days": .number(3)]), [:], "unknown key 'days'"),
            (Self.lock, ["checksum": .string("none")], "setting 'object_lock' needs checksum: crc32"),
        ]
        for (lock, extra, expected) in cases {
            do {
                _ = try open(bucket: "plain", extra.merging(["object_lock": lock]) { $1 })
                Issue.record("accepted \(lock.jsonText)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}

private extension JSONValue {
    var items: [JSONValue] { if case .array(let values) = self { values } else { [] } }
}
