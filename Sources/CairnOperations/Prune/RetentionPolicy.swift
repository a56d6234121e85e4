import CairnCore
/// How many backups `cairn prune` keeps (`retention:` at the top level or per component).
/// A backup is kept when any rule keeps it; a rule left out keeps nothing by itself.
public struct RetentionPolicy: Codable, Equatable, Sendable {
    /// The N newest backups.
    public var keepLast: Int?
    /// The newest backup of each of the N most recent days that have one (UTC).
    public var keepDaily: Int?
    /// The newest backup of each of the N most recent ISO weeks that have one.
    public var keepWeekly: Int?
    /// The newest backup of each of the N most recent months that have one.
    public var keepMonthly: Int?

    public static let keys = ["keep_last", "keep_daily", "keep_weekly", "keep_monthly"]

    public init(keepLast: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil) {
        self.keepLast = keepLast; self.keepDaily = keepDaily; self.keepWeekly = keepWeekly; self.keepMonthly = keepMonthly
    }

    enum CodingKeys: String, CodingKey {
        case keepLast = "keep_last", keepDaily = "keep_daily", keepWeekly = "keep_weekly", keepMonthly = "keep_monthly"
    }

    /// "keep_last 7, keep_daily 14" for reports.
    public var description: String {
        let rules = [("keep_last", keepLast), ("keep_daily", keepDaily), ("keep_weekly", keepWeekly), ("keep_monthly", keepMonthly)]
            .compactMap { name, value in value.map { "\(name) \($0)" } }
        return rules.isEmpty ? "no rules" : rules.joined(separator: ", ")
    }

    /// Fills the rules this one leaves out from `defaults` (a component's policy over the top-level one).
    public func over(_ defaults: RetentionPolicy?) -> RetentionPolicy {
        RetentionPolicy(keepLast: keepLast ?? defaults?.keepLast, keepDaily: keepDaily ?? defaults?.keepDaily,
                        keepWeekly: keepWeekly ?? defaults?.keepWeekly, keepMonthly: keepMonthly ?? defaults?.keepMonthly)
    }
}
