import CCairnPlugin
import Glibc

/// The descriptor fields every Swift plugin fills the same way.
public enum PluginDescriptor {
    /// A descriptor with size, ABI version, pointer size, name, version, kind and the toolchain
    /// stamp set; the caller adds `open`, `close` and its operation table, then `publish`es it.
    public static func base(name: String, version: String, kind: cairn_plugin_kind) -> cairn_plugin? {
        guard let name = strdup(name), let version = strdup(version) else { return nil }
        var plugin = cairn_plugin()
        plugin.struct_size = UInt32(MemoryLayout<cairn_plugin>.size)
        plugin.abi_major = UInt32(CAIRN_ABI_MAJOR)
        plugin.abi_minor = UInt32(CAIRN_ABI_MINOR)
        plugin.pointer_size = UInt32(MemoryLayout<UnsafeRawPointer>.size)
        plugin.name = UnsafePointer(name)
        plugin.version = UnsafePointer(version)
        plugin.kind = kind
        // Stamps the compiler that built the plugin: Swift has no stable ABI on Linux, so the host
        // refuses a plugin built by another toolchain.
        plugin.toolchain = cairn_swift_toolchain()
        return plugin
    }

    /// Copies the descriptor to memory that is never freed: the host keeps its pointers until exit.
    public static func publish(_ plugin: cairn_plugin) -> UnsafePointer<cairn_plugin> {
        let descriptor = UnsafeMutablePointer<cairn_plugin>.allocate(capacity: 1)
        descriptor.initialize(to: plugin)
        return UnsafePointer(descriptor)
    }
}
