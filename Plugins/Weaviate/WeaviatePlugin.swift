import CCairnPlugin
import CairnPluginSupport

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process. The cairn.store table is asked for
/// through get_api and may be missing.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    PluginDescriptor.offer(pluginDescriptor, toHostMajor: major)
}

/// Built once, on first use, and never freed: the host may hold these pointers until exit.
private nonisolated(unsafe) let pluginDescriptor = PluginDescriptor.component(
    name: "weaviate", version: "1.0.0", table: componentTable(),
    open: { host, instance, err in
        InstanceHandle.open(host, instance, err) { host throws(WeaviateError) in try WeaviateComponent(host: host) }
    },
    close: { InstanceHandle.close($0, as: WeaviateComponent.self) })

/// The `cairn_component_api` table: each entry finds the component behind the instance handle and
/// turns a thrown error into a status and a message.
private func componentTable() -> cairn_component_api {
    var api = cairn_component_api()
    api.check = { instance, report, err in
        PluginError.run(err) { () throws(WeaviateError) in try weaviate(instance).check(CheckReport(report)) }
    }
    api.backup = { instance, request, sink, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let request, let sink, let id = request.pointee.backup_id.flatMap({ String(validatingCString: $0) }),
                  let name = request.pointee.component.flatMap({ String(validatingCString: $0) }) else {
                throw WeaviateError(CAIRN_INVALID, "backup: no request, backup id, component or sink given")
            }
            try weaviate(instance).backup(id: id, component: name, sink: EntrySink(sink))
        }
    }
    api.verify = { instance, source, report, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let source else { throw WeaviateError(CAIRN_INVALID, "verify: no entry source given") }
            try weaviate(instance).verify(source: EntrySource(source), report: CheckReport(report))
        }
    }
    api.restore = { instance, request, source, report, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let request, let source else { throw WeaviateError(CAIRN_INVALID, "restore: no request or entry source given") }
            // Weaviate restores into itself: the target is the configured server, not a folder,
            // and a drill would need a throwaway Weaviate Cairn cannot start.
            let options = request.pointee.options_json.flatMap { String(validatingCString: $0) } ?? "{}"
            let target = request.pointee.target.flatMap { String(validatingCString: $0) } ?? ""
            if JSON.parse(options)?["drill"] == .bool(true) {
                throw WeaviateError(CAIRN_UNSUPPORTED, "Weaviate has no drill mode: to rehearse a restore, point url (WEAVIATE_URL) at a spare Weaviate with the same node names and run cairn restore weaviate")
            }
            guard target.isEmpty else {
                throw WeaviateError(CAIRN_INVALID, "Weaviate restores into the server at its url, not into a folder: leave out --target (\(target))")
            }
            try weaviate(instance).restore(source: EntrySource(source), report: CheckReport(report))
        }
    }
    return api
}

private func weaviate(_ instance: UnsafeMutableRawPointer?) throws(WeaviateError) -> WeaviateComponent {
    try InstanceHandle.object(instance, as: WeaviateComponent.self, what: "Weaviate")
}
