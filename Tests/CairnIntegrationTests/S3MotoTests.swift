import Foundation
import Testing
import CairnCore
import CairnTestSupport


/// End to end through the real `cairn` binary and the S3 plugin against moto with signature
/// checks on, judged by the AWS CLI, tar and jq (the runbook's own commands).
@Suite("S3 storage against moto", .serialized)
struct S3MotoTests {
    let s3: MotoCairn
    let source: URL
    var temp: TemporaryDirectory { s3.temp }
    var moto: MotoServer { s3.moto }
    var configFile: URL { s3.configFile }

    init() throws {
        s3 = try MotoCairn("cairn-s3")
        source = s3.temp.path("source")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: source.appendingPathComponent("etc/hello.txt"))
        // Random bytes do not compress: with 5 MiB parts the archive needs several parts.
        var random = SystemRandomNumberGenerator()
        try Data((0..<(14 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) })
            .write(to: source.appendingPathComponent("etc/big.bin"))
        try """
            environment: test
            state:
              path: \(s3.temp.path("state.sqlite").path)
            storage:
              type: s3
              endpoint: \(s3.moto.endpoint)
              part_size: 5MiB
              multipart_threshold: 5MiB
            components:
              configs:
                plugin: directory
                path: \(source.path)
            """.write(to: s3.configFile, atomically: true, encoding: .utf8)
    }

    func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try s3.cairn(arguments, environment: extra)
    }

    func aws(_ command: String) throws -> ToolResult { try s3.aws(command) }

    @Test func multipartBackupVerifyListLatestAndTheRunbooksAWSCommands() throws {
        let backup = try cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let summary = try JSONValue.parse(String(backup.text.split(separator: "\n").last ?? ""))
        guard case .array(let made) = summary["backups"], let id = made.first?["backup_id"]?.stringValue else {
            Issue.record("no backup: \(backup.text) \(backup.stderr)"); return
        }
        #expect(made.first?["published"] == .bool(true))

        let listing = try aws("s3 ls s3://cairn-test/configs/test/ --recursive")
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.text.contains("configs/test/\(id).tar.gz"))
        #expect(listing.text.contains("configs/test/latest.tar.gz"))
        let metadataID = try aws("s3 cp s3://cairn-test/configs/test/latest.tar.gz - | tar --wildcards -xzO '*/backup_metadata.json' | jq -r .backup_id")
        #expect(metadataID.text.trimmingCharacters(in: .whitespacesAndNewlines) == id, "\(metadataID.stderr)")
        // A multipart ETag ends in -<parts>: 14 MiB of random data in 5 MiB parts is 3 parts.
        let head = try aws("s3api head-object --bucket cairn-test --key configs/test/\(id).tar.gz")
        #expect(head.text.contains("-3\\\""), "\(head.text)")
        let uploads = try aws("s3api list-multipart-uploads --bucket cairn-test")
        #expect(!uploads.text.contains("UploadId"), "orphaned upload: \(uploads.text)")

        let verify = try cairn(["verify", "configs", "--backup", id], environment: ["S3_BUCKET": "cairn-test"])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        let list = try cairn(["list", "configs", "--json"], environment: ["S3_BUCKET": "cairn-test"])
        guard case .array(let rows) = try JSONValue.parse(list.text) else { Issue.record("\(list.stderr)"); return }
        #expect(rows.count == 1)
        #expect(rows.first?["latest"] == .bool(true))

        let target = temp.path("restored")
        let restore = try cairn(["restore", "configs", "--backup", "latest", "--target", target.path, "--bucket", "cairn-test"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try runTool(["diff", "-r", source.path, target.path], check: false).status == 0)

        // A second backup replaces latest.tar.gz.
        Thread.sleep(forTimeInterval: 1.1)
        try Data("changed\n".utf8).write(to: source.appendingPathComponent("etc/hello.txt"))
        #expect(try cairn(["backup", "configs", "--bucket", "cairn-test"]).status == 0)
        let second = try aws("s3 cp s3://cairn-test/configs/test/latest.tar.gz - | tar --wildcards -xzO '*/backup_metadata.json' | jq -r .backup_id")
        let newID = second.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newID != id && newID.hasPrefix("configs_"))

        let checks = try cairn(["run", "checks", "--component", "configs", "--bucket", "cairn-test"])
        #expect(checks.status == 0, "\(checks.text)\(checks.stderr)")
    }

    /// sse and storage_class reach S3 on single PUTs, multipart uploads and the latest copy.
    @Test func encryptionAndStorageClassSettings() throws {
        let config = try String(contentsOf: configFile, encoding: .utf8)
            .replacingOccurrences(of: "  part_size: 5MiB", with: "  part_size: 5MiB\n  sse: AES256\n  storage_class: STANDARD_IA")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let backup = try cairn(["backup", "configs", "--bucket", "cairn-test"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let head = try aws("s3api head-object --bucket cairn-test --key configs/test/latest.tar.gz")
        #expect(head.text.contains("\"ServerSideEncryption\": \"AES256\""), "\(head.text)")
        #expect(head.text.contains("\"StorageClass\": \"STANDARD_IA\""), "\(head.text)")
    }

    /// Uploads declare CRC32, so S3 (here moto) keeps a composite checksum of the parts' CRC32s:
    /// the AWS CLI reads it back and it matches one computed from the stored bytes by Python.
    @Test func multipartUploadsCarryACompositeCRC32() throws {
        let backup = try cairn(["backup", "configs", "--bucket", "cairn-test", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let key = "configs/test/latest.tar.gz"
        let id = try aws("s3 cp s3://cairn-test/\(key) - | tar --wildcards -xzO '*/backup_metadata.json' | jq -r .backup_id")
            .text.trimmingCharacters(in: .whitespacesAndNewlines)
        // GET, not HEAD: moto's HEAD leaves out the checksum type and the part count.
        let stored = try aws("s3api get-object --bucket cairn-test --key configs/test/\(id).tar.gz --checksum-mode ENABLED "
                           + "--query '[ChecksumType, ChecksumCRC32]' --output text /dev/null")
        let fields = stored.text.split(whereSeparator: \.isWhitespace).map(String.init)
        let expected = try aws("""
            s3 cp s3://cairn-test/configs/test/\(id).tar.gz - | python3 -c '
            import base64, sys, zlib
            data, size = sys.stdin.buffer.read(), 5 << 20
            crcs = b"".join(zlib.crc32(data[i:i + size]).to_bytes(4, "big") for i in range(0, len(data), size))
            print(base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + "-%d" % (len(crcs) // 4))'
            """)
        #expect(fields.first == "COMPOSITE", "\(stored.text) \(stored.stderr)")
        #expect(fields.last == expected.text.trimmingCharacters(in: .whitespacesAndNewlines), "\(stored.text) \(expected.stderr)")
        #expect(fields.last?.hasSuffix("-3") == true, "\(stored.text)")

        // latest.tar.gz, a copy, carries the CRC32 of its whole body: get-object, which validates
        // it by default, reads it, and Python computes the same value from the bytes.
        let copied = try aws("s3api get-object --bucket cairn-test --key \(key) --query ChecksumCRC32 --output text /dev/null")
        #expect(copied.status == 0, "\(copied.stderr)")
        let whole = try aws("""
            s3 cp s3://cairn-test/\(key) - | python3 -c '
            import base64, sys, zlib
            print(base64.b64encode(zlib.crc32(sys.stdin.buffer.read()).to_bytes(4, "big")).decode())'
            """)
        #expect(copied.text == whole.text, "\(copied.text) \(whole.stderr)")

        // A setting outside crc32/none is refused when the pipeline loads, before anything is stored.
        let config = try String(contentsOf: configFile, encoding: .utf8)
            .replacingOccurrences(of: "  part_size: 5MiB", with: "  part_size: 5MiB\n  checksum: md5")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let refused = try cairn(["backup", "configs", "--bucket", "cairn-test"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("setting 'checksum' of storage 's3' must be one of crc32, none, got \"md5\""),
                "\(refused.stderr)")
        #expect(try aws("s3 ls s3://cairn-test/configs/test/").text.split(separator: "\n").count == 2)
    }

    /// More than one ListObjectsV2 page (1000 keys) must come through the continuation tokens.
    @Test func listingPagesThroughMoreThanAThousandKeys() throws {
        #expect(try cairn(["backup", "configs", "--bucket", "cairn-test"]).status == 0)
        let script = """
            import boto3, concurrent.futures
            s3 = boto3.client("s3", endpoint_url="\(moto.endpoint)", region_name="us-east-1",
                              aws_access_key_id="\(moto.accessKey)", aws_secret_access_key="\(moto.secretKey)")
            def put(i):
                s3.put_object(Bucket="cairn-test", Key="configs/test/configs_20200101_00%02d%02d.tar.gz" % (i // 60, i % 60), Body=b"x")
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(put, range(1100)))
            """
        try script.write(to: temp.path("fill.py"), atomically: true, encoding: .utf8)
        let fill = try runShell("python3 '\(temp.path("fill.py").path)'", check: false)
        #expect(fill.status == 0, "\(fill.stderr)")
        let list = try cairn(["list", "configs", "--json", "--bucket", "cairn-test"])
        guard case .array(let rows) = try JSONValue.parse(list.text) else { Issue.record("\(list.stderr)"); return }
        #expect(rows.count == 1101)
        #expect(rows.filter { $0["latest"] == .bool(true) }.count == 1)
    }

    @Test func signaturesAreCheckedAndCredentialErrorsAreSpecific() throws {
        let wrong = try cairn(["list", "configs", "--bucket", "cairn-test"], environment: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("SignatureDoesNotMatch"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not-the-secret"))

        let unknown = try cairn(["list", "configs", "--bucket", "cairn-test"], environment: ["AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"])
        #expect(unknown.stderr.contains("InvalidAccessKeyId"), "\(unknown.stderr)")

        let missing = try cairn(["list", "configs", "--bucket", "cairn-test"],
                                environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        #expect(missing.stderr.contains("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"), "\(missing.stderr)")

        let noBucket = try cairn(["list", "configs", "--bucket", "no-such-bucket"])
        #expect(noBucket.stderr.contains("NoSuchBucket"), "\(noBucket.stderr)")

        // Credentials from a profile in ~/.aws/credentials.
        let aws = temp.path(".aws")
        try FileManager.default.createDirectory(at: aws, withIntermediateDirectories: true)
        try "[backup]\naws_access_key_id = \(moto.accessKey)\naws_secret_access_key = \(moto.secretKey)\n"
            .write(to: aws.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        let profile = try cairn(["list", "configs", "--bucket", "cairn-test"],
                                environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "backup"])
        #expect(profile.status == 0, "\(profile.stderr)")
    }
}
