import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The C side of the store: the `cairn_storage_api` table. Each entry turns opaque handles back
/// into Swift objects, runs the operation, and turns a `FilesystemError` into a status and a message.
/// Only C types cross; nothing throws or traps across the boundary.
enum StorageTable {
    static func make() -> cairn_storage_api {
        var api = cairn_storage_api()
        api.open_writer = { instance, key, writer, err in StorageTable.openWriter(instance, key, writer, err) }
        api.write = { writer, data, length, err in StorageTable.write(writer, data, length, err) }
        api.commit = { writer, err in StorageTable.commit(writer, err) }
        api.abort = { writer in
            guard let writer else { return }
            Unmanaged<FileObjectWriter>.fromOpaque(writer).takeRetainedValue().discard()
        }
        api.open_reader = { instance, key, reader, err in StorageTable.openReader(instance, key, reader, err) }
        api.read = { reader, buffer, capacity, err in StorageTable.read(reader, buffer, capacity, err) }
        api.close_reader = { reader in
            guard let reader else { return }
            Unmanaged<FileObjectReader>.fromOpaque(reader).release()
        }
        api.list = { instance, prefix, token, maxKeys, sink, err in
            StorageTable.list(instance, prefix, token, maxKeys, sink, err)
        }
        api.stat = { instance, key, sink, err in
            PluginError.run(err) { () throws(FilesystemError) in
                let object = try StorageTable.store(instance).info(ObjectKey(key))
                try StorageTable.emit(object, to: sink)
            }
        }
        api.copy = { instance, source, destination, err in
            PluginError.run(err) { () throws(FilesystemError) in
                try StorageTable.store(instance).copy(from: ObjectKey(source, role: "source key"),
                                                      to: ObjectKey(destination, role: "destination key"))
            }
        }
        api.remove = { instance, key, err in
            PluginError.run(err) { () throws(FilesystemError) in try StorageTable.store(instance).remove(ObjectKey(key)) }
        }
        api.check_access = { instance, report, err in StorageTable.checkAccess(instance, report, err) }
        api.put_if = { instance, key, data, length, ifVersion, sink, err in
            PluginError.run(err) { () throws(FilesystemError) in
                let version = try StorageTable.optionalText(ifVersion, "if_version")
                guard let written = try StorageTable.store(instance).putIf(ObjectKey(key), UnsafeRawBufferPointer(start: data, count: length),
                                                                          ifVersion: version) else {
                    throw FilesystemError(CAIRN_CHANGED, version == nil ? "object exists" : "object changed since version \(version!)")
                }
                try StorageTable.emit(written, to: sink)
            }
        }
        return api
    }

    // MARK: Plumbing


    static func store(_ instance: UnsafeMutableRawPointer?) throws(FilesystemError) -> FilesystemStore {
        try InstanceHandle.object(instance, as: FilesystemStore.self, what: "storage")
    }

    static func optionalText(_ pointer: UnsafePointer<CChar>?, _ role: String) throws(FilesystemError) -> String? {
        guard let pointer else { return nil }
        guard let text = String(validatingCString: pointer) else {
            throw FilesystemError(CAIRN_INVALID, "the \(role) is not valid UTF-8")
        }
        return text
    }

    static func emit(_ object: FileFacts, to sink: UnsafePointer<cairn_object_sink>?) throws(FilesystemError) {
        guard let sink, let callback = sink.pointee.object else {
            throw FilesystemError(CAIRN_INVALID, "no object sink given")
        }
        let code = object.key.withCString { key in
            withOptionalCString(object.etag) { etag in
                var info = cairn_object_info(struct_size: UInt32(MemoryLayout<cairn_object_info>.size),
                                             key: key, size: object.size, modified_ms: object.modifiedMs, etag: etag,
                                             locked_until_ms: 0)
                return callback(sink.pointee.ctx, &info)
            }
        }
        if code != 0 { throw FilesystemError(stoppedBy: code) }
    }

    // MARK: Operations

    static func openWriter(_ instance: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?,
                           _ writer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        PluginError.run(err) { () throws(FilesystemError) in
            guard let writer else { throw FilesystemError(CAIRN_INVALID, "open_writer: no writer slot given") }
            writer.pointee = nil
            let opened = try store(instance).openWriter(ObjectKey(key))
            writer.pointee = Unmanaged.passRetained(opened).toOpaque()
        }
    }

    static func write(_ writer: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: Int,
                      _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        PluginError.run(err) { () throws(FilesystemError) in
            guard let writer else { throw FilesystemError(CAIRN_INVALID, "write: no writer given") }
            guard length > 0 else { return }
            guard let data else { throw FilesystemError(CAIRN_INVALID, "write: no data given") }
            try Unmanaged<FileObjectWriter>.fromOpaque(writer).takeUnretainedValue()
                .write(UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    static func commit(_ writer: UnsafeMutableRawPointer?, _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        guard let writer else { return FilesystemError(CAIRN_INVALID, "commit: no writer given").report(to: err) }
        // Released when this returns, on success and on failure alike.
        let object = Unmanaged<FileObjectWriter>.fromOpaque(writer).takeRetainedValue()
        return PluginError.run(err) { () throws(FilesystemError) in try object.commit() }
    }

    static func openReader(_ instance: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?,
                           _ reader: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        PluginError.run(err) { () throws(FilesystemError) in
            guard let reader else { throw FilesystemError(CAIRN_INVALID, "open_reader: no reader slot given") }
            reader.pointee = nil
            let opened = try store(instance).openReader(ObjectKey(key))
            reader.pointee = Unmanaged.passRetained(opened).toOpaque()
        }
    }

    static func read(_ reader: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                     _ err: UnsafePointer<cairn_error>?) -> Int64 {
        do throws(FilesystemError) {
            guard let reader else { throw FilesystemError(CAIRN_INVALID, "read: no reader given") }
            guard capacity > 0 else { return 0 }
            guard let buffer else { throw FilesystemError(CAIRN_INVALID, "read: no buffer given") }
            let object = Unmanaged<FileObjectReader>.fromOpaque(reader).takeUnretainedValue()
            return Int64(try object.read(into: buffer, count: capacity))
        } catch {
            return -Int64(error.report(to: err).rawValue)
        }
    }

    static func list(_ instance: UnsafeMutableRawPointer?, _ prefix: UnsafePointer<CChar>?,
                     _ token: UnsafePointer<CChar>?, _ maxKeys: UInt32,
                     _ sink: UnsafePointer<cairn_object_sink>?, _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        PluginError.run(err) { () throws(FilesystemError) in
            let store = try store(instance)
            let page = try store.list(prefix: optionalText(prefix, "prefix") ?? "",
                                      after: optionalText(token, "continuation token"),
                                      limit: maxKeys == 0 ? 1000 : Int(maxKeys))
            for object in page.objects { try emit(object, to: sink) }
            guard page.more, let last = page.objects.last, let sink, let nextPage = sink.pointee.next_page else {
                return
            }
            let code = last.key.withCString { nextPage(sink.pointee.ctx, $0) }
            if code != 0 { throw FilesystemError(stoppedBy: code) }
        }
    }

    static func checkAccess(_ instance: UnsafeMutableRawPointer?, _ report: UnsafePointer<cairn_report>?,
                            _ err: UnsafePointer<cairn_error>?) -> cairn_status {
        PluginError.run(err) { () throws(FilesystemError) in
            guard report?.pointee.check != nil else {
                throw FilesystemError(CAIRN_INVALID, "check_access: no report given")
            }
            for result in try store(instance).accessChecks() {
                try CheckReport(report).add(result.name, result.status, result.message, detail: result.detailJSON)
            }
        }
    }
}
