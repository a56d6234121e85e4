import CCairnPlugin
import Glibc

/// The host services of one instance, with Swift-friendly wrappers. Only used during calls.
struct Host {
    let api: UnsafePointer<cairn_host_api>

    func log(_ level: cairn_log_level, _ message: String) {
        guard let log = api.pointee.log else { return }
        message.withCString { log(api.pointee.host_ctx, level, $0) }
    }

    func progress(_ done: UInt64, _ total: UInt64, _ what: String) {
        guard let progress = api.pointee.progress else { return }
        what.withCString { progress(api.pointee.host_ctx, done, total, $0) }
    }

    var isCancelled: Bool {
        guard let cancelled = api.pointee.is_cancelled else { return false }
        return cancelled(api.pointee.host_ctx) != 0
    }

    func checkCancelled() throws(RedisError) {
        if isCancelled { throw RedisError(CAIRN_CANCELLED, "cancelled") }
    }

    func setting(_ key: String) throws(RedisError) -> String? {
        guard let get = api.pointee.config_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    func secret(_ key: String) throws(RedisError) -> String? {
        guard let get = api.pointee.secret_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    private static func decode(_ key: String, _ value: UnsafePointer<CChar>?) throws(RedisError) -> String? {
        guard let value else { return nil }
        guard let text = String(validatingCString: value) else {
            throw RedisError(CAIRN_INVALID, "setting '\(key)' is not valid UTF-8")
        }
        return text
    }

    var tempDir: String {
        guard let get = api.pointee.temp_dir, let dir = get(api.pointee.host_ctx) else { return "/tmp" }
        return String(cString: dir)
    }
}
