/// The Swift component skeleton of `cairn plugins new NAME --lang swift`; @NAME@ is the plugin's name.
extension PluginSkeleton {
    static let swiftSource = #"""
// @NAME@: a Cairn component plugin in Swift. It backs up the regular files directly inside the
// folder of its `path` setting, verifies a stored backup against the file count it recorded, and
// restores into a folder. Written by `cairn plugins new`; the contract is cairn_plugin.h, the guide
// docs/plugin-authors.md. Only C types cross the boundary: the instance is an opaque pointer made
// with Unmanaged, and nothing here may trap (a crash takes the host down): errors go through err.
import CCairnPlugin
#if canImport(Glibc)
import Glibc
#endif

private let chunk = 256 * 1024

@discardableResult
private func fail(_ err: UnsafePointer<cairn_error>?, _ status: cairn_status, _ message: String) -> cairn_status {
    if let err, let set = err.pointee.set { message.withCString { set(err.pointee.ctx, status, $0) } }
    return status
}

private func errorText() -> String { String(cString: strerror(errno)) }

final class Instance {
    let host: UnsafePointer<cairn_host_api>  // valid until close: the one host pointer an instance may keep
    let path: String

    init(host: UnsafePointer<cairn_host_api>, path: String) { self.host = host; self.path = path }

    var cancelled: Bool { host.pointee.is_cancelled(host.pointee.host_ctx) != 0 }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> Instance? {
        pointer.map { Unmanaged<Instance>.fromOpaque($0).takeUnretainedValue() }
    }

    /// The regular files directly inside `path`, by name.
    func files() -> [(name: String, info: stat)]? {
        guard let folder = opendir(path) else { return nil }
        defer { closedir(folder) }
        var found: [(String, stat)] = []
        while let item = readdir(folder) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            var info = stat()
            guard !name.hasPrefix("."), lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            found.append((name, info))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    func backup(_ sink: UnsafePointer<cairn_entry_sink>, _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        if cancelled { return fail(err, CAIRN_CANCELLED, "backup cancelled") }
        guard let files = files() else { return fail(err, CAIRN_IO, "cannot open folder '\(path)': \(errorText())") }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        let s = sink.pointee
        for (name, info) in files {
            let full = path + "/" + name
            let fd = open(full, O_RDONLY)
            guard fd >= 0 else { return fail(err, CAIRN_IO, "cannot open '\(full)': \(errorText())") }
            defer { close(fd) }
            let code: Int32 = name.withCString { cName in
                var entry = cairn_entry(struct_size: UInt32(MemoryLayout<cairn_entry>.size), path: cName, type: CAIRN_ENTRY_FILE,
                                        mode: UInt32(info.st_mode & 0o7777), mtime: Int64(info.st_mtim.tv_sec), size: Int64(info.st_size))
                return s.begin(s.ctx, &entry)
            }
            if code != 0 { return cairn_status(rawValue: UInt32(code)) }  // the host already knows why
            while true {
                let n = read(fd, buffer, chunk)
                if n < 0 { return fail(err, CAIRN_IO, "cannot read '\(full)': \(errorText())") }
                if n == 0 { break }
                if cancelled { return fail(err, CAIRN_CANCELLED, "backup of '\(path)' cancelled") }
                let code = s.write(s.ctx, buffer, n)
                if code != 0 { return cairn_status(rawValue: UInt32(code)) }
            }
            let ended = s.end(s.ctx)  // a file that changed size fails here as CAIRN_CHANGED
            if ended != 0 { return cairn_status(rawValue: UInt32(ended)) }
        }
        return cairn_status(rawValue: UInt32(s.fact(s.ctx, "files", String(files.count))))  // read back in verify
    }

    /// Reads every entry to its end: the host re-hashes what is read and fails a changed file.
    func verify(_ source: UnsafePointer<cairn_entry_source>, _ report: UnsafePointer<cairn_report>,
                _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        let s = source.pointee
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var files: Int64 = 0
        while true {
            var entry = cairn_entry()
            entry.struct_size = UInt32(MemoryLayout<cairn_entry>.size)
            let more = s.next(s.ctx, &entry)
            if more < 0 { return cairn_status(rawValue: UInt32(-more)) }  // the host described it
            if more == 0 { break }
            if entry.type == CAIRN_ENTRY_FILE { files += 1 }
            while true {
                let n = s.read(s.ctx, buffer, chunk)
                if n < 0 { return cairn_status(rawValue: UInt32(-n)) }
                if n == 0 { break }
                if cancelled { return fail(err, CAIRN_CANCELLED, "verify cancelled") }
            }
        }
        var recorded: Int64 = -1
        let found = s.fact_int(s.ctx, "files", &recorded)
        let ok = found == CAIRN_OK && recorded == files
        let message = "\(files) file(s), \(recorded) recorded at backup time"
        return cairn_status(rawValue: UInt32(report.pointee.check(report.pointee.ctx, "files", ok ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL,
                                                                  message, nil)))
    }

    func restore(_ target: String, _ source: UnsafePointer<cairn_entry_source>, _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        // A target that does not exist yet is the plugin's to create (mkdir -p).
        var partial = ""
        for part in target.split(separator: "/") {
            partial += "/" + part
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                return fail(err, CAIRN_IO, "cannot create the restore target '\(target)': \(errorText())")
            }
        }
        let s = source.pointee
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        while true {
            var entry = cairn_entry()
            entry.struct_size = UInt32(MemoryLayout<cairn_entry>.size)
            let more = s.next(s.ctx, &entry)
            if more < 0 { return cairn_status(rawValue: UInt32(-more)) }
            if more == 0 { return CAIRN_OK }
            let name = String(cString: entry.path)
            guard entry.type == CAIRN_ENTRY_FILE, !name.contains("/") else { continue }  // only what backup writes
            let full = target + "/" + name
            let fd = open(full, O_WRONLY | O_CREAT | O_EXCL, mode_t(entry.mode & 0o777))
            guard fd >= 0 else { return fail(err, CAIRN_IO, "cannot create '\(full)': \(errorText())") }
            defer { close(fd) }
            while true {
                let n = s.read(s.ctx, buffer, chunk)
                if n < 0 { return cairn_status(rawValue: UInt32(-n)) }
                if n == 0 { break }
                if cancelled { return fail(err, CAIRN_CANCELLED, "restore cancelled") }
                if write(fd, buffer, Int(n)) != Int(n) { return fail(err, CAIRN_IO, "cannot write '\(full)': \(errorText())") }
            }
        }
    }
}

// nonisolated(unsafe): written once, before any caller can see it, and constant after.
nonisolated(unsafe) private let component: UnsafePointer<cairn_component_api> = {
    let table = UnsafeMutablePointer<cairn_component_api>.allocate(capacity: 1)
    table.initialize(to: cairn_component_api(
        struct_size: UInt32(MemoryLayout<cairn_component_api>.size), abi_major: UInt32(CAIRN_ABI_MAJOR), abi_minor: UInt32(CAIRN_ABI_MINOR),
        check: { instance, report, err in
            guard let me = Instance.from(instance), let report else { return fail(err, CAIRN_INVALID, "check: no instance or report") }
            var info = stat()
            let ok = stat(me.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && access(me.path, R_OK | X_OK) == 0
            let message = ok ? "'\(me.path)' is a readable folder" : "'\(me.path)' is not a readable folder"
            return cairn_status(rawValue: UInt32(report.pointee.check(report.pointee.ctx, "path", ok ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL, message, nil)))
        },
        backup: { instance, _, sink, err in
            guard let me = Instance.from(instance), let sink else { return fail(err, CAIRN_INVALID, "backup: no instance or sink") }
            return me.backup(sink, err)
        },
        verify: { instance, source, report, err in
            guard let me = Instance.from(instance), let source, let report else { return fail(err, CAIRN_INVALID, "verify: no source or report") }
            return me.verify(source, report, err)
        },
        restore: { instance, request, source, _, err in
            guard let me = Instance.from(instance), let request, let target = request.pointee.target, let source else {
                return fail(err, CAIRN_INVALID, "restore: no request or source")
            }
            return me.restore(String(cString: target), source, err)
        }))
    return UnsafePointer(table)
}()

nonisolated(unsafe) private let descriptor: UnsafePointer<cairn_plugin> = {
    let d = UnsafeMutablePointer<cairn_plugin>.allocate(capacity: 1)
    d.initialize(to: cairn_plugin(
        struct_size: UInt32(MemoryLayout<cairn_plugin>.size), abi_major: UInt32(CAIRN_ABI_MAJOR), abi_minor: UInt32(CAIRN_ABI_MINOR),
        pointer_size: UInt32(MemoryLayout<UnsafeRawPointer>.size),
        name: UnsafePointer(strdup("@NAME@")), version: UnsafePointer(strdup("0.1.0")), kind: CAIRN_KIND_COMPONENT,
        toolchain: cairn_swift_toolchain(),  // the host refuses a Swift plugin built by another toolchain
        capabilities: 0,
        open: { host, instance, err in
            guard let host, let instance else { return fail(err, CAIRN_INVALID, "open: no host or instance slot") }
            guard let path = host.pointee.config_get(host.pointee.host_ctx, "path"), path.pointee != 0 else {
                return fail(err, CAIRN_INVALID, "setting 'path' is required: the folder to back up")
            }
            instance.pointee = Unmanaged.passRetained(Instance(host: host, path: String(cString: path))).toOpaque()
            return CAIRN_OK
        },
        close: { instance in
            if let instance { Unmanaged<Instance>.fromOpaque(instance).release() }
        },
        component: component, storage: nil))
    return UnsafePointer(d)
}()

/// The one exported symbol. fact_int (verify) is ABI 1.1: an older host gets nil.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    major == UInt32(CAIRN_ABI_MAJOR) && minor >= 1 ? descriptor : nil
}
"""#
}
