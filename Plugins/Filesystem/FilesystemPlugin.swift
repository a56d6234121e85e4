import CCairnPlugin
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
    guard let name = strdup("filesystem"), let version = strdup("1.0.0") else { return nil }
    let storage = UnsafeMutablePointer<cairn_storage_api>.allocate(capacity: 1)
    storage.initialize(to: StorageTable.make())

    var plugin = cairn_plugin()
    plugin.struct_size = UInt32(MemoryLayout<cairn_plugin>.size)
    plugin.abi_major = UInt32(CAIRN_ABI_MAJOR)
    plugin.abi_minor = UInt32(CAIRN_ABI_MINOR)
    plugin.pointer_size = UInt32(MemoryLayout<UnsafeRawPointer>.size)
    plugin.name = UnsafePointer(name)
    plugin.version = UnsafePointer(version)
    plugin.kind = CAIRN_KIND_STORAGE
    // Stamps the compiler that built this plugin: Swift has no stable ABI on Linux.
    plugin.toolchain = cairn_swift_toolchain()
    plugin.capabilities = 0
    plugin.open = { host, instance, err in openStore(host, instance, err) }
    plugin.close = { instance in
        guard let instance else { return }
        Unmanaged<FilesystemStore>.fromOpaque(instance).release()
    }
    plugin.component = nil
    plugin.storage = UnsafePointer(storage)

    let descriptor = UnsafeMutablePointer<cairn_plugin>.allocate(capacity: 1)
    descriptor.initialize(to: plugin)
    return UnsafePointer(descriptor)
}

private func openStore(_ host: UnsafePointer<cairn_host_api>?,
                       _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                       _ err: UnsafePointer<cairn_error>?) -> cairn_status {
    StorageTable.run(err) { () throws(StoreError) in
        guard let instance else { throw StoreError(CAIRN_INVALID, "open: no instance slot given") }
        instance.pointee = nil
        guard let host else { throw StoreError(CAIRN_INVALID, "open: no host services given") }
        let store = try FilesystemStore(host: host)
        instance.pointee = Unmanaged.passRetained(store).toOpaque()
    }
}
