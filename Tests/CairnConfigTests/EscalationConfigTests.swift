import Foundation
import Testing
@testable import CairnCore
@testable import CairnHooks
@testable import CairnOperations
@testable import CairnConfig
import CairnTestSupport

@Suite("Escalation configuration")
struct EscalationConfigTests {
    let base = URL(fileURLWithPath: "/etc/cairn")

    func parse(_ escalation: String) throws -> EscalationSettings {
        try ConfigLoader.parse(text: "environment: prod\nescalation:\n" + escalation, path: "cairn.yaml", baseDirectory: base).escalation
    }

    @Test func withoutASectionTheRunbookDefaultsApply() throws {
        let settings = try ConfigLoader.parse(text: "environment: prod\n", path: "cairn.yaml", baseDirectory: base).escalation
        #expect(settings.consecutiveFailures == 3)
        #expect(settings.escalateAfter == 3600)
        #expect(settings.sendLogs == false)
        #expect(settings.hooks.isEmpty)
        #expect(settings.contacts["s3_aws"] == EscalationSettings.Contacts(primary: "Cloud Infrastructure Team", secondary: "DevOps Lead"))
        #expect(settings.policy(.storageInaccessible).issueType == "s3_aws")
        #expect(settings.policy(.corruptionDetected).issueType == "database")
        #expect(settings.policy(.resourcesExhausted).severity == .error)
        #expect(settings.policy(.consecutiveFailures).severity == .critical)
    }

    @Test func hooksWithoutTheirOwnTimeoutTakeHookTimeout() throws {
        let settings = try parse("""
              hooks:
                - escalate-slack.py
                - { path: escalate-pagerduty.py, timeout: 5, pass_env: [PAGERDUTY_ROUTING_KEY] }
              hook_timeout: 12s
              escalate_after: 1h30m
              consecutive_failures: 5
              send_logs: true
            """)
        #expect(settings.hooks.map(\.timeout) == [12, 5])
        #expect(settings.hooks.last?.passEnv == ["PAGERDUTY_ROUTING_KEY"])
        #expect(settings.escalateAfter == 5400)
        #expect(settings.consecutiveFailures == 5)
        #expect(settings.sendLogs)
    }

    @Test func conditionsMayComeBeforeTheContactsTheyName() throws {
        let settings = try parse("""
              conditions:
                storage_inaccessible: { contacts: cloud, severity: warning }
                resources_exhausted: { enabled: false }
              contacts:
                cloud: { primary: Cloud team }
                backup_script: { primary: Ops }
                database: { primary: DBA }
            """)
        #expect(settings.policy(.storageInaccessible) == EscalationSettings.Policy(enabled: true, severity: .warning, issueType: "cloud"))
        #expect(settings.policy(.resourcesExhausted).enabled == false)
        #expect(settings.contacts["cloud"]?.secondary == nil)
    }

    @Test func badValuesNameTheirLine() {
        for (yaml, expected) in [
            ("  consecutive_failures: 0\n", "cairn.yaml:3:25: escalation.consecutive_failures must be 1 to 1000"),
            ("  escalate_after: soon\n", "cairn.yaml:3:19: 'escalation.escalate_after' must be a duration"),
            ("  conditions:\n    disk_ful: {}\n", "cairn.yaml:4:5: unknown escalation condition 'disk_ful'"),
        ] {
            let error = #expect(throws: CairnError.self) { try parse(yaml) }
            #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
            #expect(error?.exitCode == .usage)
        }
    }
}
