import CairnCore
/// What ArchiveVerifier established about an archive.
public struct VerifiedArchive: Sendable {
    public var metadata: BackupMetadata
    public var rootFolder: String
    public var compressedBytes: Int64
    public var uncompressedBytes: Int64

    public init(metadata: BackupMetadata, rootFolder: String, compressedBytes: Int64, uncompressedBytes: Int64) {
        self.metadata = metadata; self.rootFolder = rootFolder
        self.compressedBytes = compressedBytes; self.uncompressedBytes = uncompressedBytes
    }
}
