import CairnArchive
import CairnCore

/// How an archive's name ends: `.tar`, then the compression's extension (`.gz`, `.zst`), then
/// any layer wrapped around the compressed stream. The one place a suffix is made or taken
/// apart: a new layer adds a property here, and `readable` lists every combination readers accept.
public struct ArchiveSuffix: Sendable, Equatable {
    public var format: ArchiveFormat

    public init(format: ArchiveFormat = .gzip) { self.format = format }

    public var text: String { ".tar" + format.fileExtension }

    /// Every suffix Cairn reads, gzip (the runbook's) first.
    public static let readable: [ArchiveSuffix] = ArchiveFormat.allCases.map { ArchiveSuffix(format: $0) }

    /// The suffix `name` ends with, longest first so that no suffix hides a longer one; nil for
    /// names of no archive.
    public static func of(_ name: String) -> ArchiveSuffix? {
        readable.sorted { $0.text.count > $1.text.count }.first { name.hasSuffix($0.text) }
    }
}
