import CairnCore
import CairnArchive
/// `--backup ID|latest`: which stored archive a command works on.
public enum BackupSelector: Sendable, Equatable {
    case latest
    case id(String)

    public init(_ text: String) throws {
        if text == "latest" { self = .latest; return }
        guard BackupID.isValid(text) else {
            throw CairnError.usage("--backup '\(text)' is neither 'latest' nor a backup id like redis_20261126_190102 (see cairn list <component>)")
        }
        self = .id(text)
    }

    public func key(in layout: StorageLayout) -> String {
        switch self {
        case .latest: return layout.latestKey
        case .id(let id): return layout.archiveKey(id)
        }
    }

    /// The stored key: as this store names archives, else under the other suffix an archive of
    /// the folder may have (a backup from before encryption was turned on, or after it was turned off).
    public func storedKey(in layout: StorageLayout, store: any ObjectStore) throws -> String {
        let key = self.key(in: layout)
        if try store.stat(key: key) != nil { return key }
        let stem = String(key.dropLast(layout.naming.suffix.count))
        for suffix in layout.naming.readableSuffixes where suffix != layout.naming.suffix {
            if try store.stat(key: stem + suffix) != nil { return stem + suffix }
        }
        return key
    }

    public var expectedID: String? { if case .id(let id) = self { return id } else { return nil } }
}
