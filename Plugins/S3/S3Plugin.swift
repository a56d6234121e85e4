import CCairnPlugin
import CairnPluginSupport

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    PluginDescriptor.offer(s3PluginDescriptor, toHostMajor: major)
}

/// Built once on first use and never freed: the host may hold these pointers until exit. No
/// capability bits: one curl handle per instance is not thread-safe.
private nonisolated(unsafe) let s3PluginDescriptor = PluginDescriptor.storage(
    name: "s3", version: "1.0.0", table: S3StorageTable.make(),
    open: { host, instance, err in
        InstanceHandle.open(host, instance, err) { host throws(S3Error) in try S3Store.open(host: host.api) }
    },
    close: { InstanceHandle.close($0, as: S3Store.self) })

/// The `cairn_storage_api` table: opaque handles back to Swift objects, errors to statuses.
/// Nothing throws or traps across the boundary.
enum S3StorageTable {
    static func make() -> cairn_storage_api {
        var api = cairn_storage_api()
        api.open_writer = { instance, key, writer, err in
            PluginError.run(err) { () throws(S3Error) in
                guard let writer else { throw S3Error(CAIRN_INVALID, "open_writer: no writer slot given") }
                writer.pointee = nil
                let opened = S3ObjectWriter(store: try S3StorageTable.store(instance), key: try S3Store.validKey(key))
                writer.pointee = Unmanaged.passRetained(opened).toOpaque()
            }
        }
        api.write = { writer, data, length, err in
            PluginError.run(err) { () throws(S3Error) in
                guard let writer else { throw S3Error(CAIRN_INVALID, "write: no writer given") }
                guard length > 0 else { return }
                guard let data else { throw S3Error(CAIRN_INVALID, "write: no data given") }
                try Unmanaged<S3ObjectWriter>.fromOpaque(writer).takeUnretainedValue()
                    .write(UnsafeRawBufferPointer(start: data, count: length))
            }
        }
        api.commit = { writer, err in
            guard let writer else { return S3Error(CAIRN_INVALID, "commit: no writer given").report(to: err) }
            // Released when this returns, on success and on failure alike.
            let object = Unmanaged<S3ObjectWriter>.fromOpaque(writer).takeRetainedValue()
            return PluginError.run(err) { () throws(S3Error) in try object.commit() }
        }
        api.abort = { writer in
            guard let writer else { return }
            Unmanaged<S3ObjectWriter>.fromOpaque(writer).takeRetainedValue().discard()
        }
        api.open_reader = { instance, key, reader, err in
            PluginError.run(err) { () throws(S3Error) in
                guard let reader else { throw S3Error(CAIRN_INVALID, "open_reader: no reader slot given") }
                reader.pointee = nil
                let opened = try S3ObjectReader(store: try S3StorageTable.store(instance), key: try S3Store.validKey(key))
                reader.pointee = Unmanaged.passRetained(opened).toOpaque()
            }
        }
        api.read = { reader, buffer, capacity, err in
            do throws(S3Error) {
                guard let reader else { throw S3Error(CAIRN_INVALID, "read: no reader given") }
                guard capacity > 0 else { return 0 }
                guard let buffer else { throw S3Error(CAIRN_INVALID, "read: no buffer given") }
                let object = Unmanaged<S3ObjectReader>.fromOpaque(reader).takeUnretainedValue()
                return Int64(try object.read(into: buffer, count: capacity))
            } catch {
                return -Int64(error.report(to: err).rawValue)
            }
        }
        api.close_reader = { reader in
            guard let reader else { return }
            Unmanaged<S3ObjectReader>.fromOpaque(reader).release()
        }
        api.list = { instance, prefix, token, maxKeys, sink, err in
            PluginError.run(err) { () throws(S3Error) in
                let prefixText = prefix.flatMap { String(validatingCString: $0) } ?? ""
                let tokenText = token.flatMap { String(validatingCString: $0) }
                let page = try S3StorageTable.store(instance).list(prefix: prefixText, token: tokenText,
                                                    maxKeys: maxKeys == 0 ? 1000 : Int(min(maxKeys, 1000)))
                for object in page.objects { try S3StorageTable.emit(object, to: sink) }
                guard let next = page.next, let sink, let nextPage = sink.pointee.next_page else { return }
                let code = next.withCString { nextPage(sink.pointee.ctx, $0) }
                if code != 0 { throw S3Error(stoppedBy: code) }
            }
        }
        api.stat = { instance, key, sink, err in
            PluginError.run(err) { () throws(S3Error) in
                try S3StorageTable.emit(try S3StorageTable.store(instance).head(try S3Store.validKey(key)), to: sink)
            }
        }
        api.copy = { instance, source, destination, err in
            PluginError.run(err) { () throws(S3Error) in
                try S3StorageTable.store(instance).copy(from: try S3Store.validKey(source, role: "source key"),
                                         to: try S3Store.validKey(destination, role: "destination key"))
            }
        }
        api.remove = { instance, key, err in
            PluginError.run(err) { () throws(S3Error) in try S3StorageTable.store(instance).remove(try S3Store.validKey(key)) }
        }
        api.put_if = { instance, key, data, length, ifVersion, sink, err in
            PluginError.run(err) { () throws(S3Error) in
                let version = ifVersion.flatMap { String(validatingCString: $0) }
                guard let written = try S3StorageTable.store(instance).putIf(try S3Store.validKey(key),
                                                                             UnsafeRawBufferPointer(start: data, count: length), ifVersion: version) else {
                    throw S3Error(CAIRN_CHANGED, version == nil ? "the object exists" : "the object changed since etag \(version!)")
                }
                try S3StorageTable.emit(written, to: sink)
            }
        }
        api.check_access = { instance, report, err in
            PluginError.run(err) { () throws(S3Error) in
                guard report?.pointee.check != nil else {
                    throw S3Error(CAIRN_INVALID, "check_access: no report given")
                }
                for result in try S3StorageTable.store(instance).accessChecks() {
                    try CheckReport(report).add(result.name, result.status, result.message)
                }
            }
        }
        return api
    }


    static func store(_ instance: UnsafeMutableRawPointer?) throws(S3Error) -> S3Store {
        try InstanceHandle.object(instance, as: S3Store.self, what: "storage")
    }

    static func emit(_ object: S3Store.ObjectInfo, to sink: UnsafePointer<cairn_object_sink>?) throws(S3Error) {
        guard let sink, let callback = sink.pointee.object else { throw S3Error(CAIRN_INVALID, "no object sink given") }
        let code = object.key.withCString { key in
            let call = { (etag: UnsafePointer<CChar>?) -> Int32 in
                var info = cairn_object_info(struct_size: UInt32(MemoryLayout<cairn_object_info>.size), key: key,
                                             size: object.size, modified_ms: object.modifiedMs, etag: etag,
                                             locked_until_ms: object.lockedUntilMs)
                return callback(sink.pointee.ctx, &info)
            }
            guard let etag = object.etag else { return call(nil) }
            return etag.withCString { call($0) }
        }
        if code != 0 { throw S3Error(stoppedBy: code) }
    }
}
