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

    public var expectedID: String? { if case .id(let id) = self { return id } else { return nil } }
}
