import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// deploy/: the Kubernetes manifests against the Kubernetes schemas, the systemd units through
/// systemd-analyze, and every scheduled command run once, as the schedules run it, against moto
/// and a real redis-server.
@Suite("deploy/ manifests and units", .serialized)
struct DeploymentTests {
    static let deploy = TestPaths.packageRoot.appendingPathComponent("deploy")
    static let cronJobs = ["cronjob-backup.yaml", "cronjob-validate.yaml", "cronjob-integrity.yaml"]

    /// The container args of a CronJob, read by Python's YAML parser.
    func arguments(ofCronJob file: String) throws -> [String] {
        let path = Self.deploy.appendingPathComponent("kubernetes/\(file)").path
        let text = try runTool(["python3", "-c", """
            import json, sys, yaml
            job = yaml.safe_load(open(sys.argv[1]))
            print(json.dumps(job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]))
            """, path]).text
        guard case .array(let values) = try JSONValue.parse(text) else { return [] }
        return values.compactMap(\.stringValue)
    }

    @Test func theManifestsFollowTheKubernetesSchemas() throws {
        let files = ["configmap.yaml", "secret.yaml"] + Self.cronJobs
        let result = try runTool(["kubernetes-validate", "--strict"] + files.map { Self.deploy.appendingPathComponent("kubernetes/\($0)").path },
                                 check: false)
        #expect(result.status == 0, "\(result.text)\(result.stderr)")
        #expect(result.text.components(separatedBy: "passed").count == files.count + 1, "\(result.text)")
        for file in Self.cronJobs {
            let text = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/\(file)"), encoding: .utf8)
            for field in ["concurrencyPolicy: Forbid", "startingDeadlineSeconds:", "activeDeadlineSeconds:", "backoffLimit:", "requests:"] {
                #expect(text.contains(field), "\(file) lacks \(field)")
            }
            #expect(!text.contains("persistentVolumeClaim"), "\(file)")
        }
    }

    @Test func theSystemdUnitsVerifyAndRunWhatTheCronJobsRun() throws {
        let temp = try TemporaryDirectory("cairn-systemd")
        let units = try FileManager.default.contentsOfDirectory(atPath: Self.deploy.appendingPathComponent("systemd").path).sorted()
        #expect(units.count == 6)
        var commands: [String: [String]] = [:]
        for unit in units {
            // systemd-analyze checks that ExecStart exists: point it at the built binary.
            let text = try String(contentsOf: Self.deploy.appendingPathComponent("systemd/\(unit)"), encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/cairn", with: TestPaths.cairnExecutable.path)
                .write(to: temp.path(unit), atomically: true, encoding: .utf8)
            if let exec = text.split(separator: "\n").first(where: { $0.hasPrefix("ExecStart=/usr/local/bin/cairn ") }) {
                commands[unit] = exec.split(separator: " ").dropFirst().map(String.init)
            }
        }
        let verify = try runTool(["systemd-analyze", "verify"] + units.map { temp.path($0).path }, in: temp.url, check: false)
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(commands["cairn-backup.service"] == (try arguments(ofCronJob: "cronjob-backup.yaml")))
        #expect(commands["cairn-validate.service"] == (try arguments(ofCronJob: "cronjob-validate.yaml")))
        #expect(commands["cairn-integrity.service"] == (try arguments(ofCronJob: "cronjob-integrity.yaml")))
    }

    @Test func everyScheduledCommandRunsOnceAgainstMoto() throws {
        let s3 = try MotoCairn("cairn-deploy")
        let redis = try RedisServer(in: s3.temp.path("redis"))
        try redis.populate()
        // Installed as the image installs it, so the bundled escalation hook of the ConfigMap is found.
        let prefix = s3.temp.path("prefix")
        try runShell("CAIRN_BIN_DIR='\(TestPaths.buildDirectory.path)' '\(TestPaths.packageRoot.path)/scripts/install' '\(prefix.path)'")
        let work = s3.temp.path("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let config = try runTool(["python3", "-c", "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['data']['cairn.yaml'])",
                                  Self.deploy.appendingPathComponent("kubernetes/configmap.yaml").path]).text
        try config.replacingOccurrences(of: "/var/lib/cairn", with: work.path).write(to: s3.configFile, atomically: true, encoding: .utf8)

        var environment = ProcessInfo.processInfo.environment
        for name in MotoCairn.overridingVariables { environment[name] = nil }
        environment.merge(s3.awsEnvironment) { $1 }
        environment.merge([
            "HOME": s3.temp.url.path, "CAIRN_CONFIG": s3.configFile.path, "AWS_ENDPOINT_URL": s3.moto.endpoint,
            "S3_BUCKET": "cairn-test", "AWS_REGION": "us-east-1", "REDIS_URL": "redis://127.0.0.1:\(redis.port)",
            "PAGERDUTY_ROUTING_KEY": "unused", "CAIRN_LOG_FORMAT": "json",
        ]) { $1 }
        for file in Self.cronJobs {
            let arguments = try arguments(ofCronJob: file)
            let run = try runTool([prefix.appendingPathComponent("bin/cairn").path] + arguments, in: work, environment: environment, check: false)
            #expect(run.status == 0, "\(file): cairn \(arguments.joined(separator: " ")): \(run.text)\(run.stderr)")
        }
        let stored = try s3.aws("s3 ls s3://cairn-test/redis/prod/")
        #expect(stored.text.contains("latest.tar.gz"), "\(stored.text)\(stored.stderr)")
    }
}
