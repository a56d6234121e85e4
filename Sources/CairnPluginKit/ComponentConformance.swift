import CairnArchive
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPluginHost
import Foundation
import Logging

/// What every component plugin must do, run against any component by `cairn plugins test`: back up
/// into a store and read the archive back with the host's checks and the plugin's verify; let a
/// flipped byte through neither; restore into a folder that does not exist yet; stop within a
/// bound once cancelled; say why whenever it fails; call host services only during a call.
public struct ComponentConformance {
    public let plugin: LoadedPlugin
    public let settings: PluginSettings
    public let scratch: URL
    public let logger: Logger
    /// How long a cancelled backup may take to return.
    public var cancelBound: Double = 10
    /// How the instances run; nil: the plugin's default (a worker for plugins not shipped with Cairn).
    public var isolation: PluginIsolation?

    static let backupID = "conformance_20260101_000000"
    private let store = MemoryStore(label: "conformance")
    private var key: String { "conformance/test/\(Self.backupID).tar.gz" }

    public init(plugin: LoadedPlugin, settings: PluginSettings, scratch: URL, logger: Logger) {
        self.plugin = plugin; self.settings = settings; self.scratch = scratch; self.logger = logger
    }

    func open(_ cancellation: Cancellation = Cancellation()) throws -> PluginComponent {
        let component = try PluginComponent(plugin: plugin, instanceName: plugin.name, settings: settings, logger: logger,
                                            cancellation: cancellation, tempDirectory: scratch.path, isolation: isolation)
        component.storeProvider = { [store] in store }
        opened.append(component)
        return component
    }

    private final class Opened: @unchecked Sendable {
        var all: [PluginComponent] = []
        /// Still inside a call that did not return in time: never closed under it.
        var running: Set<ObjectIdentifier> = []
    }
    private let openedBox = Opened()
    private var opened: [PluginComponent] {
        get { openedBox.all }
        nonmutating set { openedBox.all = newValue }
    }

    /// Every case, in order; a case whose ground the previous ones did not lay is skipped.
    public func run() -> [ConformanceResult] {
        var results: [ConformanceResult] = []
        let component: PluginComponent
        do { component = try open() } catch {
            return [ConformanceResult("opens with the given settings", .fail, describe(error))]
        }
        results.append(ConformanceResult("opens with the given settings", .pass))
        results.append(check(component))
        let (backup, metadata) = backUp(component)
        results.append(backup)
        guard let metadata else {
            return results + ["verify catches a flipped byte", "restores into a folder that does not exist yet",
                              "a restore that cannot write fails with a message"].map {
                ConformanceResult($0, .skip, "no backup to work with")
            } + [cancellation(), threadingRule()]
        }
        results.append(flippedByte(component, metadata))
        results.append(restoreFresh(component, metadata))
        results.append(restoreFailure(component, metadata))
        results.append(cancellation())
        results.append(threadingRule())
        return results
    }

    private func check(_ component: PluginComponent) -> ConformanceResult {
        var count = 0
        return ConformanceResult.run("pre-checks report named results with messages", {
            let results = try component.check()
            count = results.count
            for result in results {
                try conform(!result.name.isEmpty && !result.message.isEmpty, "check '\(result.name)' has no name or no message")
            }
            return results.failures.isEmpty ? .pass : .warn
        }, detail: { count == 0 ? "no pre-checks (optional)" : "\(count) check(s)" })
    }

    private func backUp(_ component: PluginComponent) -> (ConformanceResult, BackupMetadata?) {
        var metadata: BackupMetadata?
        let result = ConformanceResult.run("backs up into a store, and the archive reads back and verifies", {
            let object = try store.openWriter(key: key)
            let archive = try ArchiveWriter(sink: object, rootFolder: Self.backupID)
            do {
                let facts = try component.backup(id: Self.backupID, environment: "test", options: .object([:]), into: archive, progress: nil)
                let written = BackupMetadata(backupID: Self.backupID, component: "conformance", plugin: plugin.name,
                                             pluginVersion: plugin.version, environment: "test", startedAt: Date(), finishedAt: Date(),
                                             toolVersion: "conformance", source: facts, files: archive.files)
                try archive.finish(metadata: try written.encoded())
                try object.commit()
                metadata = written
            } catch {
                archive.abandon()
                object.abort()
                throw error
            }
            let report = try ArchiveCheck(store: store).full(key: key, expectedBackupID: Self.backupID, component: component)
            try conform(report.ok, "the backup does not verify: " + report.checks.failures.map { "\($0.source) \($0.name): \($0.message)" }.joined(separator: "; "))
            return (metadata?.files.isEmpty ?? true) ? .warn : .pass
        }, detail: {
            guard let metadata else { return "" }
            return metadata.files.isEmpty ? "the backup holds no file; give settings that point at some data"
                : "\(metadata.files.count) file(s), \(metadata.totalBytes) bytes, \(metadata.source.count) fact(s)"
        })
        return (result, metadata)
    }

    /// The archive with one byte of its largest file flipped, recompressed so that only that
    /// file's SHA-256 tells: what a bit flip in a stored backup looks like to verify.
    private func tampered(_ metadata: BackupMetadata) throws -> (Data, String)? {
        guard let victim = metadata.files.filter({ $0.size > 0 }).max(by: { $0.size < $1.size }) else { return nil }
        let original = try StoreConformance.read(store, key)
        let reader = ArchiveReader(source: DataByteSource(original))
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: Self.backupID)
        let prefix = Self.backupID + "/"
        var metadataText = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while let entry = try reader.next() {
            guard entry.path.hasPrefix(prefix), entry.path.count > prefix.count else { continue }
            let relative = String(entry.path.dropFirst(prefix.count))
            var data = Data()
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                data.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.prefix(n)))
            }
            if relative == BackupMetadata.fileName { metadataText = data; continue }
            if relative == victim.path { data[data.startIndex + data.count / 2] ^= 0x01 }
            try writer.begin(ArchiveEntry(path: relative, kind: entry.kind, mode: entry.mode, mtime: entry.mtime,
                                          size: entry.kind == .directory ? nil : Int64(data.count)))
            if !data.isEmpty { try data.withUnsafeBytes { try writer.write($0) } }
            try writer.end()
        }
        try writer.finish(metadata: metadataText)
        return (sink.data, victim.path)
    }

    private func flippedByte(_ component: PluginComponent, _ metadata: BackupMetadata) -> ConformanceResult {
        guard component.traits.canVerify else {
            return ConformanceResult("verify catches a flipped byte", .skip, "the plugin has no verify (optional): the host's checksums alone guard its backups")
        }
        var victim = ""
        return ConformanceResult.run("verify catches a flipped byte", {
            guard let (archive, path) = try tampered(metadata) else { throw StoreConformance.Skipped("the backup holds no file with data") }
            victim = path
            let reader = ArchiveReader(source: DataByteSource(archive), expectedFiles: metadata.expectedFiles)
            let checks: [CheckResult]
            do {
                checks = try component.verify(reader: reader, rootFolder: Self.backupID, metadata: String(decoding: try metadata.encoded(), as: UTF8.self))
            } catch {
                return .pass  // the host's re-hash stopped the read, and the plugin passed the status on
            }
            try conform(!checks.failures.isEmpty, "verify passed a backup whose file '\(path)' has a flipped byte: it must read the entries and return the status source->next/read give")
            return .pass
        }, detail: { victim.isEmpty ? "" : "a byte of '\(victim)' flipped" })
    }

    private func restore(_ component: PluginComponent, _ metadata: BackupMetadata, into target: URL) throws -> [CheckResult] {
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        return try component.restore(backupID: Self.backupID, target: target.path, options: .object([:]),
                                     reader: ArchiveReader(source: reader, expectedFiles: metadata.expectedFiles),
                                     rootFolder: Self.backupID, metadata: String(decoding: try metadata.encoded(), as: UTF8.self))
    }

    private func restoreFresh(_ component: PluginComponent, _ metadata: BackupMetadata) -> ConformanceResult {
        guard component.traits.canRestore else {
            return ConformanceResult("restores into a folder that does not exist yet", .skip, "the plugin does not restore (optional)")
        }
        if component.traits.restoresInPlace {
            return ConformanceResult("restores into a folder that does not exist yet", .skip, "the plugin restores into its own source (restore-in-place)")
        }
        let target = scratch.appendingPathComponent("restore/fresh/target")
        var written = 0
        return ConformanceResult.run("restores into a folder that does not exist yet", {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let checks = try restore(component, metadata, into: target)
            try conform(checks.failures.isEmpty, "the restore reported failed checks: \(checks.failures.described)")
            var isFolder: ObjCBool = false
            try conform(FileManager.default.fileExists(atPath: target.path, isDirectory: &isFolder) && isFolder.boolValue,
                        "the restore succeeded but '\(target.path)' is not a folder: a plugin creates a target that does not exist")
            written = (FileManager.default.enumerator(atPath: target.path)?.allObjects.count) ?? 0
            return nil
        }, detail: { "\(written) item(s) written into a new folder" })
    }

    private func restoreFailure(_ component: PluginComponent, _ metadata: BackupMetadata) -> ConformanceResult {
        guard component.traits.canRestore, !component.traits.restoresInPlace else {
            return ConformanceResult("a restore that cannot write fails with a message", .skip, "the plugin does not restore into folders")
        }
        return ConformanceResult.run("a restore that cannot write fails with a message", {
            // A regular file where a parent folder should be: nothing can be created below it.
            let blocker = scratch.appendingPathComponent("restore/blocker")
            try Data("not a folder".utf8).write(to: blocker)
            do {
                let checks = try restore(component, metadata, into: blocker.appendingPathComponent("target"))
                try conform(!checks.failures.isEmpty, "a restore below a regular file succeeded")
            } catch let error as PluginCallError {
                try conform(error.message != PluginCallError.noReason, "\(error.operation) failed without a message: call err->set (cairn_fail) before returning an error")
            }
            return nil
        })
    }

    private func cancellation() -> ConformanceResult {
        let name = "a cancelled backup stops within \(Int(cancelBound)) s"
        let cancellation = Cancellation()
        let component: PluginComponent
        do { component = try open(cancellation) } catch { return ConformanceResult(name, .fail, describe(error)) }
        cancellation.cancel()
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let started = Date()
        let thread = Thread { [store] in
            let object = try? store.openWriter(key: "conformance/test/cancelled.tar.gz")
            let sink: any ByteSink = object ?? DataByteSink()
            do {
                // An id of its own: sources such as Weaviate keep every id they were asked for.
                let id = "conformance_20260101_000001"
                let archive = try ArchiveWriter(sink: sink, rootFolder: id)
                _ = try component.backup(id: id, environment: "test", options: .object([:]), into: archive, progress: nil)
                archive.abandon()
                outcome.set(nil)
            } catch {
                outcome.set(error)
            }
            object?.abort()
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        guard done.wait(timeout: .now() + cancelBound) == .success else {
            openedBox.running.insert(ObjectIdentifier(component))
            return ConformanceResult(name, .fail, "backup was still running \(Int(cancelBound)) s after the run was cancelled: poll host->is_cancelled between chunks, and register host->set_interrupt where it blocks")
        }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        switch outcome.error {
        case nil:
            return ConformanceResult(name, .warn, "backup completed in \(seconds) s although the run was cancelled before it began: fine for a source this small, but poll host->is_cancelled between chunks")
        case let error as PluginCallError where error.status == PluginCallError.cancelled:
            if error.message == PluginCallError.noReason {
                return ConformanceResult(name, .fail, "backup returned CAIRN_CANCELLED without a message")
            }
            return ConformanceResult(name, .pass, "returned CAIRN_CANCELLED in \(seconds) s: \(error.message)")
        case let error as PluginCallError:
            if error.message == PluginCallError.noReason {
                return ConformanceResult(name, .fail, "backup failed without a message")
            }
            return ConformanceResult(name, .warn, "a cancelled backup failed as '\(error.description)'; return CAIRN_CANCELLED")
        case let error?:
            return ConformanceResult(name, .pass, "stopped in \(seconds) s: \(describe(error))")
        }
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (any Error)?
        func set(_ error: (any Error)?) { lock.withLock { value = error } }
        var error: (any Error)? { lock.withLock { value } }
    }

    /// Host services called after the call that allowed them returned (a thread left running).
    private func threadingRule() -> ConformanceResult {
        Thread.sleep(forTimeInterval: 0.3)  // time for a stray thread to show itself
        let strays = opened.flatMap(\.strayServiceCalls)
        let inWorker = opened.contains { $0.isolation.mode == .process }
        opened.filter { !openedBox.running.contains(ObjectIdentifier($0)) }.forEach { $0.close() }
        // In a worker, a stray call waits on the channel until the next call and then looks like
        // part of it: only an instance inside cairn shows one.
        if inWorker && strays.isEmpty {
            return ConformanceResult("host services only during a call", .skip,
                                     "not seen from a worker process; run with --isolation in-process to check it")
        }
        guard strays.isEmpty else {
            let names = Array(Set(strays)).sorted().joined(separator: ", ")
            return ConformanceResult("host services only during a call", .fail,
                                     "\(strays.count) call(s) of \(names) after the operation returned: join the plugin's threads before returning (cairn_plugin.h, THREADING)")
        }
        return ConformanceResult("host services only during a call", .pass)
    }
}
