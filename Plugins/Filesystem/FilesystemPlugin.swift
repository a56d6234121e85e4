import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    // Built against v1.0, so any v1 host has every field this plugin uses.
    guard major == UInt32(CAIRN_ABI_MAJOR) else { return nil }
    return pluginDescriptor
}

/// Built once, on first use (Swift initializes globals lazily and thread-safely), and never freed:
/// the host may hold these pointers until the process exits.
private nonisolated(unsafe) let pluginDescriptor: UnsafePointer<cairn_plugin>? = makeDescriptor()

private func makeDescriptor() -> UnsafePointer<cairn_plugin>? {
    let storage = UnsafeMutablePointer<cairn_storage_api>.allocate(capacity: 1)
    storage.initialize(to: StorageTable.make())

    guard var plugin = PluginDescriptor.base(name: "filesystem", version: "1.0.0", kind: CAIRN_KIND_STORAGE) else { return nil }
    plugin.capabilities = 0
    plugin.open = { host, instance, err in openStore(host, instance, err) }
    plugin.close = { instance in
        guard let instance else { return }
        Unmanaged<FilesystemStore>.fromOpaque(instance).release()
    }
    plugin.component = nil
    plugin.storage = UnsafePointer(storage)

    return PluginDescriptor.publish(plugin)
}

private func openStore(_ host: UnsafePointer<cairn_host_api>?,
                       _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                       _ err: UnsafePointer<cairn_error>?) -> cairn_status {
    PluginError.run(err) { () throws(StoreError) in
        guard let instance else { throw StoreError(CAIRN_INVALID, "open: no instance slot given") }
        instance.pointee = nil
        guard let host else { throw StoreError(CAIRN_INVALID, "open: no host services given") }
        let store = try FilesystemStore(host: host)
        instance.pointee = Unmanaged.passRetained(store).toOpaque()
    }
}
