import Foundation

/// What verifying one stored archive found.
public struct VerificationReport: Encodable, Sendable {
    public var key: String
    public var backupID: String?
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    public var checks: [CheckResult]
    public var ok: Bool { checks.failures.isEmpty }

    enum CodingKeys: String, CodingKey {
        case key, files, bytes, checks, ok
        case backupID = "backup_id", compressedBytes = "compressed_bytes"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key); try c.encode(backupID, forKey: .backupID); try c.encode(files, forKey: .files)
        try c.encode(bytes, forKey: .bytes); try c.encode(compressedBytes, forKey: .compressedBytes)
        try c.encode(checks, forKey: .checks); try c.encode(ok, forKey: .ok)
    }
}

/// Reads a stored archive back: structure and every checksum first (the host's own pass), then
/// the component's validation of its files (a second pass, re-hashed against the metadata).
public struct VerifyService {
    public let workspace: Workspace
    public init(workspace: Workspace) { self.workspace = workspace }

    public func verify(component name: String, selector: BackupSelector) throws -> VerificationReport {
        let resolved = try workspace.resolveComponent(name)
        let layout = StorageLayout(component: name, environment: workspace.environmentName)
        let storage = try workspace.openStorage()
        let component = try workspace.openComponent(resolved)
        let key = selector.key(in: layout)
        guard try storage.stat(key: key) != nil else {
            throw CairnError.failure("no backup at \(key) in \(workspace.storeDescription()) (see cairn list \(name))")
        }
        return try verify(storage: storage, key: key, expectedBackupID: selector.expectedID, component: component)
    }

    func verify(storage: StorageInstance, key: String, expectedBackupID: String?, component: ComponentInstance?) throws -> VerificationReport {
        var report = VerificationReport(key: key, backupID: nil, files: 0, bytes: 0, compressedBytes: 0, checks: [])
        let verified: VerifiedArchive
        do {
            let reader = try storage.openReader(key: key)
            defer { reader.close() }
            verified = try ArchiveVerifier.verify(source: reader, expectedBackupID: expectedBackupID)
        } catch let error as PluginCallError {
            throw error  // the store failed, not the archive
        } catch {
            report.checks.append(CheckResult(source: "archive", name: "structure", status: .fail, message: "\(key): \(describe(error))"))
            return report
        }
        report.backupID = verified.metadata.backupID
        report.files = verified.metadata.files.count
        report.bytes = verified.metadata.totalBytes
        report.compressedBytes = verified.compressedBytes
        report.checks.append(CheckResult(
            source: "archive", name: "checksums", status: .pass,
            message: "\(report.files) files, \(report.bytes) bytes: structure complete and every SHA-256 matches backup_metadata.json"))
        if let component, component.canVerify {
            let reader = try storage.openReader(key: key)
            defer { reader.close() }
            let archive = ArchiveReader(source: reader, expectedFiles: verified.expectedFiles)
            do {
                report.checks += try component.verify(reader: archive, rootFolder: verified.rootFolder,
                                                      metadata: try String(decoding: verified.metadata.encoded(), as: UTF8.self))
            } catch let error as ArchiveError {
                report.checks.append(CheckResult(source: "archive", name: "second read", status: .fail, message: "\(key): \(error)"))
            }
        }
        return report
    }
}

extension VerifiedArchive {
    /// The metadata's files keyed by full member path, for re-hashing on a second read.
    var expectedFiles: [String: FileRecord] {
        Dictionary(metadata.files.map { ("\(rootFolder)/\($0.path)", $0) }, uniquingKeysWith: { first, _ in first })
    }
}
