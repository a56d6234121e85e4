import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// A fault-injecting proxy (Fixtures/s3/fault_proxy.py) between `cairn` and moto.
final class FaultProxy {
    let modeFile: URL
    private let server: FixtureServer
    var port: Int { server.port }

    init(upstream: Int, in directory: URL) throws {
        let portFile = directory.appendingPathComponent("proxy-port")
        modeFile = directory.appendingPathComponent("proxy-mode")
        try Data().write(to: modeFile)
        server = try FixtureServer(name: "fault proxy", script: TestPaths.fixtures.appendingPathComponent("s3/fault_proxy.py"),
                                   arguments: [String(upstream), portFile.path, modeFile.path], portFile: portFile, startSeconds: 10)
    }

    func set(_ mode: String) throws { try Data(mode.utf8).write(to: modeFile) }

    /// What the proxy recorded beside the mode file (mode file + "." + suffix), or "" if nothing.
    func recorded(_ suffix: String) -> String {
        (try? String(contentsOf: modeFile.appendingPathExtension(suffix), encoding: .utf8)) ?? ""
    }
}

@Suite("S3 retries and failures through a fault proxy", .serialized)
struct S3FaultTests {
    let base: S3MotoTests
    let proxy: FaultProxy

    init() throws {
        base = try S3MotoTests()
        proxy = try FaultProxy(upstream: base.moto.port, in: base.temp.url)
        let config = try String(contentsOf: base.configFile, encoding: .utf8)
            .replacingOccurrences(of: base.moto.endpoint, with: "http://127.0.0.1:\(proxy.port)")
            .replacingOccurrences(of: "  multipart_threshold: 5MiB", with: "  multipart_threshold: 5MiB\n  max_attempts: 3")
        try config.write(to: base.configFile, atomically: true, encoding: .utf8)
    }

    func latestID() throws -> String {
        try base.aws("s3 cp s3://cairn-test/configs/test/latest.tar.gz - | tar --wildcards -xzO '*/backup_metadata.json' | jq -r .backup_id")
            .text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func orphanUploads() throws -> String {
        try base.aws("s3api list-multipart-uploads --bucket cairn-test").text
    }

    /// The backup id a `cairn backup --json` run reports in its closing summary.
    func reportedID(_ backup: ToolResult) -> String? {
        guard let summary = try? JSONValue.parse(String(backup.text.split(separator: "\n").last ?? "")),
              case .array(let made) = summary["backups"] else { return nil }
        return made.first?["backup_id"]?.stringValue
    }

    /// A backup through a clean proxy, then one through `faults`: the first's id and the second run.
    func goodBackupThenOneThrough(_ faults: String) throws -> (before: String, failed: ToolResult) {
        #expect(try base.cairn(["backup", "configs", "--bucket", "cairn-test"]).status == 0)
        let before = try latestID()
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        try proxy.set(faults)
        return (before, try base.cairn(["backup", "configs", "--bucket", "cairn-test"]))
    }

    /// latest.tar.gz still holds `before`, and the failed backup left no archive beside it.
    func expectLatestKeptAndNoNewArchive(_ before: String) throws {
        #expect(try latestID() == before)
        let listing = try base.aws("s3 ls s3://cairn-test/configs/test/ --recursive")
        #expect(listing.text.split(separator: "\n").count == 2, "a failed backup's archive was kept: \(listing.text)")
    }

    @Test func aDroppedPartA503A500AndAnErrorInside200AreRetried() throws {
        try proxy.set("flaky")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        // The retries were logged as warnings.
        // The dropped part may be resent by curl itself (a dead reused connection) or by our retry.
        for retried in ["SlowDown", "complete multipart upload of", "stat s3://", "download s3://"] {
            #expect(backup.stderr.contains(retried), "no retry of \(retried): \(backup.stderr)")
        }
        let fired = proxy.recorded("fired")
        #expect(Set(fired.split(separator: "\n")) == ["drop-part", "slowdown", "head", "complete", "drop-get"], "\(fired)")
        #expect(backup.stderr.contains("; resuming"), "the dropped download was not resumed: \(backup.stderr)")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        #expect(try latestID() == id)
        #expect(!(try orphanUploads()).contains("UploadId"))
        let verify = try base.cairn(["verify", "configs", "--backup", id, "--bucket", "cairn-test"])
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    @Test func aPartThatKeepsFailingFailsCleanlyAndKeepsLatest() throws {
        let (before, failed) = try goodBackupThenOneThrough("part2")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("upload part 2"), "\(failed.stderr)")
        #expect(failed.stderr.contains("after 3 attempts"), "\(failed.stderr)")
        #expect(!(try orphanUploads()).contains("UploadId"), "orphaned multipart upload left behind")
        try expectLatestKeptAndNoNewArchive(before)
    }

    func setStorage(_ lines: String) throws {
        let config = try String(contentsOf: base.configFile, encoding: .utf8)
            .replacingOccurrences(of: "  max_attempts: 3", with: "  max_attempts: 3\n" + lines)
        try config.write(to: base.configFile, atomically: true, encoding: .utf8)
    }

    @Test func partsGoUpInParallelAndTheArchiveIsWhole() throws {
        try setStorage("  parts_in_flight: 3")
        try proxy.set("slow")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        // Three 5 MiB parts, each held 0.5 s by the proxy: sent one at a time they never overlap.
        #expect((Int(proxy.recorded("parallel")) ?? 0) >= 2, "parts did not overlap: \(proxy.recorded("parallel"))")
        #expect((Int(proxy.recorded("parallel")) ?? 0) <= 3, "more parts in flight than parts_in_flight")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        #expect(try latestID() == id)
        let restored = base.temp.path("restored")
        let restore = try base.cairn(["restore", "configs", "--backup", id, "--target", restored.path, "--bucket", "cairn-test"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try runTool(["cmp", base.source.appendingPathComponent("etc/big.bin").path,
                             restored.appendingPathComponent("etc/big.bin").path], check: false).status == 0)
    }

    @Test func aParallelPartFailingMidwayAbortsTheUploadAndKeepsLatest() throws {
        try setStorage("  parts_in_flight: 3")
        let (before, failed) = try goodBackupThenOneThrough("slow,part2")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("upload part 2"), "\(failed.stderr)")
        #expect(failed.stderr.contains("after 3 attempts"), "\(failed.stderr)")
        #expect((Int(proxy.recorded("parallel")) ?? 0) >= 2, "parts did not overlap")
        #expect(!(try orphanUploads()).contains("UploadId"), "orphaned multipart upload left behind")
        // The abort came after the last part request: no part was still on its way.
        let log = proxy.recorded("log").split(separator: "\n")
        let abort = log.lastIndex { $0.hasPrefix("DELETE") && $0.contains("uploadId=") }
        let lastPart = log.lastIndex { $0.hasPrefix("PUT") && $0.contains("partNumber=") }
        #expect(abort != nil && lastPart != nil && abort! > lastPart!, "\(log)")
        try expectLatestKeptAndNoNewArchive(before)
    }

    @Test func latestAboveTheCopyThresholdIsAMultipartCopy() throws {
        try setStorage("  multipart_copy_threshold: 6MiB")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        // UploadPartCopy requests with ranges that tile the object, into latest.tar.gz.
        let copies = proxy.recorded("log").split(separator: "\n")
            .filter { $0.hasPrefix("PUT /cairn-test/configs/test/latest.tar.gz?partNumber=") }
        #expect(copies.count >= 2, "\(proxy.recorded("log"))")
        #expect(copies.first?.hasSuffix(" bytes=0-5242879") == true, "\(copies)")
        let original = base.temp.path("original.tgz"), latest = base.temp.path("latest.tgz")
        #expect(try base.aws("s3 cp s3://cairn-test/configs/test/\(id).tar.gz \(original.path)").status == 0)
        #expect(try base.aws("s3 cp s3://cairn-test/configs/test/latest.tar.gz \(latest.path)").status == 0)
        #expect(try runTool(["cmp", original.path, latest.path], check: false).status == 0, "latest differs from the backup")
        #expect(try latestID() == id)
        #expect(!(try orphanUploads()).contains("UploadId"))
    }

    /// The proxy checks CRC32s as S3 does (moto does not): every part, the access probe's PUT and
    /// the complete must carry the right ones, and a part corrupted on the way is refused with
    /// BadDigest and sent again from memory.
    @Test func checksumsMatchWhatS3ComputesAndACorruptedPartIsSentAgain() throws {
        try proxy.set("checksums,corrupt")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(proxy.recorded("fired") == "corrupt-part\n", "\(proxy.recorded("fired"))")
        #expect(backup.stderr.contains("HTTP 400 BadDigest: The CRC32 you specified did not match"), "\(backup.stderr)")
        // 14 MiB of random data in 5 MiB parts: 3 parts accepted, one complete; whole objects: the
        // access check's probe, the run's record in the shared state (cairn/test/runs/), and the
        // conditional writes (the component's lock and its failure streak).
        let checked = proxy.recorded("checksums").split(separator: "\n")
        #expect(checked.filter { $0 == "part" }.count == 3, "\(checked)")
        #expect(checked.filter { $0 == "object" }.count == 4, "\(checked)")
        #expect(checked.filter { $0 == "complete" }.count == 1, "\(checked)")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        #expect(try latestID() == id)
        #expect(try base.cairn(["verify", "configs", "--backup", id, "--bucket", "cairn-test"]).status == 0)
    }

    /// Without the store's check, the same corruption is caught by the read-back: the backup fails
    /// and latest.tar.gz keeps the previous backup.
    @Test func withChecksumsOffACorruptedPartFailsVerificationAndKeepsLatest() throws {
        try setStorage("  checksum: none")
        let (before, failed) = try goodBackupThenOneThrough("checksums,corrupt")
        #expect(failed.status == 1)
        #expect(proxy.recorded("fired") == "corrupt-part\n")
        #expect(proxy.recorded("checksums").isEmpty, "a checksum was sent: \(proxy.recorded("checksums"))")
        #expect(failed.stderr.contains("verify"), "\(failed.stderr)")
        try expectLatestKeptAndNoNewArchive(before)
    }

    /// Every CopyObject to latest.tar.gz is carried out and its answer lost, all three attempts:
    /// latest holds the new verified backup, so the run succeeds (it used to exit 1).
    @Test func aPublishWhoseAnswersAreLostAfterTheCopyHappenedSucceeds() throws {
        #expect(try base.cairn(["backup", "configs", "--bucket", "cairn-test"]).status == 0)
        let before = try latestID()
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        try proxy.set("copy-lost")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        // Three attempts; libcurl may send one again itself on the reused connection that died.
        #expect(proxy.recorded("fired").split(separator: "\n").count >= 3, "\(proxy.recorded("fired"))")
        #expect(backup.stderr.contains("the copy was carried out and only its answer lost"), "\(backup.stderr)")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        #expect(id != before)
        #expect(try latestID() == id)
        #expect(!backup.text.contains("storage_inaccessible"), "\(backup.text)")
    }

    /// A copy that S3 never carried out is still a failure: latest keeps the previous backup.
    @Test func aPublishThatNeverHappenedStillFails() throws {
        let (before, failed) = try goodBackupThenOneThrough("copy-denied")
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("copy s3://"), "\(failed.stderr)")
        #expect(try latestID() == before)
    }

    /// The first CreateMultipartUpload is carried out and its answer lost: the retry opens a second
    /// upload, and the first is aborted, so no upload stays open after the backup.
    @Test func aCreateMultipartUploadWhoseAnswerWasLostLeavesNoOpenUpload() throws {
        try proxy.set("create-lost")
        let backup = try base.cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(proxy.recorded("fired") == "create-lost\n", "\(proxy.recorded("fired"))")
        let creates = proxy.recorded("log").split(separator: "\n").filter { $0.hasPrefix("POST") && $0.contains("?uploads") }
        #expect(creates.count == 2, "the archive's create, sent twice: \(creates)")
        let id = try #require(reportedID(backup), "no backup: \(backup.text)")
        #expect(try latestID() == id)
        let uploads = try orphanUploads()
        #expect(!uploads.contains("UploadId"), "an upload stayed open: \(uploads)")
    }

    @Test func aWrongRegionAndADenialGetSpecificMessages() throws {
        try proxy.set("redirect")
        let redirected = try base.cairn(["list", "configs", "--bucket", "cairn-test"])
        #expect(redirected.status != 0)
        #expect(redirected.stderr.contains("bucket 'cairn-test' is in region 'eu-west-1', not 'us-east-1'"), "\(redirected.stderr)")
        try proxy.set("denied")
        let denied = try base.cairn(["list", "configs", "--bucket", "cairn-test"])
        #expect(denied.stderr.contains("access denied (HTTP 403 AccessDenied"), "\(denied.stderr)")
    }
}
