import CCairnPlugin
import Foundation

/// A component plugin instance, with the ABI's operations as Swift methods.
public final class ComponentInstance: PluginInstance, @unchecked Sendable {
    var api: cairn_component_api { plugin.component!.pointee }  // non-nil: checked by PluginLoader

    public var canCheck: Bool { api.check != nil }
    public var canVerify: Bool { api.verify != nil }
    public var canRestore: Bool { api.restore != nil }

    /// Pre-checks; a plugin without them reports nothing.
    public func check() throws -> [CheckResult] {
        guard let check = api.check else { return [] }
        return try report("pre-check") { report, err in check(handle, report, err) }
    }

    /// Runs the backup into `writer`; returns the source facts the plugin reported.
    public func backup(id: String, environment: String, options: JSONValue, into writer: ArchiveWriter,
                       progress: (@Sendable (UInt64, UInt64, String?) -> Void)? = nil) throws -> [String: JSONValue] {
        let errors = ErrorBox()
        let sink = EntrySinkBox(writer: writer, errors: errors)
        let instanceName = label.split(separator: ":").last.map(String.init) ?? label
        try withProgress(progress) {
            try sink.withCStruct { entrySink in
                try id.withCString { idText in
                    try instanceName.withCString { component in
                        try environment.withCString { env in
                            try options.jsonText.withCString { optionsText in
                                var request = cairn_backup_request(
                                    struct_size: UInt32(MemoryLayout<cairn_backup_request>.size),
                                    backup_id: idText, component: component, environment: env, options_json: optionsText)
                                try call("backup", box: errors) { err in api.backup(handle, &request, entrySink, err) }
                            }
                        }
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
        let errors = ErrorBox()
        let source = EntrySourceBox(reader: reader, rootFolder: rootFolder, metadata: metadata, errors: errors)
        let results = ReportBox(source: label)
        try source.withCStruct { entries in
            try results.withCStruct { report in
                try call("verify", box: errors) { err in verify(handle, entries, report, err) }
            }
        }
        return results.results
    }

    public func restore(backupID: String, target: String, options: JSONValue, reader: ArchiveReader,
                        rootFolder: String, metadata: String) throws -> [CheckResult] {
        guard let restore = api.restore else {
            throw CairnError.usage("\(label): the \(plugin.name) plugin cannot restore (it does not implement restore)")
        }
        let errors = ErrorBox()
        let source = EntrySourceBox(reader: reader, rootFolder: rootFolder, metadata: metadata, errors: errors)
        let results = ReportBox(source: label)
        try source.withCStruct { entries in
            try results.withCStruct { report in
                try backupID.withCString { id in
                    try target.withCString { targetText in
                        try options.jsonText.withCString { optionsText in
                            var request = cairn_restore_request(
                                struct_size: UInt32(MemoryLayout<cairn_restore_request>.size),
                                backup_id: id, target: targetText, options_json: optionsText)
                            try call("restore", box: errors) { err in restore(handle, &request, entries, report, err) }
                        }
                    }
                }
            }
        }
        return results.results
    }
}
