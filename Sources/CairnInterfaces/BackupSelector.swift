import CairnCore
import CairnArchive
import Foundation
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

    /// The key under the layout's own suffix (what a new backup would be called).
    public func key(in layout: StorageLayout) -> String {
        switch self {
        case .latest: return layout.latestKey
        case .id(let id): return layout.archiveKey(id)
        }
    }

    /// The key of the stored archive, whichever format it was written in (the layout's own
    /// first; the newest when latest exists under two names); the layout's own name when none exists.
    public func resolvedKey(in layout: StorageLayout, store: any ObjectStore) throws -> String {
        let candidates: [String]
        switch self {
        case .latest: candidates = layout.latestKeys
        case .id(let id): candidates = layout.archiveKeys(id)
        }
        var found: [(key: String, modified: Date)] = []
        for key in candidates { if let object = try store.stat(key: key) { found.append((key, object.modified)) } }
        return found.max { $0.modified < $1.modified }?.key ?? key(in: layout)
    }

    public var expectedID: String? { if case .id(let id) = self { return id } else { return nil } }
}
