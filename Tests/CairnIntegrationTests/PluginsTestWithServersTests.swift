import CairnCore
import CairnPluginHost
import CairnTestSupport
import Foundation
import Testing

/// `cairn plugins test` holds the Redis plugin to the component rules against a real redis-server,
/// the Weaviate plugin against the test server, and the S3 plugin to the store rules against moto;
/// each inside cairn and in a worker process, where the threading case is skipped (a stray call
/// waits unseen on the worker's channel).
@Suite("cairn plugins test on the Redis, Weaviate and S3 plugins")
struct PluginsTestWithServersTests {
    /// The status a case must have in `mode`.
    static func expected(_ item: JSONValue, _ mode: PluginIsolation.Mode, skippedAnyway: Bool = false) -> JSONValue {
        let threading = item["name"]?.stringValue == "host services only during a call"
        return .string(skippedAnyway || (threading && mode == .process) ? "skip" : "pass")
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func theRedisPluginPassesTheConformanceSuite(mode: PluginIsolation.Mode) throws {
        let temp = try TemporaryDirectory("redis-conformance")
        let redis = try RedisServer(in: temp.path("redis"))
        try redis.populate()
        let result = try runCairn(["plugins", "test", "redis", "--isolation", mode.rawValue, "--set", "port=\(redis.port)", "--json"], config: nil,
                                  in: temp.url, unset: ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USERNAME"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        guard case .array(let cases)? = try JSONValue.parse(result.text)["cases"] else { Issue.record("no cases: \(result.text)"); return }
        for item in cases {
            #expect(item["status"] == Self.expected(item, mode), "\(item)")
        }
        #expect(cases.count == 8)
        // A secret never goes on a command line; the message names the variable to use.
        let secret = try runCairn(["plugins", "test", "redis", "--set", "password=hunter2"], config: nil, in: temp.url)
        #expect(secret.status == 2)
        #expect(secret.stderr.contains("--set password: 'password' is a secret; give it through its variable REDIS_PASSWORD"), "\(secret.stderr)")
        #expect(!secret.stderr.contains("hunter2"))
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func theS3PluginPassesTheStoreConformanceSuiteOnMoto(mode: PluginIsolation.Mode) throws {
        let setup = try MotoCairn("s3-plugins-test")
        #expect(try setup.aws("s3 mb s3://kit").status == 0)
        try setup.writeConfig(bucket: "kit", "")
        // Credentials through the variables the manifest declares, never on the command line.
        let result = try setup.cairn(["plugins", "test", "s3", "--isolation", mode.rawValue, "--set", "bucket=kit", "--set", "endpoint=\(setup.moto.endpoint)",
                                      "--set", "region=us-east-1", "--json"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        guard case .array(let cases)? = try JSONValue.parse(result.text)["cases"] else { Issue.record("no cases: \(result.text)"); return }
        #expect(cases.count == 14)
        for item in cases {
            #expect(item["status"] == Self.expected(item, mode), "\(item)")
        }
    }

    @Test(arguments: PluginIsolation.Mode.allCases)
    func theWeaviatePluginPassesTheConformanceSuite(mode: PluginIsolation.Mode) throws {
        let temp = try TemporaryDirectory("weaviate-conformance")
        let backups = temp.path("backups")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
        let weaviate = try FakeWeaviate(in: temp.path("server"), config: [
            "backups_path": backups.path, "classes": ["Article": 3, "Author": 2], "api_key": "test-key-1",
        ])
        // The API key through its variable, never on the command line.
        let result = try runCairn(["plugins", "test", "weaviate", "--isolation", mode.rawValue, "--set", "url=\(weaviate.url)", "--set", "backups_path=\(backups.path)",
                                   "--set", "poll_interval_ms=20", "--json"], config: nil, in: temp.url,
                                  unset: MotoCairn.overridingVariables, environment: ["WEAVIATE_API_KEY": "test-key-1"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        guard case .array(let cases)? = try JSONValue.parse(result.text)["cases"] else { Issue.record("no cases: \(result.text)"); return }
        for item in cases {
            // It restores into its own server (restore-in-place): the folder cases do not apply.
            let skipped = item["name"]?.stringValue?.contains("restore") == true
            #expect(item["status"] == Self.expected(item, mode, skippedAnyway: skipped), "\(item)")
        }
    }
}
