import CairnCore
/// One entry of a backup archive, as components produce it and as readers return it.
public struct ArchiveEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case file, directory }

    /// Path inside the archive. For writers: relative to the backup's top-level folder
    /// ("dump.rdb", "appendonlydir/x.aof"). For readers: the full member name ("<id>/dump.rdb").
    public var path: String
    public var kind: Kind
    /// Permission bits (07777).
    public var mode: UInt32
    /// Modification time, seconds since the Unix epoch.
    public var mtime: Int64
    /// Exact size in bytes; nil when a writer does not know it up front (the writer spools).
    public var size: Int64?

    public init(path: String, kind: Kind, mode: UInt32, mtime: Int64, size: Int64?) {
        self.path = path; self.kind = kind; self.mode = mode; self.mtime = mtime; self.size = size
    }
}

/// What backup_metadata.json records for every file: the checksum manifest.
public struct FileRecord: Codable, Equatable, Sendable {
    public var path: String      // relative to the top-level folder
    public var size: Int64
    public var sha256: String    // lowercase hex
    public var mode: UInt32
    public var mtime: Int64

    public init(path: String, size: Int64, sha256: String, mode: UInt32, mtime: Int64) {
        self.path = path; self.size = size; self.sha256 = sha256; self.mode = mode; self.mtime = mtime
    }
}
