import Foundation
import Testing
@testable import CairnCore
@testable import CairnHooks
@testable import CairnOperations
@testable import CairnConfig
@testable import CairnInterfaces
import CairnTestSupport

@Suite("Retention policy and its configuration")
struct RetentionTests {
    let base = URL(fileURLWithPath: "/etc/cairn")

    func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Backups of a few months: several a day, gaps, two in one ISO week across a month end.
    var history: [(id: String, created: Date)] {
        ["2026-11-26T22:00:00Z", "2026-11-26T03:00:00Z", "2026-11-25T22:00:00Z", "2026-11-23T12:00:00Z",
         "2026-11-02T12:00:00Z", "2026-10-31T12:00:00Z", "2026-10-15T12:00:00Z", "2026-09-30T12:00:00Z",
         "2026-08-01T12:00:00Z"].map { (BackupID.make(component: "redis", date: at($0)), at($0)) }
    }

    func kept(_ policy: RetentionPolicy, protected: [(id: String, reason: String)] = []) -> [String] {
        RetentionPlanner.plan(history, policy: policy, protected: protected).filter(\.keep).map(\.backupID)
    }

    @Test func eachRuleKeepsTheNewestBackupOfItsPeriods() {
        #expect(kept(RetentionPolicy(keepLast: 2)) == ["redis_20261126_220000", "redis_20261126_030000"])
        // Days with backups, newest first: 26, 25, 23 -> the newest backup of each.
        #expect(kept(RetentionPolicy(keepDaily: 3)) == ["redis_20261126_220000", "redis_20261125_220000", "redis_20261123_120000"])
        // ISO weeks: W48 (23-26 Nov), W45 (2 Nov), W44 (31 Oct) -> 2 Nov and 31 Oct are different weeks.
        #expect(kept(RetentionPolicy(keepWeekly: 3)) == ["redis_20261126_220000", "redis_20261102_120000", "redis_20261031_120000"])
        #expect(kept(RetentionPolicy(keepMonthly: 3)) == ["redis_20261126_220000", "redis_20261031_120000", "redis_20260930_120000"])
        #expect(kept(RetentionPolicy()) == [])
    }

    @Test func rulesAddUpAndProtectedBackupsAlwaysStay() {
        let decisions = RetentionPlanner.plan(history, policy: RetentionPolicy(keepLast: 1, keepMonthly: 2),
                                              protected: [("redis_20260801_120000", "newest verified")])
        #expect(decisions.filter(\.keep).map(\.backupID) == ["redis_20261126_220000", "redis_20261031_120000", "redis_20260801_120000"])
        #expect(decisions.first?.reasons == ["keep_last", "keep_monthly"])
        #expect(decisions.last?.reasons == ["newest verified"])
        #expect(decisions.filter { !$0.keep }.count == 6)
    }

    @Test func backupIDsCarryTheirTime() {
        #expect(BackupID.date(of: "redis_20261126_190102") == at("2026-11-26T19:01:02Z"))
        #expect(BackupID.date(of: "my_app_20261126_190102_3") == at("2026-11-26T19:01:02Z"))
        #expect(BackupID.date(of: "redis_20261350_190102") == nil)
        #expect(BackupID.date(of: "notes") == nil)
    }

    @Test func retentionAndMaxAgeAreReadFromTheTopLevelAndPerComponent() throws {
        let config = try ConfigLoader.parse(text: """
            retention: { keep_last: 7, keep_monthly: 6 }
            validation: { max_age: 26h }
            components:
              redis: { url: "redis://localhost:6379", retention: { keep_last: 2, keep_daily: 3 }, max_age: 2d }
              configs: { plugin: directory, path: /etc }
            """, path: "cairn.yaml", baseDirectory: base)
        #expect(config.retention(of: "redis") == RetentionPolicy(keepLast: 2, keepDaily: 3, keepMonthly: 6))
        #expect(config.retention(of: "configs") == RetentionPolicy(keepLast: 7, keepMonthly: 6))
        #expect(config.maxAge(of: "redis") == 2 * 86400)
        #expect(config.maxAge(of: "configs") == 26 * 3600)
        // Neither key reaches the plugin as a setting.
        #expect(config.component(named: "redis")?.settings["retention"] == nil)
        #expect(config.component(named: "redis")?.settings["max_age"] == nil)
        let defaults = try ConfigLoader.parse(text: "environment: dev\n", path: "cairn.yaml", baseDirectory: base)
        #expect(defaults.retention(of: "redis") == nil)
        #expect(defaults.maxAge(of: "redis") == Configuration.defaultMaxBackupAge)
    }

    @Test func badRetentionAndMaxAgeAreNamedWithFileAndLine() {
        let typo = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "components:\n  redis:\n    retention:\n      keep_dayly: 3\n", path: "cairn.yaml", baseDirectory: base)
        }
        #expect(typo?.message.hasPrefix("cairn.yaml:4:7: unknown key 'keep_dayly' in 'components.redis.retention'") == true, "\(typo?.message ?? "")")
        #expect(typo?.message.contains("did you mean 'keep_daily'?") == true)
        let zero = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "retention:\n  keep_last: 0\n", path: "cairn.yaml", baseDirectory: base)
        }
        #expect(zero?.message.hasPrefix("cairn.yaml:2:14: keep_last must be at least 1") == true, "\(zero?.message ?? "")")
        let age = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "validation:\n  max_age: soon\n", path: "cairn.yaml", baseDirectory: base)
        }
        #expect(age?.message.hasPrefix("cairn.yaml:2:12: 'validation.max_age' must be a duration") == true, "\(age?.message ?? "")")
        let unknown = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "validation:\n  maxage: 2h\n", path: "cairn.yaml", baseDirectory: base)
        }
        #expect(unknown?.message.hasPrefix("cairn.yaml:2:3: unknown key 'maxage' in 'validation'") == true, "\(unknown?.message ?? "")")
    }
}
