import CairnCore
import CairnArchive
import Foundation

/// The runbook's layout, identical in every store:
/// `<component>/<environment>/<backup_id>.tar.gz` and `<component>/<environment>/latest.tar.gz`;
/// `.tar.zst` instead with `compression.format: zstd`, and `.age` after either when encrypted
/// (ArchiveSuffix). Readers accept every suffix.
public struct StorageLayout: Sendable {
    public static let latestStem = "latest"
    public static let latestName = latestStem + ArchiveSuffix().text

    public var component: String
    public var environment: String
    /// How new archives and the latest copy made from them are named.
    public var suffix: ArchiveSuffix

    public init(component: String, environment: String, suffix: ArchiveSuffix = ArchiveSuffix()) {
        self.component = component; self.environment = environment; self.suffix = suffix
    }

    public var prefix: String { "\(component)/\(environment)/" }
    public var latestKey: String { prefix + Self.latestStem + suffix.text }
    /// Every name latest may have, this layout's own first.
    public var latestKeys: [String] {
        ([suffix] + ArchiveSuffix.readable.filter { $0 != suffix }).map { prefix + Self.latestStem + $0.text }
    }
    public func isLatestKey(_ key: String) -> Bool { latestKeys.contains(key) }
    /// The lock of the component in the environment: who is writing its backups now.
    public var lockKey: String { prefix + "cairn.lock" }
    public func archiveKey(_ backupID: String) -> String { prefix + backupID + suffix.text }
    /// Every name the archive of `backupID` may have, this layout's own first.
    public func archiveKeys(_ backupID: String) -> [String] {
        ([suffix] + ArchiveSuffix.readable.filter { $0 != suffix }).map { prefix + backupID + $0.text }
    }

    /// The backup id of an archive key in this folder, or nil for latest and foreign objects.
    public func backupID(fromKey key: String) -> String? {
        guard key.hasPrefix(prefix), !isLatestKey(key), let found = ArchiveSuffix.of(key) else { return nil }
        let id = String(key.dropFirst(prefix.count).dropLast(found.text.count))
        return BackupID.isValid(id) ? id : nil
    }
}

/// Backup ids look like `redis_20261126_190102`: lowercase letters, digits and `_`, so that
/// Weaviate accepts them too. Times are UTC.
public enum BackupID {
    public static func make(component: String, date: Date) -> String {
        let c = utc(date)
        return "\(sanitize(component))_\(day(date))_" + String(format: "%02d%02d%02d", c.hour!, c.minute!, c.second!)
    }

    /// YYYYMMDD in UTC, as in backup ids and the runbook's log file names.
    public static func day(_ date: Date) -> String {
        let c = utc(date)
        return String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
    }

    private static func utc(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    }

    public static func sanitize(_ name: String) -> String {
        String(name.lowercased().map { ($0.isLetter && $0.isASCII) || $0.isNumber ? $0 : "_" })
    }

    public static func isValid(_ id: String) -> Bool {
        id.range(of: #"^[a-z0-9][a-z0-9_]{0,127}$"#, options: .regularExpression) != nil
    }
}
