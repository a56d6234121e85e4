import CairnCore
import Foundation

/// Proves an archive is a complete, intact backup before anyone relies on it.
public enum ArchiveVerifier {
    /// backup_metadata.json is read into memory; beyond this it is not ours.
    public static let maxMetadataSize = 64 << 20

    /// Reads the whole archive once: exactly one top-level folder; every member inside it;
    /// safe names (ArchivePath) and headers GNU tar reads the same way (MemberHeaders);
    /// backup_metadata.json is the last member, valid JSON of BackupMetadata, whose
    /// backup_id equals the folder name (and expectedBackupID when given); every file listed
    /// in metadata.files is present with the same size and SHA-256, no file is present that is
    /// not listed; the gzip stream and tar structure are complete (a truncated archive is an
    /// error, not a short listing); trailing garbage after the end blocks is an error.
    public static func verify(source: ByteSource, expectedBackupID: String? = nil) throws -> VerifiedArchive {
        let reader = ArchiveReader(source: source)
        let check = ArchiveStructureCheck()
        reader.observer = check
        var metadataText: Data?
        while let entry = try nextEntry(reader, metadata: metadataText, check: check) {
            guard entry.kind == .file else { continue }
            if let content = try reader.drainEntry(entry, keep: ArchiveStructureCheck.isMetadata(entry.path)) { metadataText = content }
        }

        guard let metadataText, let rootFolder = check.rootFolder else { throw ArchiveError.missingMetadata }
        let metadata = try decodeMetadata(metadataText)
        try check.finish(metadata, expectedBackupID: expectedBackupID)
        return VerifiedArchive(metadata: metadata, metadataText: String(decoding: metadataText, as: UTF8.self), rootFolder: rootFolder,
                               compressedBytes: reader.compressedBytesRead,
                               uncompressedBytes: reader.uncompressedBytesRead)
    }

    /// The next entry; when the stream turns out damaged after the metadata was read (the
    /// gzip CRC is only checked at the end), a file whose digest disagrees with the metadata
    /// is the more useful error, as it names the damaged member.
    private static func nextEntry(_ reader: ArchiveReader, metadata: Data?, check: ArchiveStructureCheck) throws -> ArchiveEntry? {
        do {
            return try reader.next()
        } catch {
            if let metadata, let decoded = try? BackupMetadata.decode(metadata) {
                do {
                    try check.checkManifest(decoded)
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
