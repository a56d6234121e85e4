import Foundation
import Testing
import CairnTestSupport

/// Escalation end to end: the real `cairn` binary, real redis-server, the bundled hooks in
/// hooks/, and local HTTP receivers standing in for PagerDuty, Slack and a webhook.
@Suite("Escalation end to end", .serialized)
struct EscalationTests {
    static let routingKey = "0123456789abcdef0123456789abcdef"

    static func pagerDutyHook(_ timeout: String? = nil) -> String {
        "- { path: \(EscalationHarness.hook("escalate-pagerduty.py")), pass_env: [PAGERDUTY_ROUTING_KEY, PAGERDUTY_EVENTS_URL]\(timeout.map { ", timeout: \($0)" } ?? "") }"
    }
    static let slackHook = "- { path: \(EscalationHarness.hook("escalate-slack.py")), pass_env: [SLACK_WEBHOOK_URL] }"
    static let webhookHook = "- { path: \(EscalationHarness.hook("escalate-webhook.py")), pass_env: [CAIRN_WEBHOOK_URL] }"

    @Test func threeFailuresAgainstAStoppedRedisTriggerOnceAndTheNextSuccessResolves() throws {
        let setup = try EscalationHarness("redis")
        let pagerDuty = try RecordingWebhook(in: setup.temp.path("pagerduty"), mode: "pagerduty")
        let slack = try RecordingWebhook(in: setup.temp.path("slack"), mode: "slack")
        let environment = ["PAGERDUTY_ROUTING_KEY": Self.routingKey, "PAGERDUTY_EVENTS_URL": pagerDuty.url,
                           "SLACK_WEBHOOK_URL": slack.url]
        func configure(redisPort: Int) throws {
            try setup.writeConfig(components: "redis: { plugin: redis, url: \"redis://127.0.0.1:\(redisPort)\" }", escalation: """
                hooks:
                  \(Self.pagerDutyHook())
                  \(Self.slackHook)
                """)
        }
        var server: RedisServer? = try RedisServer(in: setup.temp.path("redis"))
        try configure(redisPort: server!.port)
        try server!.cli(["SET", "k", "v"])
        server = nil  // stopped: every backup now fails its pre-check

        var third: ToolResult?
        for run in 1 ... 3 {
            let result = try setup.cairn(["backup", "redis"], environment: environment)
            #expect(result.status == 1, "run \(run): \(result.stderr)")
            third = result
        }
        let key = "cairn/test/redis/consecutive_failures"
        #expect(third?.text.contains("incident trigger: \(key) (escalation hooks notified: 2 of 2)") == true, "\(third?.text ?? "")")
        #expect(pagerDuty.bodies.count == 1)
        let trigger = try #require(pagerDuty.bodies.first)
        #expect(trigger["event_action"] == .string("trigger"))
        #expect(trigger["dedup_key"] == .string(key))
        #expect(trigger["routing_key"] == .string(Self.routingKey))
        #expect(trigger["payload"]?["severity"] == .string("critical"))
        #expect(trigger["payload"]?["class"] == .string("consecutive_failures"))
        #expect(trigger["payload"]?["custom_details"]?["evidence"]?["consecutive_failures"] == .number(3))
        #expect(trigger["payload"]?["custom_details"]?["primary_contact"] == .string("DevOps Engineer"))
        #expect(trigger["payload"]?["custom_details"]?["log_tail"] == nil, "logs are not sent unless send_logs is set")
        #expect(slack.bodies.count == 1)
        #expect(slack.bodies.first?["text"]?.stringValue?.contains(key) == true)
        if case .array(let blocks)? = slack.bodies.first?["blocks"] { #expect(blocks.count >= 2) } else { Issue.record("no blocks") }

        let open = try setup.incidents()
        #expect(open.count == 1)
        #expect(open.first?["key"] == .string(key))
        #expect(open.first?["occurrences"] == .number(1))

        // A fourth failure: recorded on the open incident, not triggered again.
        #expect(try setup.cairn(["backup", "redis"], environment: environment).status == 1)
        #expect(pagerDuty.bodies.count == 1)
        #expect(slack.bodies.count == 1)
        #expect(try setup.incidents().first?["occurrences"] == .number(2))

        // Redis is back: the backup succeeds and resolves the incident, once, with the same key.
        let restarted = try RedisServer(in: setup.temp.path("redis2"))
        try restarted.cli(["SET", "k", "v"])
        try configure(redisPort: restarted.port)
        let success = try setup.cairn(["backup", "redis"], environment: environment)
        #expect(success.status == 0, "\(success.stderr)")
        #expect(pagerDuty.bodies.count == 2)
        #expect(pagerDuty.bodies.last?["event_action"] == .string("resolve"))
        #expect(pagerDuty.bodies.last?["dedup_key"] == .string(key))
        #expect(slack.bodies.count == 2)
        #expect(slack.bodies.last?["text"]?.stringValue?.contains("RESOLVED") == true)
        #expect(try setup.incidents().isEmpty)
        let history = try setup.incidents(all: true)
        #expect(history.first?["status"] == .string("resolved"))

        // Another success: nothing open, nothing sent.
        #expect(try setup.cairn(["backup", "redis"], environment: environment).status == 0)
        #expect(pagerDuty.bodies.count == 2)

        // The routing key reached the hook through pass_env, and nothing else wrote it down.
        let logs = try runShell("cat '\(setup.temp.path("logs").path)'/*/*.log").text
        #expect(!logs.contains(Self.routingKey))
        #expect(!logs.contains(slack.url))
        #expect(logs.contains("escalation: trigger of \(key) delivered"))
    }

    @Test func anUnreachableStoreOpensTheStorageConditionAndAWorkingOneResolvesIt() throws {
        let setup = try EscalationHarness("storage")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let blocker = setup.temp.path("blocker")
        try Data().write(to: blocker)  // a file where the store's folder should be: every access fails
        let storeRoot = blocker.appendingPathComponent("store").path
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks:\n  \(Self.webhookHook)", storageRoot: storeRoot)
        let environment = ["CAIRN_WEBHOOK_URL": webhook.url]

        let failed = try setup.cairn(["backup", "configs"], environment: environment)
        #expect(failed.status == 1)
        let key = "cairn/test/storage/storage_inaccessible"
        #expect(webhook.bodies.count == 1, "one failed backup is below consecutive_failures (3): only the store triggers")
        let event = try #require(webhook.bodies.first)
        #expect(event["event"] == .string("escalation"))
        #expect(event["action"] == .string("trigger"))
        #expect(event["key"] == .string(key))
        #expect(event["condition"] == .string("storage_inaccessible"))
        #expect(event["contacts"]?["primary"] == .string("Cloud Infrastructure Team"))
        #expect(event["summary"]?.stringValue?.contains("Not a directory") == true)
        if case .array(let checks)? = event["evidence"]?["failed_checks"] { #expect(!checks.isEmpty) } else { Issue.record("no failed checks in evidence") }

        // Still down: `cairn check storage` sees it too, and adds nothing.
        #expect(try setup.cairn(["check", "storage"], environment: environment).status == 1)
        #expect(webhook.bodies.count == 1)

        // Fixed: the operator's check is the successful access that resolves it.
        try FileManager.default.removeItem(at: blocker)
        #expect(try setup.cairn(["check", "storage"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
        #expect(webhook.bodies.last?["action"] == .string("resolve"))
        #expect(webhook.bodies.last?["key"] == .string(key))
        #expect(webhook.bodies.last?["source"] == .string("pipeline check-storage"))
        #expect(try setup.incidents().isEmpty)
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
    }

    @Test func aCorruptedArchiveOpensTheCorruptionConditionAndAVerifiedBackupResolvesIt() throws {
        let setup = try EscalationHarness("corruption")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let environment = ["CAIRN_WEBHOOK_URL": webhook.url]
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks:\n  \(Self.webhookHook)")
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 0)
        #expect(webhook.bodies.isEmpty)

        // Damage one byte in the middle of latest.tar.gz, as a bad disk or a bad copy would.
        let latest = setup.store.appendingPathComponent("configs/test/latest.tar.gz")
        var bytes = try Data(contentsOf: latest)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: latest)

        let verify = try setup.cairn(["verify", "configs"], environment: environment)
        #expect(verify.status == 1)
        let key = "cairn/test/configs/corruption_detected"
        #expect(webhook.bodies.count == 1)
        #expect(webhook.bodies.first?["key"] == .string(key))
        #expect(webhook.bodies.first?["severity"] == .string("critical"))
        #expect(webhook.bodies.first?["evidence"]?["seen_by"] == .string("pipeline verify"))
        #expect(webhook.bodies.first?["contacts"]?["issue_type"] == .string("database"))

        // Seen again: no second trigger.
        #expect(try setup.cairn(["verify", "configs"], environment: environment).status == 1)
        #expect(webhook.bodies.count == 1)

        // A new backup, verified after writing, resolves it.
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
        #expect(webhook.bodies.last?["action"] == .string("resolve"))
        #expect(webhook.bodies.last?["key"] == .string(key))
    }

    @Test func aCorruptedArchiveFoundByCairnIntegrityOpensTheCorruptionCondition() throws {
        let setup = try EscalationHarness("integrity")
        let pagerDuty = try RecordingWebhook(in: setup.temp.path("pagerduty"), mode: "pagerduty")
        let environment = ["PAGERDUTY_ROUTING_KEY": Self.routingKey, "PAGERDUTY_EVENTS_URL": pagerDuty.url]
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks:\n  \(Self.pagerDutyHook())")
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 0)
        let latest = setup.store.appendingPathComponent("configs/test/latest.tar.gz")
        let pristine = try Data(contentsOf: latest)
        var damaged = pristine
        damaged[damaged.count / 2] ^= 0x01
        try damaged.write(to: latest)

        let found = try setup.cairn(["integrity"], environment: environment)
        #expect(found.status == 1, "the integrity test's own exit code stands: \(found.text)")
        let key = "cairn/test/configs/corruption_detected"
        #expect(pagerDuty.bodies.count == 1)
        let trigger = try #require(pagerDuty.bodies.first)
        #expect(trigger["event_action"] == .string("trigger"))
        #expect(trigger["dedup_key"] == .string(key))
        #expect(trigger["payload"]?["class"] == .string("corruption_detected"))
        let evidence = trigger["payload"]?["custom_details"]?["evidence"]
        #expect(evidence?["problem"] == .string("corrupt"))
        #expect(evidence?["seen_by"] == .string("pipeline integrity"))
        #expect(evidence?["key"] == .string("configs/test/latest.tar.gz"))

        // The weekly test finds it again: still one alert. Repaired: the next clean pass resolves it.
        #expect(try setup.cairn(["integrity"], environment: environment).status == 1)
        #expect(pagerDuty.bodies.count == 1)
        try pristine.write(to: latest)
        #expect(try setup.cairn(["integrity"], environment: environment).status == 0)
        #expect(pagerDuty.bodies.count == 2)
        #expect(pagerDuty.bodies.last?["event_action"] == .string("resolve"))
        #expect(pagerDuty.bodies.last?["dedup_key"] == .string(key))
    }

    @Test func dailyValidationFindingNoBackupOpensBackupStaleAndABackupResolvesIt() throws {
        let setup = try EscalationHarness("validate")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let environment = ["CAIRN_WEBHOOK_URL": webhook.url]
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks:\n  \(Self.webhookHook)")
        #expect(try setup.cairn(["validate"], environment: environment).status == 1)
        #expect(webhook.bodies.count == 1)
        #expect(webhook.bodies.first?["key"] == .string("cairn/test/configs/backup_stale"))
        #expect(webhook.bodies.first?["evidence"]?["problem"] == .string("missing"))
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
        #expect(webhook.bodies.last?["action"] == .string("resolve"))
        #expect(try setup.cairn(["validate"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
    }

    @Test func anEmergencyBackupCountsEachComponentOnItsOwn() throws {
        let setup = try EscalationHarness("emergency")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let stoppedPort = try freePort()
        try setup.writeConfig(components: """
            \(setup.directoryComponent())
            redis: { plugin: redis, url: "redis://127.0.0.1:\(stoppedPort)" }
            """, escalation: "consecutive_failures: 1\nhooks:\n  \(Self.webhookHook)")
        let result = try setup.cairn(["backup", "--all"], environment: ["CAIRN_WEBHOOK_URL": webhook.url])
        #expect(result.status == 3, "partial: configs succeeded, redis did not: \(result.stderr)")
        #expect(webhook.bodies.map { $0["key"] } == [.string("cairn/test/redis/consecutive_failures")])
        #expect(webhook.bodies.first?["evidence"]?["log_file"]?.stringValue?.contains("backup_redis_") == true)
    }

    @Test func exhaustedResourcesOpenTheResourcesCondition() throws {
        let setup = try EscalationHarness("resources")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks:\n  \(Self.webhookHook)",
                              checks: "min_free_disk: 1000000TB, warn_free_disk: 1000000TB, max_load_per_core: 1000, warn_load_per_core: 999")
        #expect(try setup.cairn(["backup", "configs"], environment: ["CAIRN_WEBHOOK_URL": webhook.url]).status == 1)
        #expect(webhook.bodies.count == 1)
        #expect(webhook.bodies.first?["key"] == .string("cairn/test/host/resources_exhausted"))
        #expect(webhook.bodies.first?["severity"] == .string("error"))
        #expect(webhook.bodies.first?["summary"]?.stringValue?.contains("host/disk") == true)
    }

    @Test func aHangingWebhookDoesNotDelayTheBackupBeyondTheHookTimeout() throws {
        let setup = try EscalationHarness("hang")
        let hanging = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "hang")
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path), escalation: """
            consecutive_failures: 1
            hook_timeout: 2s
            hooks:
              \(Self.webhookHook)
              - { path: \(try sleepingHook(in: setup).path), timeout: 1 }
            """)
        let started = Date()
        let result = try setup.cairn(["backup", "configs"], environment: ["CAIRN_WEBHOOK_URL": hanging.url])
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 1, "the backup's own failure decides the exit code")
        #expect(hanging.bodies.count >= 1, "the hook reached the receiver")
        #expect(seconds < 2 + 1 + 2.5, "two hooks with limits of 2 s and 1 s took \(seconds) s")
        let deliveries = try #require(try setup.incidents().first?["deliveries"])
        guard case .array(let list) = deliveries else { Issue.record("no deliveries"); return }
        #expect(list.count == 2)
        #expect(list.allSatisfy { $0["outcome"] != .string("ok") })
        #expect(list.last?["outcome"] == .string("timed_out"))
        #expect(result.stderr.contains("NOT delivered"))
    }

    /// A hook that ignores its event and sleeps far past any timeout.
    func sleepingHook(in setup: EscalationHarness) throws -> URL {
        let url = setup.temp.path("sleepy.sh")
        try "#!/bin/sh\nsleep 60\n".write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    /// Broken notifiers: each must leave the backup's outcome alone (1 for the failure that
    /// triggers, 0 for the success that resolves) and be recorded as not delivered.
    @Test(arguments: ["unreachable", "500", "400", "slack-error", "pd-error", "no-pass-env"])
    func aBrokenNotifierNeverChangesTheBackupsOutcome(_ failure: String) throws {
        let setup = try EscalationHarness("broken-\(failure)")
        let receiver = failure == "unreachable" ? nil
            : try RecordingWebhook(in: setup.temp.path("receiver"), mode: failure == "no-pass-env" ? "pagerduty" : failure)
        let closedPort = try freePort()
        let url = receiver?.url ?? "http://127.0.0.1:\(closedPort)/hook"
        var hook: String
        switch failure {
        case "pd-error", "500": hook = Self.pagerDutyHook()
        case "slack-error", "400": hook = Self.slackHook
        case "no-pass-env":
            // The routing key is in Cairn's environment, but this hook was not given it.
            hook = "- { path: \(EscalationHarness.hook("escalate-pagerduty.py")), pass_env: [PAGERDUTY_EVENTS_URL] }"
        default: hook = Self.webhookHook
        }
        let missing = setup.temp.path("missing")
        func configure(_ path: URL) throws {
            try setup.writeConfig(components: setup.directoryComponent(path: path.path),
                                  escalation: "consecutive_failures: 1\nhook_timeout: 3s\nhooks:\n  \(hook)")
        }
        let environment = ["CAIRN_WEBHOOK_URL": url, "SLACK_WEBHOOK_URL": url, "PAGERDUTY_EVENTS_URL": url,
                           "PAGERDUTY_ROUTING_KEY": Self.routingKey]
        try configure(missing)
        let failed = try setup.cairn(["backup", "configs"], environment: environment)
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("NOT delivered"), "\(failed.stderr)")
        let incident = try #require(try setup.incidents().first)
        guard case .array(let deliveries)? = incident["deliveries"] else { Issue.record("no deliveries"); return }
        #expect(deliveries.count == 1)
        #expect(deliveries.first?["outcome"] == .string("failed"))
        #expect(deliveries.first?["message"]?.stringValue?.contains(Self.routingKey) == false)
        switch failure {
        case "500": #expect((receiver?.bodies.count ?? 0) >= 2, "5xx is retried")
        case "slack-error", "pd-error": #expect(receiver?.bodies.count == 1, "a 200 is final: not retried")
        case "400": #expect(receiver?.bodies.count == 1, "a 4xx is final: not retried")
        case "no-pass-env":
            #expect(receiver?.bodies.isEmpty == true)
            #expect(deliveries.first?["message"]?.stringValue?.contains("exited 2") == true)
            #expect(failed.stderr.contains("PAGERDUTY_ROUTING_KEY is not set"))
        default: break
        }

        try configure(setup.data)
        let succeeded = try setup.cairn(["backup", "configs"], environment: environment)
        #expect(succeeded.status == 0, "\(succeeded.stderr)")
        #expect(try setup.incidents().isEmpty, "resolved although its resolve was not delivered")
        let logs = try runShell("cat '\(setup.temp.path("logs").path)'/*/*.log").text
        #expect(!logs.contains(Self.routingKey))
    }

    @Test func aRateLimitedReceiverIsRetriedAfterRetryAfter() throws {
        let setup = try EscalationHarness("retry-after")
        let pagerDuty = try RecordingWebhook(in: setup.temp.path("pagerduty"), mode: "429-once")
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path),
                              escalation: "consecutive_failures: 1\nhooks:\n  \(Self.pagerDutyHook())")
        let started = Date()
        let result = try setup.cairn(["backup", "configs"], environment: ["PAGERDUTY_ROUTING_KEY": Self.routingKey,
                                                                          "PAGERDUTY_EVENTS_URL": pagerDuty.url])
        #expect(result.status == 1)
        #expect(pagerDuty.bodies.count == 2, "the 429 was retried once")
        #expect(Date().timeIntervalSince(started) >= 1, "Retry-After: 1 was waited for")
        let deliveries = try #require(try setup.incidents().first?["deliveries"])
        if case .array(let list) = deliveries { #expect(list.first?["outcome"] == .string("ok")) }
    }

    @Test func anIncidentStillOpenAfterEscalateAfterGoesToTheSecondaryContact() throws {
        let setup = try EscalationHarness("escalate")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let environment = ["CAIRN_WEBHOOK_URL": webhook.url]
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path), escalation: """
            consecutive_failures: 1
            escalate_after: 1s
            contacts:
              backups: { primary: On-call engineer, secondary: Backend lead }
            conditions:
              consecutive_failures: { contacts: backups, severity: warning }
              storage_inaccessible: { contacts: backups }
              resources_exhausted: { contacts: backups }
              corruption_detected: { enabled: false }
              backup_stale: { enabled: false }
            hooks:
              \(Self.webhookHook)
            """)
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 1)
        #expect(webhook.bodies.count == 1)
        #expect(webhook.bodies.first?["severity"] == .string("warning"))
        #expect(webhook.bodies.first?["contacts"]?["notify"] == .array([.string("On-call engineer")]))
        Thread.sleep(forTimeInterval: 1.2)
        // `cairn incidents` evaluates escalation too, once.
        #expect(try setup.cairn(["incidents"], environment: environment).status == 0)
        #expect(try setup.cairn(["incidents"], environment: environment).status == 0)
        #expect(webhook.bodies.count == 2)
        let escalated = try #require(webhook.bodies.last)
        #expect(escalated["action"] == .string("escalate"))
        #expect(escalated["contacts"]?["notify"] == .array([.string("On-call engineer"), .string("Backend lead")]))
        #expect(try setup.incidents().first?["escalated_at"]?.stringValue != nil)
    }

    @Test func resolvingByHandClosesTheIncidentAndTellsTheHooks() throws {
        let setup = try EscalationHarness("manual")
        let webhook = try RecordingWebhook(in: setup.temp.path("webhook"), mode: "slack")
        let environment = ["CAIRN_WEBHOOK_URL": webhook.url]
        try setup.writeConfig(components: setup.directoryComponent(path: setup.temp.path("missing").path),
                              escalation: "consecutive_failures: 1\nsend_logs: true\nhooks:\n  \(Self.webhookHook)")
        #expect(try setup.cairn(["backup", "configs"], environment: environment).status == 1)
        let key = "cairn/test/configs/consecutive_failures"
        // send_logs: true puts the end of the run log into the event.
        guard case .array(let tail)? = webhook.bodies.first?["log_tail"] else { Issue.record("no log_tail"); return }
        #expect(tail.contains { $0.stringValue?.contains("step 'check configs' failed") == true }, "\(tail)")

        let unknown = try setup.cairn(["incidents", "resolve", "cairn/test/configs/nope"], environment: environment)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(key), "the error lists the open incidents")

        let resolved = try setup.cairn(["incidents", "resolve", key, "--note", "path fixed by hand"], environment: environment)
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(webhook.bodies.last?["action"] == .string("resolve"))
        #expect(try setup.incidents().isEmpty)
        #expect(try setup.incidents(all: true).first?["resolution"] == .string("by hand: path fixed by hand"))
    }

    @Test(arguments: [
        ("conditions:\n  disk_full: { severity: critical }", "unknown escalation condition 'disk_full'"),
        ("conditions:\n  storage_inaccessible: { contacts: cloud_team }", "unknown contact 'cloud_team'"),
        ("conditions:\n  corruption_detected: { severity: urgent }", "severity must be one of critical, error, warning, info"),
        ("contacts:\n  dba: { secondary: Someone }", "escalation.contacts.dba needs 'primary:'"),
        ("consecutive_failure: 3", "unknown key 'consecutive_failure' in 'escalation'"),
        ("contacts:\n  dba: { primary: Someone }", "escalation.contacts has no row 'backup_script', where condition consecutive_failures goes by default"),
    ])
    func badEscalationConfigIsRefusedWithItsLine(_ yaml: String, _ expected: String) throws {
        let setup = try EscalationHarness("config")
        try setup.writeConfig(components: setup.directoryComponent(), escalation: yaml)
        let result = try setup.cairn(["backup", "configs"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.range(of: #"cairn\.yaml:\d+:\d+: "#, options: .regularExpression) != nil, "names file:line: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: setup.store.path), "nothing was backed up")
    }
}
