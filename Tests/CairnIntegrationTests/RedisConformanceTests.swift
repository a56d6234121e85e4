import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// `cairn plugins test` holds the Redis plugin to the component rules against a real redis-server.
@Suite("cairn plugins test on the Redis plugin")
struct RedisConformanceTests {
    @Test func theRedisPluginPassesTheConformanceSuite() throws {
        let temp = try TemporaryDirectory("redis-conformance")
        let redis = try RedisServer(in: temp.path("redis"))
        try redis.populate()
        let result = try runCairn(["plugins", "test", "redis", "--set", "url=redis://127.0.0.1:\(redis.port)", "--json"], config: nil,
                                  in: temp.url, unset: ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USERNAME"])
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        guard case .array(let cases)? = try JSONValue.parse(result.text)["cases"] else { Issue.record("no cases: \(result.text)"); return }
        for item in cases {
            #expect(item["status"] == .string("pass"), "\(item)")
        }
        #expect(cases.count == 8)
    }
}
