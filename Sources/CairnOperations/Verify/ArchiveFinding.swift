import CairnArchive
import CairnCore

/// What part of a stored archive a problem is in: the one classification that post-backup
/// verification, `verify`, `integrity`, `validate` and `prune` share.
public enum ArchiveFindingKind: String, Codable, Sendable {
    /// The gzip stream or tar structure: truncated, damaged, unsafe names, members out of place.
    case structure
    /// A file's size or SHA-256 disagrees with backup_metadata.json, or the list of files does.
    case checksum
    /// backup_metadata.json is missing or is not JSON of the expected shape.
    case metadata
    /// The component's own validation of its files failed (RDB CRC, Weaviate's descriptors).
    case component
    /// The age encryption around the archive: a damaged header, MAC or chunk, a cut-short file.
    case encryption

    /// Where an archive error belongs.
    public init(_ error: ArchiveError) {
        switch error {
        case .missingMetadata, .invalidMetadata: self = .metadata
        case .checksumMismatch, .sizeMismatch, .missingFile, .unlistedFile: self = .checksum
        case .decryption: self = .encryption
        default: self = .structure
        }
    }
}

/// One problem found in a stored archive, with the check result people and hooks see.
public struct ArchiveFinding: Error, Codable, Sendable, Equatable {
    public var kind: ArchiveFindingKind
    public var check: CheckResult

    public init(kind: ArchiveFindingKind, check: CheckResult) { self.kind = kind; self.check = check }
}
