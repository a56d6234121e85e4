import CairnCore
import CairnArchive
import Foundation

/// The runbook's layout, identical in every store:
/// `<component>/<environment>/<backup_id>.tar.gz` and `<component>/<environment>/latest.tar.gz`
/// (`.tar.gz.age` for both when encrypted: `naming`).
public struct StorageLayout: Sendable {
    public static let latestName = "latest.tar.gz"
    public static let archiveSuffix = ".tar.gz"

    public var component: String
    public var environment: String
    public var naming: ArchiveNaming

    public init(component: String, environment: String, naming: ArchiveNaming = .plain) {
        self.component = component; self.environment = environment; self.naming = naming
    }

    public var prefix: String { "\(component)/\(environment)/" }
    public var latestKey: String { prefix + "latest" + naming.suffix }
    /// The lock of the component in the environment: who is writing its backups now.
    public var lockKey: String { prefix + "cairn.lock" }
    public func archiveKey(_ backupID: String) -> String { prefix + backupID + naming.suffix }

    /// The backup id of an archive key in this folder (encrypted or not), or nil for latest and
    /// foreign objects.
    public func backupID(fromKey key: String) -> String? {
        guard key.hasPrefix(prefix), key != latestKey,
              let suffix = naming.readableSuffixes.first(where: { key.hasSuffix($0) }) else { return nil }
        let id = String(key.dropFirst(prefix.count).dropLast(suffix.count))
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
