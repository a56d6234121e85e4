import CairnCore
import CairnArchive
import Foundation

/// One archive in the store, named like a backup.
public struct StoredArchive: Codable, Sendable {
    public var backupID: String
    public var key: String
    public var size: UInt64
    public var modified: Date
    /// When the backup was made: the UTC time in its id, else the object's modification time.
    public var created: Date

    enum CodingKeys: String, CodingKey {
        case key, size, modified, created
        case backupID = "backup_id"
    }
}

/// What the store holds under one `<component>/<environment>/` prefix, sorted out: archives
/// (newest first), latest.tar.gz, and everything else (foreign objects), which Cairn reports
/// but never touches.
public struct ComponentInventory: Sendable {
    public var component: String
    public var environment: String
    public var layout: StorageLayout { StorageLayout(component: component, environment: environment) }
    public var archives: [StoredArchive]
    public var latest: StoredObject?
    public var foreign: [StoredObject]

    public var totalBytes: UInt64 { archives.reduce(0) { $0 + $1.size } + (latest?.size ?? 0) + foreign.reduce(0) { $0 + $1.size } }

    /// The backup latest.tar.gz holds; nil when there is no latest.tar.gz or it is empty.
    /// latest.tar.gz is a copy of one archive: when exactly one archive has its size, that is it;
    /// otherwise its top-level folder names the backup, which costs a read of its first block.
    public func heldByLatest(store: any ObjectStore) throws -> String? {
        guard let latest else { return nil }
        let sameSize = archives.filter { $0.size == latest.size }
        if sameSize.count == 1 { return sameSize[0].backupID }
        // An encrypted latest cannot be read without the identity: then it is known by size alone.
        if ArchiveSuffix.isEncrypted(key: latest.key), !store.canDecrypt { return nil }
        let reader = try store.openReader(key: latest.key)
        defer { reader.close() }
        guard let first = try ArchiveReader(source: reader).next() else { return nil }
        return first.path.split(separator: "/").first.map(String.init)
    }

    /// Lists the prefix once.
    public static func read(store: any ObjectStore, component: String, environment: String) throws -> ComponentInventory {
        let layout = StorageLayout(component: component, environment: environment)
        var inventory = ComponentInventory(component: component, environment: environment, archives: [], latest: nil, foreign: [])
        for object in try store.list(prefix: layout.prefix) {
            if layout.isLatestKey(object.key) {
                // Two names only after a run died between publishing one and removing the other:
                // the newer is latest, the older is reported like any other object.
                if let other = inventory.latest {
                    let (newer, older) = other.modified > object.modified ? (other, object) : (object, other)
                    inventory.latest = newer
                    inventory.foreign.append(older)
                } else {
                    inventory.latest = object
                }
            } else if object.key == layout.lockKey {
                continue  // Cairn's own lock (StoreLease): neither a backup nor someone else's object
            } else if let id = layout.backupID(fromKey: object.key) {
                inventory.archives.append(StoredArchive(backupID: id, key: object.key, size: object.size, modified: object.modified,
                                                        created: BackupID.date(of: id) ?? object.modified))
            } else {
                inventory.foreign.append(object)
            }
        }
        inventory.archives.sort { ($0.created, $0.backupID) > ($1.created, $1.backupID) }
        inventory.foreign.sort { $0.key < $1.key }
        return inventory
    }

    /// The environments that have objects under `<component>/`, sorted.
    public static func environments(store: any ObjectStore, component: String) throws -> [String] {
        let prefix = "\(component)/"
        let names = try store.list(prefix: prefix).compactMap { object -> String? in
            let rest = object.key.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return String(rest[..<slash])
        }
        return Set(names).sorted()
    }
}

extension BackupID {
    /// The UTC time in an id like `redis_20261126_190102` (or `..._190102_2`); nil when it has none.
    public static func date(of id: String) -> Date? {
        guard let match = id.range(of: #"_[0-9]{8}_[0-9]{6}(_[0-9]+)?$"#, options: .regularExpression) else { return nil }
        let digits = id[match].split(separator: "_")
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(identifier: "UTC")
        let day = Array(digits[0]), time = Array(digits[1])
        components.year = Int(String(day[0..<4])); components.month = Int(String(day[4..<6])); components.day = Int(String(day[6..<8]))
        components.hour = Int(String(time[0..<2])); components.minute = Int(String(time[2..<4])); components.second = Int(String(time[4..<6]))
        guard components.isValidDate else { return nil }
        return components.date
    }
}
