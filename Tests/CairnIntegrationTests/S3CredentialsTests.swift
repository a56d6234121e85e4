import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// Credentials as the AWS CLI finds them when no keys are set: web identity through moto's STS,
/// a container credentials endpoint and IMDSv2 (stand-ins on 127.0.0.1 handing out moto's keys
/// that expire after a second, so they must be fetched again in the middle of an upload).
@Suite("S3 temporary credentials against moto", .serialized)
struct S3CredentialsTests {
    let s3: MotoCairn
    let data: URL

    init() throws {
        s3 = try MotoCairn("cairn-credentials")
        data = s3.temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        // Random bytes over several 5 MiB parts: an upload long enough to outlive its credentials.
        var random = SystemRandomNumberGenerator()
        try Data((0..<12_000_000).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: data.appendingPathComponent("big.bin"))
        try s3.writeConfig(bucket: "cairn-test", """
            components:
              configs: { plugin: directory, path: \(data.path) }
            """)
        let config = try String(contentsOf: s3.configFile, encoding: .utf8)
        try config.replacingOccurrences(of: "  type: s3\n", with: "  type: s3\n  part_size: 5MiB\n")
            .write(to: s3.configFile, atomically: true, encoding: .utf8)
    }

    /// cairn with no keys anywhere: no variables, no ~/.aws, only what `extra` provides.
    func cairn(_ arguments: [String], _ extra: [String: String]) throws -> ToolResult {
        try runCairn(arguments, config: s3.configFile, in: s3.temp.url,
                     unset: MotoCairn.overridingVariables + ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE",
                                                             "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                                                             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
                     environment: ["HOME": s3.temp.url.path, "AWS_EC2_METADATA_DISABLED": "true"].merging(extra) { $1 })
    }

    /// The stand-in endpoint in `mode`, and the file where it logs every credentials document it issues.
    func endpoint(_ mode: String) throws -> (server: FixtureServer, issued: () -> Int) {
        let keys = s3.temp.path("keys-\(mode)")
        try "\(s3.moto.accessKey) \(s3.moto.secretKey)\n".write(to: keys, atomically: true, encoding: .utf8)
        try "container-authorization-token\n".write(to: s3.temp.path("keys-\(mode).token"), atomically: true, encoding: .utf8)
        let log = s3.temp.path("issued-\(mode).log")
        let server = try FixtureServer(name: "credentials endpoint (\(mode))", script: TestPaths.fixtures.appendingPathComponent("s3/credentials_endpoint.py"),
                                       arguments: [mode, s3.temp.path("port-\(mode)").path, keys.path, log.path],
                                       portFile: s3.temp.path("port-\(mode)"))
        return (server, { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").count })
    }

    @Test func webIdentityAssumesTheRoleThroughSTS() throws {
        let token = s3.temp.path("web-identity-token")
        try "eyJhbGciOiJSUzI1NiJ9.service-account-token\n".write(to: token, atomically: true, encoding: .utf8)
        let environment = ["AWS_WEB_IDENTITY_TOKEN_FILE": token.path, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/cairn-web",
                           "AWS_ROLE_SESSION_NAME": "cairn-test"]
        let check = try cairn(["check", "storage"], environment)
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("AWS credentials from web identity (role arn:aws:iam::123456789012:role/cairn-web"), "\(check.text)")
        #expect(check.text.contains("assumed-role/cairn-web/cairn-test"), "\(check.text)")
        #expect(!check.text.contains("service-account-token") && !check.stderr.contains("service-account-token"))
        #expect(try cairn(["backup", "configs"], environment).status == 0)

        try FileManager.default.removeItem(at: token)
        let missing = try cairn(["check", "storage"], environment)
        #expect(missing.status != 0)
        #expect((missing.text + missing.stderr).contains("cannot read the token file \(token.path)"), "\(missing.text)\(missing.stderr)")
    }

    @Test func containerCredentialsAreFetchedAgainDuringAnUpload() throws {
        let (server, issued) = try endpoint("container")
        let environment = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/v2/credentials",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": s3.temp.path("keys-container.token").path]
        let backup = try cairn(["backup", "configs"], environment)
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        // Credentials that lapse after a second were fetched again for the parts of the upload.
        #expect(issued() >= 4, "only \(issued()) credentials documents were fetched")
        #expect(try s3.aws("s3 ls s3://cairn-test/configs/test/").text.contains("latest.tar.gz"))

        let refused = try cairn(["check", "storage"], environment.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/nonexistent"]) { $1 })
        #expect(refused.status != 0)
        #expect((refused.text + refused.stderr).contains("HTTP 401"), "\(refused.text)\(refused.stderr)")
    }

    @Test func anInstanceRoleIsFoundThroughIMDSv2() throws {
        let (server, issued) = try endpoint("imds")
        let check = try cairn(["check", "storage"], ["AWS_EC2_METADATA_DISABLED": "false",
                                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(server.port)"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("AWS credentials from instance role cairn-instance-role (IMDSv2)"), "\(check.text)")
        #expect(issued() >= 1)
    }

    @Test func withNothingAtAllTheErrorNamesEverySource() throws {
        let check = try cairn(["check", "storage"], [:])
        #expect(check.status != 0)
        #expect((check.text + check.stderr).contains("no AWS credentials"), "\(check.text)\(check.stderr)")
        #expect((check.text + check.stderr).contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
    }
}
