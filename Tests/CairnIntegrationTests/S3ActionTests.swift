import Foundation
import Testing
import CairnTestSupport

/// The S3 plugin's access check (with STS GetCallerIdentity) and its native action
/// abort_stale_uploads, against moto with signature checking on.
@Suite("S3 access check and abort_stale_uploads against moto", .serialized)
struct S3ActionTests {
    let base: S3MotoTests

    init() throws { base = try S3MotoTests() }

    @Test func theAccessCheckNamesTheCallerButNoSecret() throws {
        let check = try base.cairn(["check", "storage", "--bucket", "cairn-test", "--json"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        // moto's IAM user 'cairn' in its default account.
        #expect(check.text.contains("arn:aws:iam::123456789012:user/cairn"), "\(check.text)")
        #expect(check.text.contains("account 123456789012"), "\(check.text)")
        #expect(!check.text.contains(base.moto.secretKey) && !check.stderr.contains(base.moto.secretKey))

        // The command line wins over the environment: S3_BUCKET names a bucket that does not exist.
        let flagWins = try base.cairn(["check", "storage", "--bucket", "cairn-test", "--json"],
                                      environment: ["S3_BUCKET": "no-such-bucket"])
        #expect(flagWins.status == 0, "\(flagWins.text)\(flagWins.stderr)")
        #expect(!flagWins.text.contains("no-such-bucket"), "\(flagWins.text)")

        let wrong = try base.cairn(["check", "storage", "--bucket", "cairn-test", "--json"],
                                   environment: ["AWS_SECRET_ACCESS_KEY": "wrong-secret"])
        #expect(wrong.status != 0)
        #expect(wrong.text.contains("identity"), "\(wrong.text)")
        #expect(!wrong.text.contains("wrong-secret") && !wrong.stderr.contains("wrong-secret"))
    }

    func startUpload(_ key: String) throws {
        let started = try base.aws("s3api create-multipart-upload --bucket cairn-test --key \(key)")
        #expect(started.text.contains("UploadId"), "\(started.stderr)")
    }

    func pendingKeys() throws -> [String] {
        let listing = try base.aws("s3api list-multipart-uploads --bucket cairn-test --query 'Uploads[].Key' --output text")
        return listing.text.split(whereSeparator: \.isWhitespace).map(String.init).filter { $0 != "None" }.sorted()
    }

    func abortStale(_ arguments: [String]) throws -> ToolResult {
        try base.cairn(["plugins", "call", "s3", "abort_stale_uploads"] + arguments, environment: ["S3_BUCKET": "cairn-test"])
    }

    @Test func abortStaleUploadsAbortsOnlyOldOnesUnderThePrefix() throws {
        for key in ["configs/test/a.tar.gz", "configs/test/b.tar.gz", "redis/test/c.tar.gz"] { try startUpload(key) }
        Thread.sleep(forTimeInterval: 2.1)
        // Too young to be stale: nothing happens.
        let young = try abortStale(["prefix=configs/", "older_than_seconds=3600"])
        #expect(young.status == 0, "\(young.stderr)")
        #expect(young.text.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try pendingKeys().count == 3)

        let swept = try abortStale(["prefix=configs/", "older_than_seconds=1"])
        #expect(swept.text.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(swept.text)\(swept.stderr)")
        #expect(try pendingKeys() == ["redis/test/c.tar.gz"])

        let rest = try abortStale(["", "0"])
        #expect(rest.text.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(rest.text)\(rest.stderr)")
        #expect(try pendingKeys().isEmpty)

        let negative = try abortStale(["prefix=x", "older_than_seconds=-5"])
        #expect(negative.text.trimmingCharacters(in: .whitespacesAndNewlines) == "-1")
        #expect(negative.stderr.contains("older_than_seconds must be 0 or more"), "\(negative.stderr)")
    }
}
