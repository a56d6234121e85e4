import CairnCore
import Foundation

/// Everything that can go wrong writing, reading or verifying a backup archive. Each message
/// names the member or offset involved so an operator can act on it without a debugger.
public enum ArchiveError: Error, CustomStringConvertible, Equatable {
    /// A member or folder name that is unsafe or not representable.
    case invalidPath(String, reason: String)
    /// A file produced more or fewer bytes than its header declares.
    case sizeMismatch(path: String, declared: Int64, actual: Int64)
    /// A file's SHA-256 differs from the one recorded for it.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A link, device, FIFO or other member type that backups never contain.
    case unsupportedEntry(path: String, type: String)
    /// The archive ends early.
    case truncated(String)
    /// The gzip layer is damaged.
    case corruptGzip(String)
    /// The zstd layer is damaged.
    case corruptZstd(String)
    /// The tar layer is damaged; `offset` is in the uncompressed tar stream.
    case corruptTar(offset: Int64, String)
    /// Non-zero data after the end-of-archive blocks; `offset` is in the uncompressed tar stream.
    case trailingData(offset: Int64)
    case missingMetadata
    case invalidMetadata(String)
    /// A member follows backup_metadata.json, which must be last.
    case metadataNotLast(String)
    case wrongBackupID(expected: String, found: String)
    /// Listed in backup_metadata.json but not in the archive.
    case missingFile(String)
    /// In the archive but not listed in backup_metadata.json; only its place is known (the
    /// verifier keeps hashes of names, not names).
    case unlistedFile(String)
    case duplicateMember(String)
    case multipleTopLevel([String])
    /// The writer or reader was used out of order (write without begin, begin twice...).
    case invalidState(String)
    case invalidOptions(String)
    /// zlib refused to compress (out of memory, invalid level).
    case compressionFailed(String)
    /// A local file operation failed (spool file, source file).
    case io(String)
    /// The encryption layer (age) around the archive is damaged: header, MAC, a chunk, its end.
    case decryption(String)

    public var description: String {
        switch self {
        case .invalidPath(let path, let reason):
            return "invalid archive path '\(ArchivePath.shown(path))': \(reason)"
        case .sizeMismatch(let path, let declared, let actual):
            return "'\(path)': declared \(declared) bytes, got \(actual): the file changed while being read; "
                + "stop writes to it during the backup or back it up with unknown size (spooled)"
        case .checksumMismatch(let path, let expected, let actual):
            return "'\(path)': SHA-256 is \(actual), expected \(expected): the archive is damaged or was modified"
        case .unsupportedEntry(let path, let type):
            return "'\(path)' is a \(type); backup archives contain only regular files and directories"
        case .truncated(let detail):
            return "archive is truncated: \(detail); the upload or copy was probably interrupted"
        case .corruptGzip(let detail):
            return "gzip data is corrupt: \(detail)"
        case .corruptZstd(let detail):
            return "zstd data is corrupt: \(detail)"
        case .corruptTar(let offset, let detail):
            return "tar data is corrupt at uncompressed offset \(offset): \(detail)"
        case .trailingData(let offset):
            return "unexpected data after the end-of-archive blocks at uncompressed offset \(offset); "
                + "the archive was appended to or is not a single backup"
        case .missingMetadata:
            return "\(BackupMetadata.fileName) is missing: the backup did not finish and must not be used"
        case .invalidMetadata(let detail):
            return "\(BackupMetadata.fileName) is invalid: \(detail)"
        case .metadataNotLast(let path):
            return "member '\(path)' follows \(BackupMetadata.fileName), which must be the last member"
        case .wrongBackupID(let expected, let found):
            return "backup id is '\(found)', expected '\(expected)'"
        case .missingFile(let path):
            return "'\(path)' is listed in \(BackupMetadata.fileName) but not present in the archive"
        case .unlistedFile(let place):
            return "the archive holds a file that \(BackupMetadata.fileName) does not list: \(place); "
                + "`tar -tzvf` shows the members in this order"
        case .duplicateMember(let path):
            return "'\(ArchivePath.shown(path))' occurs more than once in the archive"
        case .multipleTopLevel(let names):
            return "archive has \(names.count) top-level entries (\(names.joined(separator: ", "))); "
                + "a backup has exactly one folder named after its id"
        case .invalidState(let detail):
            return "archive used out of order: \(detail)"
        case .invalidOptions(let detail):
            return "invalid archive options: \(detail)"
        case .compressionFailed(let detail):
            return "compression failed: \(detail)"
        case .io(let detail):
            return detail
        case .decryption(let detail):
            return "cannot decrypt: \(detail)"
        }
    }
}

extension ArchiveError {
    /// True when the stored bytes are damaged (as opposed to misuse or a local I/O problem):
    /// plugins are then told CAIRN_CORRUPT.
    public var isCorruption: Bool {
        switch self {
        case .invalidState, .invalidOptions, .compressionFailed, .io, .sizeMismatch: return false
        default: return true
        }
    }
}
