import CairnArchive
import CairnCore
import CairnInterfaces
import Foundation

/// A component source that backs up the files it is given, in memory: the scripted twin of the
/// component plugins, for tests of the operations and the engine without loading any library.
/// Its verification checks that every file came back with the same bytes; its restore writes them
/// into the target folder (a drill reports the `files` fact). Failures can be scripted.
public final class ScriptedComponent: ComponentSource, @unchecked Sendable {
    public var label: String
    public var traits: ComponentTraits
    /// Path (relative to the backup folder) to content.
    public var files: [String: Data]
    /// Thrown by the next backup (after writing half of its entries), then cleared.
    public var backupFailure: (any Error)?
    /// Reported by `check` and `verify` as failed checks.
    public var checkFailure: String?
    public var verifyFailure: String?
    /// What `restore` wrote last.
    public private(set) var restored: [String: Data] = [:]
    public private(set) var backups = 0

    public init(name: String = "scripted", files: [String: Data] = ["data/a.txt": Data("alpha\n".utf8), "b.bin": Data([0, 1, 2, 255])],
                drill: Bool = false) {
        label = "scripted:\(name)"
        self.files = files
        traits = ComponentTraits(plugin: "scripted", version: "1.0.0", canVerify: true, canRestore: true,
                                 drill: drill ? DrillContract(fact: "files", field: "count", noun: "file counts") : nil)
    }

    public func check() throws -> [CheckResult] {
        [CheckResult(source: label, name: "ready", status: checkFailure == nil ? .pass : .fail, message: checkFailure ?? "ready")]
    }

    public func backup(id: String, environment: String, options: JSONValue, into writer: ArchiveWriter,
                       progress: (@Sendable (UInt64, UInt64, String?) -> Void)?) throws -> [String: JSONValue] {
        backups += 1
        for (index, (path, data)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            if index == files.count / 2, let failure = backupFailure {
                backupFailure = nil
                throw failure
            }
            try writer.begin(ArchiveEntry(path: path, kind: .file, mode: 0o644, mtime: 1_700_000_000, size: Int64(data.count)))
            try data.withUnsafeBytes { try writer.write($0) }
            try writer.end()
        }
        return ["files": .object(["all": .object(["count": .number(Double(files.count))])])]
    }

    public func verify(reader: ArchiveReader, rootFolder: String, metadata: String) throws -> [CheckResult] {
        let found = try Self.read(reader, rootFolder: rootFolder)
        let same = found == files && verifyFailure == nil
        return [CheckResult(source: label, name: "files", status: same ? .pass : .fail,
                            message: verifyFailure ?? (same ? "\(found.count) files as backed up" : "the files differ from what was backed up"))]
    }

    public func restore(backupID: String, target: String, options: JSONValue, reader: ArchiveReader,
                        rootFolder: String, metadata: String) throws -> [CheckResult] {
        restored = try Self.read(reader, rootFolder: rootFolder)
        if options["drill"] == .bool(true) {
            return [CheckResult(source: label, name: "drill", status: .pass, message: "loaded \(restored.count) files",
                                detail: .object(["files": .object(["all": .object(["count": .number(Double(restored.count))])])]))]
        }
        for (path, data) in restored {
            let url = URL(fileURLWithPath: target).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        return [CheckResult(source: label, name: "restored", status: .pass, message: "\(restored.count) files into \(target)")]
    }

    static func read(_ reader: ArchiveReader, rootFolder: String) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while let entry = try reader.next() {
            var data = Data()
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                data.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.prefix(n)))
            }
            let prefix = rootFolder + "/"
            guard entry.kind == .file, entry.path.hasPrefix(prefix) else { continue }
            let relative = String(entry.path.dropFirst(prefix.count))
            if relative != BackupMetadata.fileName { found[relative] = data }
        }
        return found
    }
}
