import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A failed operation: the status for the host and a sentence for the operator (never a secret).
typealias WeaviateError = PluginError

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

    func setting(_ key: String) throws(WeaviateError) -> String? {
        guard let get = api.pointee.config_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    func secret(_ key: String) throws(WeaviateError) -> String? {
        guard let get = api.pointee.secret_get else { return nil }
        return try Self.decode(key, get(api.pointee.host_ctx, key))
    }

    private static func decode(_ key: String, _ value: UnsafePointer<CChar>?) throws(WeaviateError) -> String? {
        guard let value else { return nil }
        guard let text = String(validatingCString: value) else {
            throw WeaviateError(CAIRN_INVALID, "setting '\(key)' is not valid UTF-8")
        }
        return text
    }

    /// An optional host table (cairn_plugin.h, get_api), or nil when this host lacks it.
    func table<T>(_ name: String, version: UInt32, as type: T.Type) -> UnsafePointer<T>? {
        guard let get = api.pointee.get_api, let raw = get(api.pointee.host_ctx, name, version) else { return nil }
        return raw.assumingMemoryBound(to: T.self)
    }
}

/// The host's check sink.
struct Report {
    let pointer: UnsafePointer<cairn_report>?
    init(_ pointer: UnsafePointer<cairn_report>?) { self.pointer = pointer }

    func add(_ name: String, _ status: cairn_check_status, _ message: String, detail: String? = nil) throws(WeaviateError) {
        guard let pointer, let check = pointer.pointee.check else { return }
        let code = name.withCString { n in
            message.withCString { m in
                guard let detail else { return check(pointer.pointee.ctx, n, status, m, nil) }
                return detail.withCString { check(pointer.pointee.ctx, n, status, m, $0) }
            }
        }
        if code != 0 { throw WeaviateError(stoppedBy: code) }
    }
}

/// The host's entry sink (backup).
struct Sink {
    let pointer: UnsafePointer<cairn_entry_sink>

    private func check(_ code: Int32) throws(WeaviateError) {
        if code != 0 { throw WeaviateError(stoppedBy: code) }
    }

    func begin(_ path: String, directory: Bool = false, mode: UInt32, mtime: Int64, size: Int64) throws(WeaviateError) {
        guard let begin = pointer.pointee.begin else { throw WeaviateError(CAIRN_INVALID, "the host's sink has no begin") }
        let code = path.withCString { p in
            var entry = cairn_entry(struct_size: UInt32(MemoryLayout<cairn_entry>.size), path: p,
                                    type: directory ? CAIRN_ENTRY_DIRECTORY : CAIRN_ENTRY_FILE,
                                    mode: mode, mtime: mtime, size: directory ? 0 : size)
            return begin(pointer.pointee.ctx, &entry)
        }
        try check(code)
    }

    func write(_ data: UnsafeRawBufferPointer) throws(WeaviateError) {
        guard data.count > 0, let base = data.baseAddress else { return }
        guard let write = pointer.pointee.write else { throw WeaviateError(CAIRN_INVALID, "the host's sink has no write") }
        try check(write(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), data.count))
    }

    func end() throws(WeaviateError) {
        guard let end = pointer.pointee.end else { throw WeaviateError(CAIRN_INVALID, "the host's sink has no end") }
        try check(end(pointer.pointee.ctx))
    }

    /// A whole small file (descriptor, metadata) as one entry.
    func file(_ path: String, _ bytes: [UInt8], mtime: Int64) throws(WeaviateError) {
        try begin(path, mode: 0o644, mtime: mtime, size: Int64(bytes.count))
        try withBytes(bytes) { raw throws(WeaviateError) in try write(raw) }
        try end()
    }

    func fact(_ key: String, _ value: JSON) throws(WeaviateError) {
        guard let fact = pointer.pointee.fact else { return }
        try check(fact(pointer.pointee.ctx, key, value.text))
    }
}

/// The host's entry source (verify and restore).
struct EntrySource {
    let pointer: UnsafePointer<cairn_entry_source>

    struct Entry { var path: String; var directory: Bool; var mode: UInt32; var mtime: Int64; var size: Int64 }

    func next() throws(WeaviateError) -> Entry? {
        guard let next = pointer.pointee.next else { throw WeaviateError(CAIRN_INVALID, "the host's source has no next") }
        var entry = cairn_entry()
        entry.struct_size = UInt32(MemoryLayout<cairn_entry>.size)
        let rc = next(pointer.pointee.ctx, &entry)
        if rc == 0 { return nil }
        if rc < 0 { throw WeaviateError(stoppedBy: -rc) }
        guard let path = entry.path.flatMap({ String(validatingCString: $0) }) else {
            throw WeaviateError(CAIRN_CORRUPT, "an archive entry has no valid UTF-8 path")
        }
        return Entry(path: path, directory: entry.type == CAIRN_ENTRY_DIRECTORY, mode: entry.mode, mtime: entry.mtime, size: entry.size)
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) throws(WeaviateError) -> Int {
        guard let read = pointer.pointee.read else { throw WeaviateError(CAIRN_INVALID, "the host's source has no read") }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = read(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), buffer.count)
        if n < 0 { throw WeaviateError(stoppedBy: Int32(clamping: -n)) }
        return Int(clamping: n)
    }

    /// The current entry whole, refusing more than `limit` bytes (descriptor files are small).
    func readAll(limit: Int, what: String) throws(WeaviateError) -> [UInt8] {
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = try read(buffer)
            if n == 0 { return out }
            out += buffer[..<n]
            if out.count > limit { throw WeaviateError(CAIRN_CORRUPT, "\(what) is larger than \(limit) bytes") }
        }
    }

    var metadata: String? {
        guard let get = pointer.pointee.metadata, let text = get(pointer.pointee.ctx) else { return nil }
        return String(validatingCString: text)
    }
}

extension PluginError {
    /// A failed system call, with the status that fits its errno value.
    init(errno code: Int32, _ what: String) {
        self.init(PluginError.status(forErrno: code), "\(what): \(PluginError.describe(errno: code))")
    }
}

func now() -> Int64 { Int64(time(nil)) }

/// `bytes.withUnsafeBytes` for a body with a typed throw (the standard library's rethrows untyped).
func withBytes(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WeaviateError) -> Void) throws(WeaviateError) {
    let failure: WeaviateError? = bytes.withUnsafeBytes { raw in
        do throws(WeaviateError) { try body(raw); return nil } catch { return error }
    }
    if let failure { throw failure }
}
