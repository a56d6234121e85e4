import CairnCore
/// What ArchiveVerifier established about an archive.
public struct VerifiedArchive: Sendable {
    public var metadata: BackupMetadata
    /// backup_metadata.json as stored: handed to plugins as it is, since encoding it again costs
    /// several times its size in memory.
    public var metadataText: String
    public var rootFolder: String
    public var compressedBytes: Int64
    public var uncompressedBytes: Int64

    public init(metadata: BackupMetadata, metadataText: String, rootFolder: String, compressedBytes: Int64, uncompressedBytes: Int64) {
        self.metadata = metadata; self.metadataText = metadataText; self.rootFolder = rootFolder
        self.compressedBytes = compressedBytes; self.uncompressedBytes = uncompressedBytes
    }
}
