import CCairnPlugin
import Glibc

/// Builds a Swift plugin's descriptor. The descriptor and its operation table are copied to memory
/// that is never freed: the host keeps their pointers until exit.
public enum PluginDescriptor {
    /// The descriptor's `open`: see `InstanceHandle.open`.
    public typealias Open = @convention(c) (UnsafePointer<cairn_host_api>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                            UnsafePointer<cairn_error>?) -> cairn_status
    /// The descriptor's `close`: see `InstanceHandle.close`.
    public typealias Close = @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// What `cairn_plugin_entry_v1` returns: the descriptor for a host of the ABI major version
    /// the plugin was built against (v1.0, so any v1 host has every field it uses), else nil.
    public static func offer(_ descriptor: @autoclosure () -> UnsafePointer<cairn_plugin>?,
                             toHostMajor major: UInt32) -> UnsafePointer<cairn_plugin>? {
        major == UInt32(CAIRN_ABI_MAJOR) ? descriptor() : nil
    }

    /// A component plugin's descriptor; `table`'s size and ABI version are filled in here.
    public static func component(name: String, version: String, table: cairn_component_api,
                                 open: Open, close: Close) -> UnsafePointer<cairn_plugin>? {
        guard var plugin = base(name: name, version: version, kind: CAIRN_KIND_COMPONENT, open: open, close: close) else { return nil }
        plugin.component = UnsafePointer(publish(stamped(table)))
        return UnsafePointer(publish(plugin))
    }

    /// A storage plugin's descriptor; `table`'s size and ABI version are filled in here.
    public static func storage(name: String, version: String, table: cairn_storage_api,
                               open: Open, close: Close) -> UnsafePointer<cairn_plugin>? {
        guard var plugin = base(name: name, version: version, kind: CAIRN_KIND_STORAGE, open: open, close: close) else { return nil }
        plugin.storage = UnsafePointer(publish(stamped(table)))
        return UnsafePointer(publish(plugin))
    }

    /// The fields every Swift plugin fills the same way. No capability bits: an instance is
    /// called from one thread at a time.
    private static func base(name: String, version: String, kind: cairn_plugin_kind,
                             open: Open, close: Close) -> cairn_plugin? {
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
        plugin.capabilities = 0
        plugin.open = open
        plugin.close = close
        return plugin
    }

    private static func stamped<Table: OperationTable>(_ table: Table) -> Table {
        var table = table
        table.struct_size = UInt32(MemoryLayout<Table>.size)
        table.abi_major = UInt32(CAIRN_ABI_MAJOR)
        table.abi_minor = UInt32(CAIRN_ABI_MINOR)
        return table
    }

    /// A copy of `value` that is never freed.
    private static func publish<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let copy = UnsafeMutablePointer<T>.allocate(capacity: 1)
        copy.initialize(to: value)
        return copy
    }
}

/// An operation table: like the descriptor, it starts with its size and ABI version.
private protocol OperationTable {
    var struct_size: UInt32 { get set }
    var abi_major: UInt32 { get set }
    var abi_minor: UInt32 { get set }
}

extension cairn_component_api: OperationTable {}
extension cairn_storage_api: OperationTable {}
