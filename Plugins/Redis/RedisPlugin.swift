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

/// Built once, on first use, and never freed: the host may hold these pointers until exit.
private nonisolated(unsafe) let pluginDescriptor: UnsafePointer<cairn_plugin>? = makeDescriptor()

private func makeDescriptor() -> UnsafePointer<cairn_plugin>? {
    let component = UnsafeMutablePointer<cairn_component_api>.allocate(capacity: 1)
    var api = cairn_component_api()
    api.struct_size = UInt32(MemoryLayout<cairn_component_api>.size)
    api.abi_major = UInt32(CAIRN_ABI_MAJOR)
    api.abi_minor = UInt32(CAIRN_ABI_MINOR)
    api.check = { instance, report, err in
        PluginError.run(err) { () throws(RedisError) in try redis(instance).check(Report(report)) }
    }
    api.backup = { instance, request, sink, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let request, let sink else { throw RedisError(CAIRN_INVALID, "backup: no request or sink given") }
            let options = request.pointee.options_json.flatMap { String(validatingCString: $0) } ?? "{}"
            try redis(instance).backup(options: options, sink: Sink(sink))
        }
    }
    api.verify = { instance, source, report, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let source else { throw RedisError(CAIRN_INVALID, "verify: no entry source given") }
            try redis(instance).verify(source: EntrySource(source), report: Report(report))
        }
    }
    api.restore = { instance, request, source, report, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let request, let source, let target = request.pointee.target.flatMap({ String(validatingCString: $0) }) else {
                throw RedisError(CAIRN_INVALID, "restore: no request, target or entry source given")
            }
            let options = request.pointee.options_json.flatMap { String(validatingCString: $0) } ?? "{}"
            try redis(instance).restore(target: target, options: options, source: EntrySource(source), report: Report(report))
        }
    }
    component.initialize(to: api)

    guard var plugin = PluginDescriptor.base(name: "redis", version: "1.0.0", kind: CAIRN_KIND_COMPONENT) else { return nil }
    plugin.capabilities = 0
    plugin.open = { host, instance, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let instance else { throw RedisError(CAIRN_INVALID, "open: no instance slot given") }
            instance.pointee = nil
            guard let host else { throw RedisError(CAIRN_INVALID, "open: no host services given") }
            let component = try RedisComponent(host: Host(api: host))
            instance.pointee = Unmanaged.passRetained(component).toOpaque()
        }
    }
    plugin.close = { instance in
        guard let instance else { return }
        Unmanaged<RedisComponent>.fromOpaque(instance).release()
    }
    plugin.component = UnsafePointer(component)
    plugin.storage = nil

    return PluginDescriptor.publish(plugin)
}

private func redis(_ instance: UnsafeMutableRawPointer?) throws(RedisError) -> RedisComponent {
    guard let instance else { throw RedisError(CAIRN_INVALID, "no Redis instance given") }
    return Unmanaged<RedisComponent>.fromOpaque(instance).takeUnretainedValue()
}

// MARK: Host-owned tables, wrapped

/// The host's check sink.
struct Report {
    let pointer: UnsafePointer<cairn_report>?
    init(_ pointer: UnsafePointer<cairn_report>?) { self.pointer = pointer }

    func add(_ name: String, _ status: cairn_check_status, _ message: String, detail: String? = nil) throws(RedisError) {
        guard let pointer, let check = pointer.pointee.check else { return }
        let code = name.withCString { n in
            message.withCString { m in
                guard let detail else { return check(pointer.pointee.ctx, n, status, m, nil) }
                return detail.withCString { check(pointer.pointee.ctx, n, status, m, $0) }
            }
        }
        if code != 0 { throw RedisError(stoppedBy: code) }
    }

    func add(_ finding: Finding) throws(RedisError) {
        try add(finding.name, finding.status, finding.message, detail: finding.detail)
    }
}

/// The host's entry sink.
struct Sink {
    let pointer: UnsafePointer<cairn_entry_sink>
    init(_ pointer: UnsafePointer<cairn_entry_sink>) { self.pointer = pointer }

    private func check(_ code: Int32) throws(RedisError) {
        if code != 0 { throw RedisError(stoppedBy: code) }
    }

    func begin(_ path: String, directory: Bool = false, mode: UInt32 = 0o600, mtime: Int64, size: Int64) throws(RedisError) {
        guard let begin = pointer.pointee.begin else { throw RedisError(CAIRN_INVALID, "the host's sink has no begin") }
        let code = path.withCString { p in
            var entry = cairn_entry(struct_size: UInt32(MemoryLayout<cairn_entry>.size), path: p,
                                    type: directory ? CAIRN_ENTRY_DIRECTORY : CAIRN_ENTRY_FILE,
                                    mode: mode, mtime: mtime, size: directory ? 0 : size)
            return begin(pointer.pointee.ctx, &entry)
        }
        try check(code)
    }

    func write(_ data: UnsafeRawBufferPointer) throws(RedisError) {
        guard data.count > 0, let base = data.baseAddress else { return }
        guard let write = pointer.pointee.write else { throw RedisError(CAIRN_INVALID, "the host's sink has no write") }
        try check(write(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), data.count))
    }

    func end() throws(RedisError) {
        guard let end = pointer.pointee.end else { throw RedisError(CAIRN_INVALID, "the host's sink has no end") }
        try check(end(pointer.pointee.ctx))
    }

    func fact(_ key: String, json: String) throws(RedisError) {
        guard let fact = pointer.pointee.fact else { return }
        try check(fact(pointer.pointee.ctx, key, json))
    }
}

/// The host's entry source (verify and restore).
struct EntrySource {
    let pointer: UnsafePointer<cairn_entry_source>
    init(_ pointer: UnsafePointer<cairn_entry_source>) { self.pointer = pointer }

    struct Entry { var path: String; var directory: Bool; var mode: UInt32; var mtime: Int64; var size: Int64 }

    func next() throws(RedisError) -> Entry? {
        guard let next = pointer.pointee.next else { throw RedisError(CAIRN_INVALID, "the host's source has no next") }
        var entry = cairn_entry()
        entry.struct_size = UInt32(MemoryLayout<cairn_entry>.size)
        let rc = next(pointer.pointee.ctx, &entry)
        if rc == 0 { return nil }
        if rc < 0 { throw RedisError(stoppedBy: -rc) }
        guard let path = entry.path.flatMap({ String(validatingCString: $0) }) else {
            throw RedisError(CAIRN_CORRUPT, "an archive entry has no valid UTF-8 path")
        }
        return Entry(path: path, directory: entry.type == CAIRN_ENTRY_DIRECTORY, mode: entry.mode, mtime: entry.mtime, size: entry.size)
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) throws(RedisError) -> Int {
        guard let read = pointer.pointee.read else { throw RedisError(CAIRN_INVALID, "the host's source has no read") }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = read(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), buffer.count)
        if n < 0 { throw RedisError(stoppedBy: Int32(clamping: -n)) }
        return Int(clamping: n)
    }
}

/// Minimal JSON text helpers: facts and details are built by hand, options are flat objects.
enum JSON {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The string or bool value of `key` in a flat JSON object such as {"type":"both","drill":true}.
    static func option(_ key: String, in json: String) -> String? {
        let needle = "\"\(key)\""
        guard let range = json.firstRange(of: needle) else { return nil }
        var rest = json[range.upperBound...].drop(while: { $0 == " " })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " })
        if rest.first == "\"" {
            let body = rest.dropFirst()
            guard let close = body.firstIndex(of: "\"") else { return nil }
            return String(body[..<close])
        }
        let word = rest.prefix(while: { $0.isLetter || $0.isNumber })
        return word.isEmpty ? nil : String(word)
    }
}
