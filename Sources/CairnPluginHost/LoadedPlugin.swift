import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import CairnPluginIPC
import Foundation

/// A plugin library that passed validation. It stays loaded for the life of the process.
public final class LoadedPlugin: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init, and the descriptor is constant
    // plugin-owned memory (cairn_plugin.h: valid and unchanged for the life of the process).
    public let manifest: PluginManifest
    public let libraryURL: URL
    let handle: UnsafeMutableRawPointer
    let descriptor: UnsafePointer<cairn_plugin>
    /// Where discovery found it ("bundled", "plugin_dirs", ...): decides the default isolation.
    public let origin: String
    /// The plugin's tables with every function forwarding to a worker process (isolation: process).
    let workerComponent: UnsafePointer<cairn_component_api>?
    let workerStorage: UnsafePointer<cairn_storage_api>?

    init(manifest: PluginManifest, libraryURL: URL, handle: UnsafeMutableRawPointer, descriptor: UnsafePointer<cairn_plugin>,
         origin: String) {
        self.manifest = manifest; self.libraryURL = libraryURL; self.handle = handle; self.descriptor = descriptor
        self.origin = origin
        workerComponent = descriptor.pointee.component.map { cairn_proxy_component_table($0) }
        workerStorage = descriptor.pointee.storage.map { cairn_proxy_storage_table($0) }
    }

    public var name: String { manifest.name }
    public var version: String { manifest.version }
    public var abiMinor: UInt32 { descriptor.pointee.abi_minor }
    /// The descriptor sets CAIRN_CAP_THREAD_SAFE: recorded and shown, not acted on (cairn_plugin.h).
    public var declaresThreadSafe: Bool { descriptor.pointee.capabilities & UInt64(CAIRN_CAP_THREAD_SAFE) != 0 }
    var component: UnsafePointer<cairn_component_api>? { descriptor.pointee.component }
    var storage: UnsafePointer<cairn_storage_api>? { descriptor.pointee.storage }

    /// Looks up an exported symbol (native actions).
    func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
}
