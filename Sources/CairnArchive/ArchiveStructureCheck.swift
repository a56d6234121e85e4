import CairnCore
import Crypto
import Foundation

/// The structure rules of a Cairn archive, checked entry by entry as a reader meets them
/// (ArchiveReader.observer) and against backup_metadata.json at the end. ArchiveVerifier drives
/// the reader itself; after a backup, a plugin's verification drives it and the same checks
/// ride along, so the archive is read once instead of twice; a restore's read carries them too.
///
/// What is kept per entry is fixed in size (a hash of its path; for a file its size and digest),
/// so memory grows with the number of entries, never with their names or data.
public final class ArchiveStructureCheck {
    public private(set) var rootFolder: String?
    private var members: Set<PathKey> = []
    /// Files seen, by path; the metadata file is not listed.
    private var files: [PathKey: FileSeen] = [:]
    private var entriesSeen = 0
    /// backup_metadata.json has been met: any later entry is an error.
    private(set) var sawMetadata = false

    public init() {}

    /// Exactly one top-level folder; every member inside it; no duplicates; the metadata is the
    /// last member and not oversized. (Unsafe names never get here: the reader refuses them.)
    func entry(_ entry: ArchiveEntry) throws {
        if sawMetadata { throw ArchiveError.metadataNotLast(entry.path) }
        entriesSeen += 1
        guard members.insert(PathKey(entry.path)).inserted else { throw ArchiveError.duplicateMember(entry.path) }

        let components = entry.path.split(separator: "/")
        let top = String(components[0])
        if let rootFolder, rootFolder != top { throw ArchiveError.multipleTopLevel([rootFolder, top]) }
        rootFolder = top
        if components.count == 1 {
            if entry.kind == .file {
                throw ArchiveError.invalidPath(entry.path, reason: "a file at the top level; every member must be inside the backup folder")
            }
            return
        }
        guard entry.kind == .file, Self.isMetadata(entry.path) else { return }
        if let size = entry.size, size > ArchiveVerifier.maxMetadataSize {
            throw ArchiveError.invalidMetadata("it is \(size) bytes, more than the \(ArchiveVerifier.maxMetadataSize)-byte limit")
        }
        sawMetadata = true
    }

    func file(_ path: String, digest: SHA256.Digest, size: Int64) {
        if !Self.isMetadata(path) { files[PathKey(path)] = FileSeen(member: entriesSeen, size: size, digest: digest) }
    }

    public static func isMetadata(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        return components.count == 2 && components[1] == BackupMetadata.fileName
    }

    /// After the last entry: the metadata names the folder (and expectedBackupID when given),
    /// every file it lists is present with the same size and SHA-256, and nothing else is.
    public func finish(_ metadata: BackupMetadata, expectedBackupID: String?) throws {
        guard let rootFolder, sawMetadata else { throw ArchiveError.missingMetadata }
        guard metadata.backupID == rootFolder else {
            throw ArchiveError.wrongBackupID(expected: rootFolder, found: metadata.backupID)
        }
        if let expectedBackupID, expectedBackupID != metadata.backupID {
            throw ArchiveError.wrongBackupID(expected: expectedBackupID, found: metadata.backupID)
        }
        try checkManifest(metadata)
    }

    /// Every listed file is present with its size and digest, and nothing else is.
    func checkManifest(_ metadata: BackupMetadata) throws {
        guard let rootFolder else { throw ArchiveError.missingMetadata }
        var listed: Set<PathKey> = []
        for record in metadata.files {
            let path = "\(rootFolder)/\(record.path)"
            let key = PathKey(path)
            guard listed.insert(key).inserted else { throw ArchiveError.invalidMetadata("it lists '\(ArchivePath.shown(record.path))' twice") }
            guard let actual = files[key] else { throw ArchiveError.missingFile(path) }
            if actual.size != record.size {
                throw ArchiveError.sizeMismatch(path: path, declared: record.size, actual: actual.size)
            }
            let digest = actual.digest.hexString
            if digest != record.sha256.lowercased() {
                throw ArchiveError.checksumMismatch(path: path, expected: record.sha256, actual: digest)
            }
        }
        // Only hashes of the names were kept: the file is named by its place in the archive.
        if let unlisted = files.filter({ !listed.contains($0.key) }).values.min(by: { $0.member < $1.member }) {
            throw ArchiveError.unlistedFile("member \(unlisted.member) in archive order (\(unlisted.size) bytes, SHA-256 \(unlisted.digest.hexString))")
        }
    }

    /// A member path as 128 bits of two differently salted SipHash values: 16 bytes whatever the
    /// name's length. The hasher's seed is random per process, so an archive cannot be built to
    /// make two names collide.
    struct PathKey: Hashable {
        let low: Int, high: Int
        init(_ path: String) {
            var first = Hasher(), second = Hasher()
            first.combine(0x5a)
            second.combine(0xa5)
            first.combine(path)
            second.combine(path)
            low = first.finalize()
            high = second.finalize()
        }
    }

    struct FileSeen {
        /// 1-based position among the archive's members, the folder included (as `tar -tzf` lists them).
        var member: Int
        var size: Int64
        var digest: SHA256.Digest
    }
}
