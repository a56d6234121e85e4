import CairnCore
import Foundation

/// The structure rules of a Cairn archive, checked entry by entry as a reader meets them
/// (ArchiveReader.observer) and against backup_metadata.json at the end. ArchiveVerifier drives
/// the reader itself; after a backup, a plugin's verification drives it and the same checks
/// ride along, so the archive is read once instead of twice.
public final class ArchiveStructureCheck {
    public private(set) var rootFolder: String?
    private var members: Set<String> = []
    /// Files seen, with the size and SHA-256 of their data; the metadata file is not listed.
    private(set) var files: [(path: String, size: Int64, sha256: String)] = []
    /// backup_metadata.json has been met: any later entry is an error.
    private(set) var sawMetadata = false

    public init() {}

    /// Exactly one top-level folder; every member inside it; safe names, no duplicates; the
    /// metadata is the last member and not oversized.
    func entry(_ entry: ArchiveEntry) throws {
        if sawMetadata { throw ArchiveError.metadataNotLast(entry.path) }
        if let problem = ArchivePath.problem(entry.path) { throw ArchiveError.invalidPath(entry.path, reason: problem) }
        guard members.insert(entry.path).inserted else { throw ArchiveError.duplicateMember(entry.path) }

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

    func file(_ path: String, sha256: String, size: Int64) {
        if !Self.isMetadata(path) { files.append((path: path, size: size, sha256: sha256)) }
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
        var present: [String: (size: Int64, sha256: String)] = [:]
        for file in files { present[file.path] = (file.size, file.sha256) }
        var listed: Set<String> = []
        for record in metadata.files {
            let path = "\(rootFolder)/\(record.path)"
            guard listed.insert(path).inserted else { throw ArchiveError.invalidMetadata("it lists '\(record.path)' twice") }
            guard let actual = present[path] else { throw ArchiveError.missingFile(path) }
            if actual.size != record.size {
                throw ArchiveError.sizeMismatch(path: path, declared: record.size, actual: actual.size)
            }
            if actual.sha256 != record.sha256.lowercased() {
                throw ArchiveError.checksumMismatch(path: path, expected: record.sha256, actual: actual.sha256)
            }
        }
        if let unlisted = files.first(where: { !listed.contains($0.path) }) {
            throw ArchiveError.unlistedFile(unlisted.path)
        }
    }
}
