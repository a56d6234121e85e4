import CCairnPlugin
import Glibc

/// The host services of one plugin instance, with Swift-friendly wrappers. Only used during calls.
public struct PluginHost {
    public let api: UnsafePointer<cairn_host_api>

    public init(api: UnsafePointer<cairn_host_api>) { self.api = api }

    public func log(_ level: cairn_log_level, _ message: String) {
        guard let log = api.pointee.log else { return }
        message.withCString { log(api.pointee.host_ctx, level, $0) }
    }

    public func progress(_ done: UInt64, _ total: UInt64, _ what: String) {
        guard let progress = api.pointee.progress else { return }
        what.withCString { progress(api.pointee.host_ctx, done, total, $0) }
    }

    public var isCancelled: Bool {
        guard let cancelled = api.pointee.is_cancelled else { return false }
        return cancelled(api.pointee.host_ctx) != 0
    }

    public func checkCancelled() throws(PluginError) {
        if isCancelled { throw PluginError(CAIRN_CANCELLED, "cancelled") }
    }

    public func setting(_ key: String) throws(PluginError) -> String? {
        guard let get = api.pointee.config_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    public func secret(_ key: String) throws(PluginError) -> String? {
        guard let get = api.pointee.secret_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    private static func decode(_ key: String, _ value: UnsafePointer<CChar>?) throws(PluginError) -> String? {
        guard let value else { return nil }
        guard let text = String(validatingCString: value) else {
            throw PluginError(CAIRN_INVALID, "setting '\(key)' is not valid UTF-8")
        }
        return text
    }

    /// The folder for scratch files the host chose, or /tmp when it names none.
    public var tempDir: String {
        guard let get = api.pointee.temp_dir, let dir = get(api.pointee.host_ctx) else { return "/tmp" }
        return String(cString: dir)
    }

    /// An optional host table (cairn_plugin.h, get_api), or nil when this host lacks it.
    public func table<T>(_ name: String, version: UInt32, as type: T.Type) -> UnsafePointer<T>? {
        guard let get = api.pointee.get_api, let raw = get(api.pointee.host_ctx, name, version) else { return nil }
        return raw.assumingMemoryBound(to: T.self)
    }
}
