import CairnArchive
import CairnCore
import CairnInterfaces
import Crypto
import Foundation

/// "Is this archive good?", answered in one place. Reads a stored archive and reports typed
/// findings (ArchiveFinding); only a failure of the store itself is thrown (StoreError), because
/// then nothing is known about the archive.
public struct ArchiveCheck {
    public let store: any ObjectStore

    public init(store: any ObjectStore) { self.store = store }

    /// Structure, every file's size and SHA-256 against backup_metadata.json, and (with a
    /// component that can verify) the component's own validation on a second read.
    /// `expectedBackupID`: the metadata must name this backup.
    public func full(key: String, expectedBackupID: String? = nil, component: (any ComponentSource)? = nil) throws -> VerificationReport {
        var report = VerificationReport(key: key)
        let verified: VerifiedArchive
        do {
            let reader = try store.openReader(key: key)
            defer { reader.close() }
            verified = try ArchiveVerifier.verify(source: reader, expectedBackupID: expectedBackupID)
        } catch let error as ArchiveError {
            report.fail(ArchiveFindingKind(error), "\(key): \(error)")
            return report
        }
        report.backupID = verified.metadata.backupID
        report.metadata = verified.metadata
        report.metadataText = verified.metadataText
        report.files = verified.metadata.files.count
        report.bytes = verified.metadata.totalBytes
        report.compressedBytes = verified.compressedBytes
        report.checks.append(Self.checksumsPassed(report))
        if let component, component.traits.canVerify {
            do {
                report.add(componentChecks: try componentPass(key: key, component: component, verified: verified))
            } catch let error as ArchiveError {
                report.fail(ArchiveFindingKind(error), name: "second read", "\(key): \(error)")
            }
        }
        return report
    }

    /// A backup just written, checked against the metadata the writer produced. With a component
    /// that can verify, one read serves both: the component reads the archive through a reader
    /// that checks every file's SHA-256 against `written` (backup_metadata.json included, by the
    /// digest of what was written) while the structure rules observe the same entries; whatever
    /// the component leaves unread is drained, so the end blocks and the gzip CRC are checked too.
    public func afterBackup(key: String, written: BackupMetadata, component: any ComponentSource) throws -> VerificationReport {
        guard component.traits.canVerify else { return try full(key: key, expectedBackupID: written.backupID) }
        var report = VerificationReport(key: key)
        let text = try written.encoded()
        var expected = written.expectedFiles
        expected["\(written.backupID)/\(BackupMetadata.fileName)"] = FileRecord(
            path: BackupMetadata.fileName, size: Int64(text.count), sha256: SHA256.hash(data: text).hexString, mode: 0o644, mtime: 0)
        let source = try store.openReader(key: key)
        defer { source.close() }
        let reader = ArchiveReader(source: source, expectedFiles: expected)
        let structure = ArchiveStructureCheck()
        reader.observer = structure
        let componentChecks: [CheckResult]
        do {
            componentChecks = try component.verify(reader: reader, rootFolder: written.backupID,
                                                   metadata: String(decoding: text, as: UTF8.self))
            while try reader.next() != nil {}
            try structure.finish(written, expectedBackupID: written.backupID)
        } catch let error as ArchiveError {
            report.fail(ArchiveFindingKind(error), "\(key): \(error)")
            return report
        }
        report.backupID = written.backupID
        report.files = written.files.count
        report.bytes = written.totalBytes
        report.compressedBytes = reader.compressedBytesRead
        report.metadata = written
        report.checks = [Self.checksumsPassed(report)]
        report.add(componentChecks: componentChecks)
        return report
    }

    /// backup_metadata.json alone, without checking file checksums: what
    /// `tar -xzO --wildcards '*/backup_metadata.json'` does, with a finding that says what is wrong.
    /// The metadata is the archive's last member, so the archive is streamed through once.
    public func metadata(key: String) throws -> Result<BackupMetadata, ArchiveFinding> {
        func finding(_ kind: ArchiveFindingKind, _ message: String) -> Result<BackupMetadata, ArchiveFinding> {
            .failure(ArchiveFinding(kind: kind, check: CheckResult(source: "archive", name: "metadata", status: .fail, message: message)))
        }
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader)
        do {
            while let entry = try archive.next() {
                let isMetadata = entry.kind == .file && ArchiveStructureCheck.isMetadata(entry.path)
                guard let content = try archive.drainEntry(entry, keep: isMetadata) else { continue }
                guard (try? JSONSerialization.jsonObject(with: content)) != nil else {
                    return finding(.metadata, "\(key): \(entry.path) is not JSON")
                }
                do { return .success(try BackupMetadata.decode(content)) } catch {
                    return finding(.metadata, "\(key): \(entry.path) is JSON but not Cairn backup metadata: \(describeDecodingError(error))")
                }
            }
        } catch ArchiveError.invalidMetadata(let why) {
            return finding(.metadata, "\(key): \(why)")
        } catch let error as ArchiveError {
            return finding(.structure, "\(key): the archive cannot be read up to its backup_metadata.json: \(error)")
        }
        return finding(.metadata, "\(key): the archive has no <backup_id>/backup_metadata.json (an incomplete backup)")
    }

    private static func checksumsPassed(_ report: VerificationReport) -> CheckResult {
        CheckResult(source: "archive", name: "checksums", status: .pass,
                    message: "\(report.files) files, \(report.bytes) bytes: structure complete and every SHA-256 matches backup_metadata.json")
    }

    /// The component's own validation, reading the archive again with every checksum re-checked.
    private func componentPass(key: String, component: any ComponentSource, verified: VerifiedArchive) throws -> [CheckResult] {
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader, expectedFiles: verified.metadata.expectedFiles)
        return try component.verify(reader: archive, rootFolder: verified.metadata.backupID,
                                    metadata: verified.metadataText)
    }
}

extension BackupMetadata {
    /// The files keyed by full member path, for re-hashing on a second read.
    public var expectedFiles: [String: FileRecord] {
        Dictionary(files.map { ("\(backupID)/\($0.path)", $0) }, uniquingKeysWith: { first, _ in first })
    }
}
