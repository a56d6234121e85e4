import CairnInterfaces
import Foundation

/// Decides which backups a policy keeps. Pure: backups in, reasons out, so it is easy to test
/// and to show in `--dry-run`.
public enum RetentionPlanner {
    /// One backup and why it stays (empty: it goes).
    public struct Decision: Codable, Sendable {
        public var backupID: String
        public var created: Date
        public var reasons: [String]
        public var keep: Bool { !reasons.isEmpty }

        enum CodingKeys: String, CodingKey { case backupID = "backup_id", created, reasons, keep }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(backupID, forKey: .backupID); try c.encode(created, forKey: .created)
            try c.encode(reasons, forKey: .reasons); try c.encode(keep, forKey: .keep)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            backupID = try c.decode(String.self, forKey: .backupID)
            created = try c.decode(Date.self, forKey: .created)
            reasons = try c.decode([String].self, forKey: .reasons)
        }

        public init(backupID: String, created: Date, reasons: [String]) {
            self.backupID = backupID; self.created = created; self.reasons = reasons
        }
    }

    /// `backups` in any order; `protected` ids (newest verified, latest.tar.gz) are always kept,
    /// with the reason given. Result newest first.
    public static func plan(_ backups: [(id: String, created: Date)], policy: RetentionPolicy,
                            protected: [(id: String, reason: String)]) -> [Decision] {
        let sorted = backups.sorted { ($0.created, $0.id) > ($1.created, $1.id) }
        var reasons: [String: [String]] = [:]
        for (id, why) in protected { reasons[id, default: []].append(why) }
        if let n = policy.keepLast {
            for backup in sorted.prefix(n) { reasons[backup.id, default: []].append("keep_last") }
        }
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let buckets: [(String, Int?, (Date) -> String)] = [
            ("keep_daily", policy.keepDaily, { BackupID.day($0) }),
            ("keep_weekly", policy.keepWeekly, { date in
                let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return "\(c.yearForWeekOfYear!)-W\(c.weekOfYear!)"
            }),
            ("keep_monthly", policy.keepMonthly, { String(BackupID.day($0).prefix(6)) }),
        ]
        for (rule, count, bucket) in buckets {
            guard let count else { continue }
            var seen: Set<String> = []
            // Newest first: the first backup met in a period is that period's newest.
            for backup in sorted where seen.count < count {
                if seen.insert(bucket(backup.created)).inserted { reasons[backup.id, default: []].append(rule) }
            }
        }
        return sorted.map { Decision(backupID: $0.id, created: $0.created, reasons: reasons[$0.id] ?? []) }
    }
}
