import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// Cairn's Prometheus metrics, judged by Debian's promtool and a real Pushgateway.
@Suite("Prometheus metrics", .serialized)
struct MetricsTests {
    let setup: EscalationHarness
    let textfile: URL

    init() throws {
        setup = try EscalationHarness("metrics")
        textfile = setup.temp.path("cairn.prom")
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "consecutive_failures: 5")
    }

    func samples() throws -> [String: Double] {
        let text = try String(contentsOf: textfile, encoding: .utf8)
        return Dictionary(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            return (String(line[..<space]), value)
        }, uniquingKeysWith: { a, _ in a })
    }

    @Test func theTextfileCountsRunsAndAFailureKeepsTheLastSuccess() throws {
        let metrics = ["CAIRN_METRICS_TEXTFILE": textfile.path]
        for _ in 0..<2 { #expect(try setup.cairn(["backup", "configs"], environment: metrics).status == 0) }
        let before = try samples()
        let lastSuccess = #"cairn_backup_last_success_timestamp_seconds{component="configs",environment="test"}"#
        #expect((before[lastSuccess] ?? 0) > Date().timeIntervalSince1970 - 600, "\(before)")

        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path), escalation: "consecutive_failures: 5")
        #expect(try setup.cairn(["backup", "configs"], environment: metrics).status == 1)
        let after = try samples()
        let labels = #"{component="configs",environment="test",procedure="backup"}"#
        #expect(after["cairn_backup_attempt_total\(labels)"] == 3)
        #expect(after["cairn_backup_success_total\(labels)"] == 2)
        #expect(after["cairn_backup_failure_total\(labels)"] == 1)
        #expect(after["cairn_backup_last_status\(labels)"] == 0)
        #expect(after[lastSuccess] == before[lastSuccess], "a failed run moved the last success")
        #expect(after[#"cairn_verify_success{component="configs",environment="test"}"#] == 1)
        #expect(after["cairn_backup_duration_seconds_count\(labels)"] == 3)
        #expect(after.keys.allSatisfy { !$0.contains("configs_2") }, "a backup id in a label")

        let check = try runShell("promtool check metrics < '\(textfile.path)'", check: false)
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
    }

    @Test func aPushgatewayReceivesTheMetrics() throws {
        let port = try freePort()
        let gateway = Process()
        gateway.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-pushgateway")
        gateway.arguments = ["--web.listen-address=127.0.0.1:\(port)"]
        gateway.standardOutput = FileHandle.nullDevice
        gateway.standardError = FileHandle.nullDevice
        try gateway.run()
        defer { kill(gateway.processIdentifier, SIGKILL); gateway.waitUntilExit() }
        let url = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? runTool(["curl", "-sf", "\(url)/-/ready"], check: false))?.status == 0
            if !ready { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(ready, "the Pushgateway did not start")

        #expect(try setup.cairn(["backup", "configs"], environment: ["CAIRN_METRICS_PUSHGATEWAY": url]).status == 0)
        let served = try runTool(["curl", "-sf", "\(url)/metrics"]).text
        let line = served.split(separator: "\n").first { $0.hasPrefix("cairn_backup_success_total{") && $0.contains(#"procedure="backup""#) }
        #expect(line?.contains(#"job="cairn""#) == true && line?.hasSuffix(" 1") == true, "\(line ?? "no sample")")

        // A gateway that is down is a warning; the backup still succeeds.
        kill(gateway.processIdentifier, SIGKILL); gateway.waitUntilExit()
        let unreachable = try setup.cairn(["backup", "configs"], environment: ["CAIRN_METRICS_PUSHGATEWAY": url])
        #expect(unreachable.status == 0)
        #expect(unreachable.stderr.contains("metrics: push to \(url) failed"), "\(unreachable.stderr)")
    }

    @Test func cairnYamlSaysWhereMetricsAndWhichLogsGo() throws {
        let config = try String(contentsOf: setup.configFile, encoding: .utf8)
        try (config.replacingOccurrences(of: "logs: { dir:", with: "logs: { format: json, dir:")
             + "\nmetrics: { textfile: \(textfile.path), job: nightly }\n").write(to: setup.configFile, atomically: true, encoding: .utf8)
        let result = try setup.cairn(["backup", "configs"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try samples()[#"cairn_backup_success_total{component="configs",environment="test",procedure="backup"}"#] == 1)
        #expect(result.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "\(result.stderr)")

        try (config + "\nmetrics: { pushgateway: pushgateway:9091 }\n").write(to: setup.configFile, atomically: true, encoding: .utf8)
        let bad = try setup.cairn(["backup", "configs"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("metrics.pushgateway must be a URL"), "\(bad.stderr)")
    }

    @Test func theAlertingRulesLoad() throws {
        let rules = TestPaths.packageRoot.appendingPathComponent("deploy/prometheus/cairn-alerts.yml")
        let check = try runTool(["promtool", "check", "rules", rules.path], check: false)
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.text.contains("SUCCESS: 5 rules found"))
    }
}
