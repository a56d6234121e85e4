import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// Configuration errors are not incidents: whatever is wrong in cairn.yaml, the environment or
/// the command line, every command exits 2 naming where, and nothing is escalated or counted as
/// a failed backup. Through the real `cairn` binary and plugins.
@Suite("Configuration errors end to end", .serialized)
struct ConfigErrorTests {
    let temp: TemporaryDirectory
    let configFile: URL
    let state: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-config-errors")
        configFile = temp.path("cairn.yaml")
        state = temp.path("state.sqlite")
        try FileManager.default.createDirectory(at: temp.path("source"), withIntermediateDirectories: true)
    }

    /// A good file with the state database and logs in the temporary folder; `storage` and `rest`
    /// (top-level YAML) follow.
    func write(storage: String = "{ type: filesystem, root: STORE }", _ rest: String = "") throws {
        try """
            environment: test
            state: { path: \(state.path) }
            logs: { dir: \(temp.path("logs").path) }
            storage: \(storage.replacingOccurrences(of: "STORE", with: temp.path("store").path))
            components:
              configs: { plugin: directory, path: \(temp.path("source").path) }
            \(rest)
            """.write(to: configFile, atomically: true, encoding: .utf8)
    }

    func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, unset: MotoCairn.overridingVariables, environment: extra)
    }

    /// Incidents of the test environment, open or resolved, read with a good configuration.
    func incidents() throws -> [JSONValue] {
        try write()
        let result = try cairn(["incidents", "--all", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        guard case .array(let list) = try JSONValue.parse(result.text) else { Issue.record("not a list: \(result.text)"); return [] }
        return list
    }

    @Test func configCheckSaysOkOnOneLine() throws {
        try write()
        let result = try cairn(["config", "check"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.text.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("ok: \(configFile.path): store filesystem \(temp.path("store").path), 1 component") == true, "\(result.text)")
    }

    @Test func aMissingRequiredSettingIsNamedWhereItsOwnerIsWritten() throws {
        try write("  files: { plugin: directory }")
        let result = try cairn(["config", "check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cairn: error: \(configFile.path):7:3: component 'files' needs setting 'path'"), "\(result.stderr)")
    }

    /// `backend: filesytem` used to pass every command that did not touch weaviate.
    @Test func everyCommandChecksTheWholeFileAndConfigCheckListsEveryProblem() throws {
        try write(storage: "{ type: filesystem, root: STORE, bogus: 1 }", """
              weaviate: { backend: filesytem }
            """)
        let check = try cairn(["config", "check"])
        #expect(check.status == 2)
        #expect(check.stderr.contains("\(configFile.path) has 2 problems:"), "\(check.stderr)")
        #expect(check.stderr.contains("\(configFile.path):4:"), "\(check.stderr)")
        #expect(check.stderr.contains("unknown setting 'bogus' for storage 'filesystem'"), "\(check.stderr)")
        #expect(check.stderr.contains("\(configFile.path):7:15: setting 'backend' of component 'weaviate' must be one of filesystem, s3, got \"filesytem\""),
                "\(check.stderr)")
        #expect(check.text.isEmpty)
        for command in [["backup", "configs"], ["validate"], ["latest"], ["pipelines", "list"], ["check", "storage"], ["backup", "configs"]] {
            let result = try cairn(command)
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("got \"filesytem\""), "\(command): \(result.stderr)")
        }
        // Refused before any run: nothing recorded, nothing escalated.
        #expect(!FileManager.default.fileExists(atPath: state.path))
        #expect(try incidents().isEmpty)
    }

    @Test func aPipelineThatNamesNothingFailsEveryCommandAndTheCheckNamesBrokenNotifiers() throws {
        try write("""
            pipelines:
              nightly: { steps: [ { backup: confgs } ] }
            escalation: { hooks: [page-nobody.sh] }
            """)
        let check = try cairn(["config", "check"])
        #expect(check.status == 2)
        #expect(check.stderr.contains("\(configFile.path):8:23: step 'backup confgs': unknown component 'confgs'"), "\(check.stderr)")
        #expect(check.stderr.contains("hook page-nobody.sh not found"), "\(check.stderr)")
        #expect(try cairn(["latest"]).status == 2)

        // A notifier that cannot be found would page no one when an incident opens: every
        // command refuses it at load, naming where it is configured; nothing runs.
        try write("escalation: { hooks: [page-nobody.sh] }")
        for command in [["config", "check"], ["pipelines", "list"], ["backup", "configs"]] {
            let notifier = try cairn(command)
            #expect(notifier.status == 2, "\(command)")
            #expect(notifier.stderr.contains("hook page-nobody.sh not found"), "\(notifier.stderr)")
            #expect(notifier.stderr.contains("(configured at \(configFile.path):7:23)"), "\(notifier.stderr)")
        }
        #expect(try incidents().isEmpty)
    }

    /// The runbook's REDIS_URL-only setup: the plugin reads its settings when it opens and
    /// contacts nothing, so a URL that is no redis:// URL is the operator's to fix.
    @Test func aRedisURLThatIsNoURLIsAConfigurationErrorAndNoIncident() throws {
        let badURL = ["REDIS_URL": "http://localhost:6379"]
        // Configured in cairn.yaml: every command refuses it at load, naming the variable.
        try write("  redis: {}\nescalation: { consecutive_failures: 1 }")
        let configured = try cairn(["status"], environment: badURL)
        #expect(configured.status == 2, "\(configured.stderr)")
        #expect(configured.stderr.contains("cairn: error: environment variable REDIS_URL: redis: open failed (invalid): setting 'url' (REDIS_URL) is not usable: it must start with redis://"),
                "\(configured.stderr)")
        // Not in cairn.yaml (the plugin configured from the environment alone): met when the
        // check step opens it, and still exit 2 with no failed backup counted.
        try write("escalation: { consecutive_failures: 1 }")
        for _ in 0..<2 {
            let backup = try cairn(["backup", "redis"], environment: badURL)
            #expect(backup.status == 2, "\(backup.text)\(backup.stderr)")
            #expect(backup.text.contains("FAIL check redis"), "\(backup.text)")
            #expect(backup.text.contains("environment variable REDIS_URL: redis: open failed (invalid)"), "\(backup.text)")
        }
        #expect(try incidents().isEmpty)
    }

    /// Errors of a built-in pipeline's step name where the value came from, not a line of
    /// Cairn's own YAML.
    @Test func aBuiltInPipelineStepNamesNoPlaceInsideCairn() throws {
        try write()
        let result = try cairn(["check", "redis"], environment: ["REDIS_PORT": "six"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cairn: error: environment variable REDIS_PORT must be a whole number, got 'six'"), "\(result.stderr)")
        #expect(!result.stderr.contains("built-in"), "\(result.stderr)")
    }

    @Test func aConfigPathThatIsNoFileIsNamedAtOnce() throws {
        let fifo = temp.path("fifo.yaml")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let result = try runCairn(["config", "check"], config: fifo, in: temp.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("config file \(fifo.path) is not a regular file (it is a FIFO)"), "\(result.stderr)")
    }

    /// `--bucket ops-bakups`: S3 answers NoSuchBucket, which is a typo to fix, not a store that is
    /// down: exit 2, and neither storage_inaccessible nor a failed backup is recorded.
    @Test func aBucketThatDoesNotExistIsAConfigurationError() throws {
        let s3 = try MotoCairn("cairn-no-such-bucket")
        #expect(try s3.aws("s3 mb s3://ops-backups").status == 0)
        try FileManager.default.createDirectory(at: s3.temp.path("source"), withIntermediateDirectories: true)
        try s3.writeConfig(bucket: "ops-backups", """
            components:
              configs: { plugin: directory, path: \(s3.temp.path("source").path) }
            escalation: { consecutive_failures: 1 }
            pipelines:
              straight: { steps: [ { backup: configs } ] }
            """)
        #expect(try s3.cairn(["check", "storage"]).status == 0)
        // Without a storage check first, the backup's own upload meets it.
        let straight = try s3.cairn(["run", "straight", "--bucket", "ops-bakups"])
        #expect(straight.status == 2, "\(straight.text)\(straight.stderr)")
        #expect(straight.text.contains("FAIL backup configs"), "\(straight.text)")
        #expect(straight.text.contains("bucket 'ops-bakups' does not exist (NoSuchBucket)"), "\(straight.text)")
        for command in [["backup", "configs", "--bucket", "ops-bakups"], ["check", "storage", "--bucket", "ops-bakups"],
                        ["backup", "configs", "--bucket", "ops-bakups"]] {
            let result = try s3.cairn(command)
            #expect(result.status == 2, "\(command): \(result.text)\(result.stderr)")
            #expect((result.text + result.stderr).contains("bucket 'ops-bakups' does not exist (NoSuchBucket)"), "\(result.text)\(result.stderr)")
        }
        let incidents = try s3.cairn(["incidents", "--all", "--json"])
        #expect(incidents.status == 0, "\(incidents.stderr)")
        #expect(try JSONValue.parse(incidents.text) == .array([]), "\(incidents.text)")
        let history = try s3.cairn(["history", "--component", "configs"])
        #expect(history.text.contains("configs in test: 0 consecutive failed backups since the last success"), "\(history.text)")

        // A typo in the key is met before anything is contacted.
        try """
            environment: test
            state: { path: \(s3.temp.path("state.sqlite").path) }
            storage: { type: s3, buckt: ops-backups, endpoint: \(s3.moto.endpoint) }
            """.write(to: s3.configFile, atomically: true, encoding: .utf8)
        let typo = try s3.cairn(["backup", "configs"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("unknown setting 'buckt' for storage 's3'"), "\(typo.stderr)")
        #expect(typo.stderr.contains("did you mean 'bucket'?"))
    }
}
