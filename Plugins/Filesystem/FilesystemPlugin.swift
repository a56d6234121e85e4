import CCairnPlugin
import CairnPluginSupport

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    PluginDescriptor.offer(pluginDescriptor, toHostMajor: major)
}

/// Built once, on first use (Swift initializes globals lazily and thread-safely), and never freed:
/// the host may hold these pointers until the process exits.
private nonisolated(unsafe) let pluginDescriptor = PluginDescriptor.storage(
    name: "filesystem", version: "1.0.0", table: StorageTable.make(),
    open: { host, instance, err in
        InstanceHandle.open(host, instance, err) { host throws(FilesystemError) in try FilesystemStore(host: host) }
    },
    close: { InstanceHandle.close($0, as: FilesystemStore.self) })
