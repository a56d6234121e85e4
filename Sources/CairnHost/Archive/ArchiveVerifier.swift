import Foundation

/// Proves an archive is a complete, intact backup before anyone relies on it.
public enum ArchiveVerifier {
    /// backup_metadata.json is read into memory; beyond this it is not ours.
    static let maxMetadataSize = 64 << 20

    /// Reads the whole archive once: exactly one top-level folder; every member inside it;
    /// safe names; backup_metadata.json is the last member, valid JSON of BackupMetadata, whose
    /// backup_id equals the folder name (and expectedBackupID when given); every file listed
    /// in metadata.files is present with the same size and SHA-256, no file is present that is
    /// not listed; the gzip stream and tar structure are complete (a truncated archive is an
    /// error, not a short listing); trailing garbage after the end blocks is an error.
    public static func verify(source: ByteSource, expectedBackupID: String? = nil) throws -> VerifiedArchive {
        let reader = ArchiveReader(source: source)
        var rootFolder: String?
        var members: Set<String> = []
        var files: [(path: String, size: Int64, sha256: String)] = []
        var metadataText: Data?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }

        while let entry = try nextEntry(reader, metadata: metadataText, rootFolder: rootFolder, files: files) {
            if metadataText != nil { throw ArchiveError.metadataNotLast(entry.path) }
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
                continue
            }
            guard entry.kind == .file else { continue }

            let isMetadata = components.count == 2 && components[1] == BackupMetadata.fileName
            if isMetadata, let size = entry.size, size > maxMetadataSize {
                throw ArchiveError.invalidMetadata("it is \(size) bytes, more than the \(maxMetadataSize)-byte limit")
            }
            var content = Data()
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                if isMetadata { content.append(UnsafeRawBufferPointer(rebasing: buffer.prefix(n)).bindMemory(to: UInt8.self)) }
            }
            if isMetadata {
                metadataText = content
            } else if let digest = reader.lastDigest {
                files.append((path: entry.path, size: digest.size, sha256: digest.sha256))
            }
        }

        guard let rootFolder, let metadataText else { throw ArchiveError.missingMetadata }
        let metadata = try decodeMetadata(metadataText)
        guard metadata.backupID == rootFolder else {
            throw ArchiveError.wrongBackupID(expected: rootFolder, found: metadata.backupID)
        }
        if let expectedBackupID, expectedBackupID != metadata.backupID {
            throw ArchiveError.wrongBackupID(expected: expectedBackupID, found: metadata.backupID)
        }

        try checkManifest(metadata, rootFolder: rootFolder, files: files)
        return VerifiedArchive(metadata: metadata, rootFolder: rootFolder,
                               compressedBytes: reader.compressedBytesRead,
                               uncompressedBytes: reader.uncompressedBytesRead)
    }

    /// The next entry; when the stream turns out damaged after the metadata was read (the
    /// gzip CRC is only checked at the end), a file whose digest disagrees with the metadata
    /// is the more useful error, as it names the damaged member.
    private static func nextEntry(_ reader: ArchiveReader, metadata: Data?, rootFolder: String?,
                                  files: [(path: String, size: Int64, sha256: String)]) throws -> ArchiveEntry? {
        do {
            return try reader.next()
        } catch {
            if let metadata, let rootFolder, let decoded = try? BackupMetadata.decode(metadata) {
                do {
                    try checkManifest(decoded, rootFolder: rootFolder, files: files)
                } catch let mismatch as ArchiveError {
                    switch mismatch {
                    case .checksumMismatch, .sizeMismatch: throw mismatch
                    default: break
                    }
                }
            }
            throw error
        }
    }

    /// Every listed file is present with its size and digest, and nothing else is.
    private static func checkManifest(_ metadata: BackupMetadata, rootFolder: String,
                                      files: [(path: String, size: Int64, sha256: String)]) throws {
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

    private static func decodeMetadata(_ data: Data) throws -> BackupMetadata {
        do {
            return try BackupMetadata.decode(data)
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                throw ArchiveError.invalidMetadata("not valid JSON")
            case .keyNotFound(let key, let context):
                throw ArchiveError.invalidMetadata("missing field '\(pathText(context.codingPath + [key]))'")
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                throw ArchiveError.invalidMetadata("field '\(pathText(context.codingPath))': \(context.debugDescription)")
            @unknown default:
                throw ArchiveError.invalidMetadata(String(describing: error))
            }
        } catch {
            throw ArchiveError.invalidMetadata(String(describing: error))
        }
    }

    private static func pathText(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
