import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    // Built against v1.0, so any v1 host has every field this plugin uses (cairn.store is asked
    // for through get_api and may be missing).
    guard major == UInt32(CAIRN_ABI_MAJOR) else { return nil }
    return pluginDescriptor
}

/// Built once, on first use, and never freed: the host may hold these pointers until exit.
private nonisolated(unsafe) let pluginDescriptor: UnsafePointer<cairn_plugin>? = makeDescriptor()

private func makeDescriptor() -> UnsafePointer<cairn_plugin>? {
    let component = UnsafeMutablePointer<cairn_component_api>.allocate(capacity: 1)
    var api = cairn_component_api()
    api.struct_size = UInt32(MemoryLayout<cairn_component_api>.size)
    api.abi_major = UInt32(CAIRN_ABI_MAJOR)
    api.abi_minor = UInt32(CAIRN_ABI_MINOR)
    api.check = { instance, report, err in
        PluginError.run(err) { () throws(WeaviateError) in try weaviate(instance).check(Report(report)) }
    }
    api.backup = { instance, request, sink, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let request, let sink, let id = request.pointee.backup_id.flatMap({ String(validatingCString: $0) }),
                  let name = request.pointee.component.flatMap({ String(validatingCString: $0) }) else {
                throw WeaviateError(CAIRN_INVALID, "backup: no request, backup id, component or sink given")
            }
            try weaviate(instance).backup(id: id, component: name, sink: Sink(pointer: sink))
        }
    }
    api.verify = { instance, source, report, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let source else { throw WeaviateError(CAIRN_INVALID, "verify: no entry source given") }
            try weaviate(instance).verify(source: EntrySource(pointer: source), report: Report(report))
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
            try weaviate(instance).restore(source: EntrySource(pointer: source), report: Report(report))
        }
    }
    component.initialize(to: api)

    guard var plugin = PluginDescriptor.base(name: "weaviate", version: "1.0.0", kind: CAIRN_KIND_COMPONENT) else { return nil }
    plugin.capabilities = 0
    plugin.open = { host, instance, err in
        PluginError.run(err) { () throws(WeaviateError) in
            guard let instance else { throw WeaviateError(CAIRN_INVALID, "open: no instance slot given") }
            instance.pointee = nil
            guard let host else { throw WeaviateError(CAIRN_INVALID, "open: no host services given") }
            let component = try WeaviateComponent(host: Host(api: host))
            instance.pointee = Unmanaged.passRetained(component).toOpaque()
        }
    }
    plugin.close = { instance in
        guard let instance else { return }
        Unmanaged<WeaviateComponent>.fromOpaque(instance).release()
    }
    plugin.component = UnsafePointer(component)
    plugin.storage = nil

    return PluginDescriptor.publish(plugin)
}

private func weaviate(_ instance: UnsafeMutableRawPointer?) throws(WeaviateError) -> WeaviateComponent {
    guard let instance else { throw WeaviateError(CAIRN_INVALID, "no Weaviate instance given") }
    return Unmanaged<WeaviateComponent>.fromOpaque(instance).takeUnretainedValue()
}
