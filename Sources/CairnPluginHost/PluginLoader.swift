import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation

/// Opens a plugin library and validates it against its manifest and this host. Fails closed:
/// every mismatch is an error that names the plugin, the file and the field.
public enum PluginLoader {
    /// The origin of a plugin compiled into this program: it has no library a worker could load.
    public static let linkedOrigin = "linked"

    public static func load(_ candidate: PluginCandidate) throws -> LoadedPlugin {
        guard let manifest = candidate.manifest, let libraryURL = candidate.libraryURL else {
            throw failure(candidate, candidate.problem ?? "no usable manifest")
        }
        if let problem = candidate.problem { throw failure(candidate, problem) }

        if ![PluginSearchPath.bundledOrigin, linkedOrigin].contains(candidate.origin) {
            try LoadProbe.run(libraryURL) { failure(candidate, $0) }
        }
        // RTLD_NOW: missing symbols fail here, not mid-backup. RTLD_NODELETE: Swift images must
        // never be unmapped (the runtime keeps pointers into them); we never dlclose anyway.
        guard let handle = dlopen(libraryURL.path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw failure(candidate, "cannot load \(libraryURL.path): \(reason)")
        }
        guard let entrySymbol = dlsym(handle, HostABI.entrySymbol) else {
            let other = (2...9).first { dlsym(handle, "cairn_plugin_entry_v\($0)") != nil }
            let hint = other.map { "; it exports cairn_plugin_entry_v\($0) (ABI major \($0)), this host supports ABI major \(HostABI.major)" }
                ?? "; export it with CAIRN_PLUGIN_ENTRY_SYMBOL (C) or @_cdecl(\"\(HostABI.entrySymbol)\") public func (Swift)"
            throw failure(candidate, "missing symbol \(HostABI.entrySymbol) in \(libraryURL.lastPathComponent)\(hint)")
        }
        let entry = unsafeBitCast(entrySymbol, to: cairn_plugin_entry_fn.self)
        guard let descriptor = entry(HostABI.major, HostABI.minor) else {
            throw failure(candidate, "\(HostABI.entrySymbol) returned NULL: the plugin refuses host ABI \(HostABI.major).\(HostABI.minor) (it probably needs a newer Cairn)")
        }
        try validate(descriptor.pointee, manifest: manifest, candidate: candidate)
        try validateActions(manifest: manifest, handle: handle, candidate: candidate)
        return LoadedPlugin(manifest: manifest, libraryURL: libraryURL, handle: handle, descriptor: descriptor,
                            origin: candidate.origin)
    }

    /// A plugin compiled into this program rather than loaded from a library (a static build; a
    /// test that links a plugin's module): its entry function is called directly and the
    /// descriptor gets the same checks. Its native actions are looked up among this program's symbols.
    public static func load(linkedEntry entry: cairn_plugin_entry_fn, manifestURL: URL) throws -> LoadedPlugin {
        let manifest = try PluginManifest.load(from: manifestURL)
        let candidate = PluginCandidate(manifestURL: manifestURL, manifest: manifest, libraryURL: nil, origin: linkedOrigin, problem: nil)
        guard let descriptor = entry(HostABI.major, HostABI.minor) else {
            throw failure(candidate, "the linked entry returned NULL: the plugin refuses host ABI \(HostABI.major).\(HostABI.minor)")
        }
        try validate(descriptor.pointee, manifest: manifest, candidate: candidate)
        guard let program = dlopen(nil, RTLD_NOW) else { throw failure(candidate, "cannot look up this program's own symbols") }
        return LoadedPlugin(manifest: manifest, libraryURL: URL(fileURLWithPath: "/proc/self/exe"), handle: program, descriptor: descriptor,
                            origin: candidate.origin)
    }

    static func validate(_ d: cairn_plugin, manifest: PluginManifest, candidate: PluginCandidate) throws {
        func fail(_ message: String) -> CairnError { failure(candidate, message) }
        let v1Size = FrozenABI.plugin
        if d.abi_major != HostABI.major {
            throw fail("ABI major \(d.abi_major), host supports \(HostABI.major)")
        }
        // The manifest is read without loading (plugins list): it must say what the library says.
        if manifest.abi.major != Int(d.abi_major) || manifest.abi.minor != Int(d.abi_minor) {
            throw fail("manifest says ABI \(manifest.abi.major).\(manifest.abi.minor), the library says \(d.abi_major).\(d.abi_minor)")
        }
        if Int(d.struct_size) < v1Size {
            throw fail("descriptor struct_size is \(d.struct_size) bytes, smaller than ABI v1.0's \(v1Size): rebuild the plugin against this cairn_plugin.h")
        }
        if Int(d.pointer_size) != MemoryLayout<UnsafeRawPointer>.size {
            throw fail("built for \(d.pointer_size * 8)-bit pointers, host is \(MemoryLayout<UnsafeRawPointer>.size * 8)-bit")
        }
        let name = d.name.map { String(cString: $0) } ?? ""
        let version = d.version.map { String(cString: $0) } ?? ""
        let toolchain = d.toolchain.map { String(cString: $0) } ?? ""
        if name != manifest.name { throw fail("manifest says name '\(manifest.name)', the library says '\(name)'") }
        if version != manifest.version { throw fail("manifest says version '\(manifest.version)', the library says '\(version)'") }
        let kind: PluginManifest.Kind? = d.kind == CAIRN_KIND_COMPONENT ? .component : d.kind == CAIRN_KIND_STORAGE ? .storage : nil
        guard let kind else { throw fail("unknown plugin kind \(d.kind.rawValue) in the descriptor") }
        if kind != manifest.kind { throw fail("manifest says kind '\(manifest.kind.rawValue)', the library says '\(kind.rawValue)'") }
        if toolchain != HostABI.toolchainNone, toolchain != HostABI.swiftToolchain {
            throw fail("built with toolchain '\(toolchain)', host is '\(HostABI.swiftToolchain)': Swift plugins must be built by the host's exact Swift toolchain (swift --version)")
        }
        if toolchain == HostABI.toolchainNone, manifest.language == "swift" {
            throw fail("manifest says language 'swift' but the library carries no Swift toolchain stamp (set toolchain = cairn_swift_toolchain())")
        }
        guard d.open != nil else { throw fail("descriptor lacks required function 'open'") }
        guard d.close != nil else { throw fail("descriptor lacks required function 'close'") }
        switch kind {
        case .component:
            guard let api = d.component else { throw fail("component plugin has no component table (cairn_plugin.component is NULL)") }
            try checkTable(api.pointee.struct_size, api.pointee.abi_major, FrozenABI.componentAPI, "component", fail)
            if api.pointee.backup == nil { throw fail("component table lacks required function 'backup'") }
        case .storage:
            guard let api = d.storage else { throw fail("storage plugin has no storage table (cairn_plugin.storage is NULL)") }
            try checkTable(api.pointee.struct_size, api.pointee.abi_major, FrozenABI.storageAPI, "storage", fail)
            let s = api.pointee
            let required: [(String, Bool)] = [
                ("open_writer", s.open_writer != nil), ("write", s.write != nil), ("commit", s.commit != nil),
                ("abort", s.abort != nil), ("open_reader", s.open_reader != nil), ("read", s.read != nil),
                ("close_reader", s.close_reader != nil), ("list", s.list != nil), ("stat", s.stat != nil),
                ("copy", s.copy != nil), ("remove", s.remove != nil), ("check_access", s.check_access != nil),
            ]
            if let missing = required.first(where: { !$0.1 }) { throw fail("storage table lacks required function '\(missing.0)'") }
        }
    }

    private static func checkTable(_ size: UInt32, _ major: UInt32, _ v1Size: Int, _ what: String, _ fail: (String) -> CairnError) throws {
        if major != HostABI.major { throw fail("\(what) table has ABI major \(major), host supports \(HostABI.major)") }
        if Int(size) < v1Size { throw fail("\(what) table struct_size is \(size) bytes, smaller than ABI v1.0's \(v1Size)") }
    }

    static func validateActions(manifest: PluginManifest, handle: UnsafeMutableRawPointer, candidate: PluginCandidate) throws {
        for (name, action) in (manifest.actions ?? [:]).sorted(by: { $0.key < $1.key }) where dlsym(handle, action.symbol) == nil {
            throw failure(candidate, "action '\(name)': symbol '\(action.symbol)' is declared in plugin.json but not exported by the library")
        }
    }

    static func failure(_ candidate: PluginCandidate, _ message: String) -> CairnError {
        let name = candidate.manifest?.name ?? candidate.libraryURL?.lastPathComponent ?? candidate.manifestURL.path
        return .usage("plugin \(name) (\(candidate.libraryURL?.path ?? candidate.manifestURL.path)): \(message)")
    }
}
