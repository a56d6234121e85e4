import CairnCore
import Foundation

/// A temporary folder with a moto S3 server (signatures checked) and a cairn.yaml, from which the
/// real `cairn` binary and the AWS CLI run with moto's credentials only: no ~/.aws, and none of
/// the operator's variables that would override the test's configuration.
public struct MotoCairn {
    public let temp: TemporaryDirectory
    public let moto: MotoServer
    public let configFile: URL

    /// Variables the store and component plugins read from the environment before cairn.yaml.
    public static let overridingVariables = [
        "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "S3_BUCKET", "ENVIRONMENT",
        "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
        "WEAVIATE_URL", "WEAVIATE_API_KEY", "WEAVIATE_BACKUPS_PATH", "WEAVIATE_BACKUP_BACKEND", "WEAVIATE_BACKUP_DEADLINE",
    ]

    public init(_ name: String) throws {
        temp = try TemporaryDirectory(name)
        moto = try MotoServer(in: temp.url)
        configFile = temp.path("cairn.yaml")
    }

    public var awsEnvironment: [String: String] {
        ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey, "AWS_DEFAULT_REGION": "us-east-1"]
    }

    /// cairn.yaml for the `test` environment, with the state database and logs in the temporary
    /// folder and an s3 store on `bucket` in moto; `rest` (top-level YAML) follows.
    public func writeConfig(bucket: String, _ rest: String) throws {
        try """
            environment: test
            state:
              path: \(temp.path("state.sqlite").path)
            logs:
              dir: \(temp.path("logs").path)
            storage:
              type: s3
              bucket: \(bucket)
              endpoint: \(moto.endpoint)
            \(rest)
            """.write(to: configFile, atomically: true, encoding: .utf8)
    }

    /// `extra` variables are set last, over moto's credentials.
    public func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, unset: Self.overridingVariables,
                     environment: awsEnvironment.merging(["HOME": temp.url.path].merging(extra) { $1 }) { $1 })
    }

    /// An AWS CLI command (a shell pipeline may follow), run in the temporary folder.
    @discardableResult
    public func aws(_ command: String) throws -> ToolResult {
        let env = awsEnvironment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        return try runShell("cd '\(temp.url.path)' && HOME='\(temp.url.path)' \(env) aws --endpoint-url \(moto.endpoint) \(command)", check: false)
    }

    /// The `results` of `cairn validate|integrity --json`, by component.
    public static func healthResults(_ result: ToolResult) throws -> [String: JSONValue] {
        guard case .array(let rows)? = try JSONValue.parse(result.text)["results"] else { throw ToolFailure(command: "json", result: result) }
        return Dictionary(rows.compactMap { row in row["component"]?.stringValue.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
    }
}
