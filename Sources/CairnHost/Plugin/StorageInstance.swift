import CCairnPlugin
import Foundation

/// An object in a store.
public struct StoredObject: Equatable, Sendable {
    public var key: String
    public var size: UInt64
    public var modified: Date
    public var etag: String?
}

/// A storage plugin instance, with the ABI's operations as Swift methods.
public final class StorageInstance: PluginInstance, @unchecked Sendable {
    var api: cairn_storage_api { plugin.storage!.pointee }  // non-nil: checked by PluginLoader

    public func openWriter(key: String) throws -> StorageWriter {
        var writer: UnsafeMutableRawPointer?
        try call("open writer for '\(key)'") { err in api.open_writer(handle, key, &writer, err) }
        return StorageWriter(storage: self, key: key, handle: writer)
    }

    public func openReader(key: String) throws -> StorageReader {
        var reader: UnsafeMutableRawPointer?
        try call("open '\(key)'") { err in api.open_reader(handle, key, &reader, err) }
        return StorageReader(storage: self, key: key, handle: reader)
    }

    /// Every object under `prefix`, following continuation tokens to the end.
    public func list(prefix: String) throws -> [StoredObject] {
        var all: [StoredObject] = []
        var token: String?
        repeat {
            let sink = ObjectSinkBox()
            try sink.withCStruct { objects in
                try call("list '\(prefix)'") { err in
                    if let token { return token.withCString { api.list(handle, prefix, $0, 0, objects, err) } }
                    return api.list(handle, prefix, nil, 0, objects, err)
                }
            }
            all += sink.objects
            if let next = sink.nextToken, next == token {
                throw CairnError.failure("\(label): list '\(prefix)' returned the same continuation token twice ('\(next)'); the plugin's pagination is broken")
            }
            token = sink.nextToken
        } while token != nil
        return all
    }

    /// The object's facts, or nil when it does not exist.
    public func stat(key: String) throws -> StoredObject? {
        let sink = ObjectSinkBox()
        do {
            try sink.withCStruct { objects in try call("stat '\(key)'") { err in api.stat(handle, key, objects, err) } }
        } catch let error as PluginCallError where error.isNotFound {
            return nil
        }
        return sink.objects.first
    }

    public func copy(from source: String, to destination: String) throws {
        try call("copy '\(source)' to '\(destination)'") { err in api.copy(handle, source, destination, err) }
    }

    public func remove(key: String) throws {
        try call("delete '\(key)'") { err in api.remove(handle, key, err) }
    }

    public func checkAccess() throws -> [CheckResult] {
        try report("access check") { report, err in api.check_access(handle, report, err) }
    }
}

/// An object being written; nothing is visible until `commit`.
public final class StorageWriter: ByteSink {
    let storage: StorageInstance
    public let key: String
    private var handle: UnsafeMutableRawPointer?
    private var finished = false

    init(storage: StorageInstance, key: String, handle: UnsafeMutableRawPointer?) {
        self.storage = storage; self.key = key; self.handle = handle
    }

    deinit { abort() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw CairnError.failure("\(storage.label): write to '\(key)' after commit or abort") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try storage.call("write '\(key)'") { err in
            storage.api.write(handle, base.assumingMemoryBound(to: UInt8.self), bytes.count, err)
        }
    }

    public func commit() throws {
        guard !finished else { return }
        finished = true  // the plugin releases the writer in commit, also when it fails
        try storage.call("commit '\(key)'") { err in storage.api.commit(handle, err) }
    }

    /// Discards the object. Safe to call more than once.
    public func abort() {
        guard !finished else { return }
        finished = true
        storage.api.abort(handle)
    }
}

/// An object being read.
public final class StorageReader: ByteSource {
    let storage: StorageInstance
    public let key: String
    private var handle: UnsafeMutableRawPointer?
    private var closed = false

    init(storage: StorageInstance, key: String, handle: UnsafeMutableRawPointer?) {
        self.storage = storage; self.key = key; self.handle = handle
    }

    deinit { close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !closed, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let box = ErrorBox()
        let count = box.withCStruct { err in
            storage.api.read(handle, base.assumingMemoryBound(to: UInt8.self), buffer.count, err)
        }
        if count < 0 {
            throw PluginCallError(label: storage.label, operation: "read '\(key)'", status: Int32(-count),
                                  message: box.message ?? "the plugin gave no reason")
        }
        return Int(count)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        storage.api.close_reader(handle)
    }
}

/// Collects `cairn_object_sink` callbacks.
final class ObjectSinkBox {
    var objects: [StoredObject] = []
    var nextToken: String?

    func withCStruct<R>(_ body: (UnsafePointer<cairn_object_sink>) throws -> R) rethrows -> R {
        var sink = cairn_object_sink(
            struct_size: UInt32(MemoryLayout<cairn_object_sink>.size), abi_major: HostABI.major, abi_minor: HostABI.minor,
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            object: { ctx, info in
                guard let ctx, let info, let key = info.pointee.key else { return 1 }
                let box = Unmanaged<ObjectSinkBox>.fromOpaque(ctx).takeUnretainedValue()
                box.objects.append(StoredObject(
                    key: String(cString: key), size: info.pointee.size,
                    modified: Date(timeIntervalSince1970: Double(info.pointee.modified_ms) / 1000),
                    etag: info.pointee.etag.map { String(cString: $0) }))
                return 0
            },
            next_page: { ctx, token in
                guard let ctx else { return 1 }
                Unmanaged<ObjectSinkBox>.fromOpaque(ctx).takeUnretainedValue().nextToken = token.map { String(cString: $0) }
                return 0
            })
        return try withUnsafePointer(to: &sink) { try body($0) }
    }
}
