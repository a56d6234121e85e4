import CairnArchive
import CairnCore
import CairnInterfaces
import CCairnPlugin
import Foundation

/// A component plugin instance as a `ComponentSource`: the ABI's operations as Swift methods.
public final class PluginComponent: PluginInstance, ComponentSource, @unchecked Sendable {
    var api: cairn_component_api { componentTable!.pointee }  // non-nil: checked by PluginLoader

    public var traits: ComponentTraits { Self.traits(of: plugin) }

    /// What the descriptor implements, and what the manifest promises beyond it; no instance needed.
    public static func traits(of plugin: LoadedPlugin) -> ComponentTraits {
        let api = plugin.component?.pointee
        return ComponentTraits(plugin: plugin.name, version: plugin.version, canVerify: api?.verify != nil,
                               canRestore: api?.restore != nil,
                               restoresInPlace: plugin.manifest.capabilities?.contains(PluginManifest.restoreInPlace) ?? false,
                               drill: plugin.manifest.drill)
    }

    /// Opens the configured store for the plugin's "cairn.store" host table (cairn_plugin.h); nil:
    /// the plugin gets no store.
    public var storeProvider: (() throws -> any ObjectStore)? {
        get { context.storeProvider }
        set { context.storeProvider = newValue }
    }

    /// Pre-checks; a plugin without them reports nothing.
    public func check() throws -> [CheckResult] {
        guard let check = api.check else { return [] }
        return try report("pre-check") { report, err in check(handle, report, err) }
    }

    /// Runs the backup into `writer`; returns the source facts the plugin reported.
    public func backup(id: String, environment: String, options: JSONValue, into writer: ArchiveWriter,
                       progress: (@Sendable (UInt64, UInt64, String?) -> Void)?) throws -> [String: JSONValue] {
        let errors = ErrorBox()
        let sink = EntrySinkBox(writer: writer, errors: errors)
        try withProgress(progress) {
            try sink.withCStruct { entrySink in
                try withCStrings([id, instanceName, environment, options.jsonText]) { text in
                    var request = cairn_backup_request(
                        struct_size: UInt32(MemoryLayout<cairn_backup_request>.size),
                        backup_id: text[0], component: text[1], environment: text[2], options_json: text[3])
                    do {
                        try call("backup", box: errors) { err in api.backup(handle, &request, entrySink, err) }
                    } catch let error as CairnError where workerFailure != nil {
                        // A failed backup is never published: say so with the crash, in one line.
                        throw CairnError(error.kind, "\(error.message); \(StorageLayout.latestName) unchanged")
                    }
                }
            }
        }
        if sink.entryOpen {
            throw CairnError.failure("\(label): backup returned success with entry '\(sink.currentPath)' still open (missing end())")
        }
        return sink.facts
    }

    /// The plugin's own validation of a stored backup (beyond the host's checksums).
    public func verify(reader: ArchiveReader, rootFolder: String, metadata: String) throws -> [CheckResult] {
        guard let verify = api.verify else { return [] }
        return try readStoredBackup("verify", reader: reader, rootFolder: rootFolder, metadata: metadata) { entries, report, err in
            verify(handle, entries, report, err)
        }
    }

    public func restore(backupID: String, target: String, options: JSONValue, reader: ArchiveReader,
                        rootFolder: String, metadata: String) throws -> [CheckResult] {
        guard let restore = api.restore else {
            throw CairnError.usage("\(label): the \(plugin.name) plugin cannot restore (it does not implement restore)")
        }
        return try withCStrings([backupID, target, options.jsonText]) { text in
            var request = cairn_restore_request(
                struct_size: UInt32(MemoryLayout<cairn_restore_request>.size),
                backup_id: text[0], target: text[1], options_json: text[2])
            return try readStoredBackup("restore", reader: reader, rootFolder: rootFolder, metadata: metadata) { entries, report, err in
                restore(handle, &request, entries, report, err)
            }
        }
    }

    /// Runs an operation that reads a stored backup's entries and reports checks.
    private func readStoredBackup(
        _ operation: String, reader: ArchiveReader, rootFolder: String, metadata: String,
        _ body: (UnsafePointer<cairn_entry_source>, UnsafePointer<cairn_report>, UnsafePointer<cairn_error>) -> cairn_status
    ) throws -> [CheckResult] {
        let errors = ErrorBox()
        let source = EntrySourceBox(reader: reader, rootFolder: rootFolder, metadata: metadata, errors: errors,
                                    cancellation: context.cancellation)
        let results = ReportBox(source: label)
        try source.withCStruct { entries in
            try results.withCStruct { report in
                try call(operation, box: errors) { err in body(entries, report, err) }
            }
        }
        return results.results
    }
}

/// Passes Swift strings to C as NUL-terminated pointers valid for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>]) throws -> R) rethrows -> R {
    func nest(_ index: Int, _ pointers: [UnsafePointer<CChar>]) throws -> R {
        guard index < strings.count else { return try body(pointers) }
        return try strings[index].withCString { try nest(index + 1, pointers + [$0]) }
    }
    return try nest(0, [])
}
