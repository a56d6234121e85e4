import CairnArchive
import CairnCore

/// How an archive's name ends: `.tar`, then the compression's extension (`.gz`, `.zst`), then
/// `.age` when the compressed stream is age-encrypted. The one place a suffix is made or taken
/// apart: a new layer adds a property here, and `readable` lists every combination readers accept.
public struct ArchiveSuffix: Sendable, Equatable {
    public static let encryptionExtension = ".age"

    public var format: ArchiveFormat
    /// age-encrypted: the stored bytes are an age file around the compressed tar.
    public var encrypted: Bool

    public init(format: ArchiveFormat = .gzip, encrypted: Bool = false) { self.format = format; self.encrypted = encrypted }

    /// `.tar.gz`, `.tar.zst`, `.tar.gz.age`, `.tar.zst.age`.
    public var text: String { ".tar" + format.fileExtension + (encrypted ? Self.encryptionExtension : "") }

    /// Every suffix Cairn reads, gzip (the runbook's) first, each plain then encrypted: turning
    /// compression or encryption on or off keeps older backups listed, readable and prunable.
    public static let readable: [ArchiveSuffix] = ArchiveFormat.allCases.flatMap {
        [ArchiveSuffix(format: $0), ArchiveSuffix(format: $0, encrypted: true)]
    }

    /// The suffix `name` ends with, longest first so that no suffix hides a longer one; nil for
    /// names of no archive.
    public static func of(_ name: String) -> ArchiveSuffix? {
        readable.sorted { $0.text.count > $1.text.count }.first { name.hasSuffix($0.text) }
    }

    /// Is the object under `key` an age file (its name ends in `.age`)?
    public static func isEncrypted(key: String) -> Bool { key.hasSuffix(encryptionExtension) }
}
