import Foundation

/// What verifying one stored archive found.
public struct VerificationReport: Encodable, Sendable {
    public var key: String
    public var backupID: String?
    public var files: Int
    public var bytes: Int64
    public var compressedBytes: Int64
    public var checks: [CheckResult]
    /// The archive's backup_metadata.json once its structure and checksums passed (not encoded).
    public var metadata: BackupMetadata? = nil
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
public struct VerifyService: Sendable {
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

    /// `written` is the metadata the writer just produced (post-backup verification): the
    /// plugin's read then runs at the same time as the host's, on its own reader and core,
    /// instead of after it. Both must pass either way.
    func verify(storage: StorageInstance, key: String, expectedBackupID: String?, component: ComponentInstance?,
                written: BackupMetadata? = nil) throws -> VerificationReport {
        var report = VerificationReport(key: key, backupID: nil, files: 0, bytes: 0, compressedBytes: 0, checks: [])
        let concurrent = ConcurrentResult()
        let group = DispatchGroup()
        if let written, let component, component.canVerify {
            let secondStore = try workspace.openStorage()
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                concurrent.set { try self.pluginPass(storage: secondStore, key: key, component: component, metadata: written) }
            }
        }
        let verified: VerifiedArchive
        do {
            let reader = try storage.openReader(key: key)
            defer { reader.close() }
            verified = try ArchiveVerifier.verify(source: reader, expectedBackupID: expectedBackupID)
        } catch let error as PluginCallError {
            group.wait()
            throw error  // the store failed, not the archive
        } catch {
            group.wait()
            report.checks.append(CheckResult(source: "archive", name: "structure", status: .fail, message: "\(key): \(describe(error))"))
            return report
        }
        report.backupID = verified.metadata.backupID
        report.metadata = verified.metadata
        report.files = verified.metadata.files.count
        report.bytes = verified.metadata.totalBytes
        report.compressedBytes = verified.compressedBytes
        report.checks.append(CheckResult(
            source: "archive", name: "checksums", status: .pass,
            message: "\(report.files) files, \(report.bytes) bytes: structure complete and every SHA-256 matches backup_metadata.json"))
        group.wait()
        if written != nil {
            report.checks += try concurrent.result(key: key)
        } else if let component, component.canVerify {
            report.checks += try ConcurrentResult.capture {
                try pluginPass(storage: storage, key: key, component: component, metadata: verified.metadata)
            }.result(key: key)
        }
        return report
    }

    /// The component's own validation, reading the archive again with every checksum re-checked.
    private func pluginPass(storage: StorageInstance, key: String, component: ComponentInstance,
                            metadata: BackupMetadata) throws -> [CheckResult] {
        let reader = try storage.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader, expectedFiles: metadata.expectedFiles)
        return try component.verify(reader: archive, rootFolder: metadata.backupID,
                                    metadata: String(decoding: try metadata.encoded(), as: UTF8.self))
    }
}

/// The outcome of the plugin's verification pass, possibly computed on another thread.
private final class ConcurrentResult: @unchecked Sendable {
    // @unchecked: written once by the worker before `group.leave()`, read after `group.wait()`.
    private var outcome: Result<[CheckResult], any Error> = .success([])

    func set(_ body: () throws -> [CheckResult]) { outcome = Result { try body() } }

    static func capture(_ body: () throws -> [CheckResult]) -> ConcurrentResult {
        let result = ConcurrentResult()
        result.set(body)
        return result
    }

    /// The checks, with a damaged archive reported as a failed check rather than thrown.
    func result(key: String) throws -> [CheckResult] {
        switch outcome {
        case .success(let checks): return checks
        case .failure(let error as ArchiveError):
            return [CheckResult(source: "archive", name: "second read", status: .fail, message: "\(key): \(error)")]
        case .failure(let error): throw error
        }
    }
}

extension BackupMetadata {
    /// The files keyed by full member path, for re-hashing on a second read.
    var expectedFiles: [String: FileRecord] {
        Dictionary(files.map { ("\(backupID)/\($0.path)", $0) }, uniquingKeysWith: { first, _ in first })
    }
}
