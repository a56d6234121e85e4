import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation

/// A storage plugin instance as an `ObjectStore`: the ABI's operations as Swift methods. The
/// plugin's failures become `StoreError`s naming the plugin, the operation and its own words.
public final class PluginStore: PluginInstance, ObjectStore, @unchecked Sendable {
    var api: cairn_storage_api { storageTable!.pointee }  // non-nil: checked by PluginLoader

    /// Runs one store operation; a plugin failure is the store's failure.
    func storeCall(_ operation: String, _ body: (UnsafePointer<cairn_error>) -> cairn_status) throws {
        do { try call(operation, body) } catch let error as PluginCallError { throw error.storeError } catch {
            throw workerStoreError(operation) ?? error
        }
    }

    /// The store failed because its worker died or hung: the store's failure, in the worker's words.
    func workerStoreError(_ operation: String) -> StoreError? {
        workerFailure.map { StoreError(store: label, operation: operation, reason: "worker stopped", message: $0) }
    }

    public func openWriter(key: String) throws -> any ObjectWriter {
        var writer: UnsafeMutableRawPointer?
        try storeCall("open writer for '\(key)'") { err in api.open_writer(handle, key, &writer, err) }
        return StorageWriter(storage: self, key: key, handle: writer)
    }

    public func openReader(key: String) throws -> any ObjectReader {
        var reader: UnsafeMutableRawPointer?
        try storeCall("open '\(key)'") { err in api.open_reader(handle, key, &reader, err) }
        return StorageReader(storage: self, key: key, handle: reader)
    }

    /// Every object under `prefix`, following continuation tokens to the end.
    public func list(prefix: String) throws -> [StoredObject] {
        var all: [StoredObject] = []
        var token: String?
        repeat {
            let sink = ObjectSinkBox()
            try sink.withCStruct { objects in
                try storeCall("list '\(prefix)'") { err in
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
        } catch let error as PluginCallError {
            if error.isNotFound { return nil }
            throw error.storeError
        }
        return sink.objects.first
    }

    public func copy(from source: String, to destination: String) throws {
        try storeCall("copy '\(source)' to '\(destination)'") { err in api.copy(handle, source, destination, err) }
    }

    public func remove(key: String) throws {
        try storeCall("delete '\(key)'") { err in api.remove(handle, key, err) }
    }

    public func putIf(key: String, data: [UInt8], ifVersion: String?) throws -> StoredObject? {
        let operation = ifVersion == nil ? "create '\(key)' if absent" : "replace '\(key)' if unchanged"
        // Appended in ABI 1.1: a plugin built before it has a shorter table.
        let table = storageTable!
        guard Int(table.pointee.struct_size) >= FrozenABI.sizeThrough(\cairn_storage_api.put_if), let putIf = table.pointee.put_if else {
            throw StoreError.unsupported(store: label, operation: operation)
        }
        let sink = ObjectSinkBox()
        do {
            try sink.withCStruct { objects in
                try call(operation) { err in
                    data.withUnsafeBufferPointer { bytes in
                        if let ifVersion { return ifVersion.withCString { putIf(handle, key, bytes.baseAddress, bytes.count, $0, objects, err) } }
                        return putIf(handle, key, bytes.baseAddress, bytes.count, nil, objects, err)
                    }
                }
            }
        } catch let error as PluginCallError {
            if error.status == Int32(CAIRN_CHANGED.rawValue) { return nil }
            throw error.storeError
        }
        return sink.objects.first ?? StoredObject(key: key, size: UInt64(data.count), modified: Date())
    }

    public func checkAccess() throws -> [CheckResult] {
        do { return try report("access check") { report, err in api.check_access(handle, report, err) } } catch let error as PluginCallError {
            throw error.storeError
        }
    }
}

/// An object being written; nothing is visible until `commit`.
final class StorageWriter: ObjectWriter {
    let storage: PluginStore
    public let key: String
    private var handle: UnsafeMutableRawPointer?
    private var finished = false

    init(storage: PluginStore, key: String, handle: UnsafeMutableRawPointer?) {
        self.storage = storage; self.key = key; self.handle = handle
        storage.context.beginActivity()  // a live writer's threads may use host services (cairn_plugin.h)
    }

    deinit { abort() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw CairnError.failure("\(storage.label): write to '\(key)' after commit or abort") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try storage.storeCall("write '\(key)'") { err in
            storage.api.write(handle, base.assumingMemoryBound(to: UInt8.self), bytes.count, err)
        }
    }

    public func commit() throws {
        guard !finished else { return }
        finished = true  // the plugin releases the writer in commit, also when it fails
        defer { storage.context.endActivity() }
        try storage.storeCall("commit '\(key)'") { err in storage.api.commit(handle, err) }
    }

    /// Discards the object. Safe to call more than once.
    public func abort() {
        guard !finished else { return }
        finished = true
        storage.api.abort(handle)
        storage.context.endActivity()
    }
}

/// An object being read.
final class StorageReader: ObjectReader {
    let storage: PluginStore
    public let key: String
    private var handle: UnsafeMutableRawPointer?
    private var closed = false

    init(storage: PluginStore, key: String, handle: UnsafeMutableRawPointer?) {
        self.storage = storage; self.key = key; self.handle = handle
        storage.context.beginActivity()
    }

    deinit { close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !closed, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let box = ErrorBox()
        let count = box.withCStruct { err in
            storage.api.read(handle, base.assumingMemoryBound(to: UInt8.self), buffer.count, err)
        }
        if count < 0 {
            if let failure = storage.workerStoreError("read '\(key)'") { throw failure }
            throw PluginCallError(label: storage.label, operation: "read '\(key)'", status: Int32(-count),
                                  message: box.message ?? PluginCallError.noReason).storeError
        }
        // A count past the buffer would have the caller take bytes nobody wrote.
        guard count <= buffer.count else {
            throw StoreError(store: storage.label, operation: "read '\(key)'", reason: "broken plugin",
                             message: "its read returned \(count) bytes for a buffer of \(buffer.count)")
        }
        return Int(count)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        storage.api.close_reader(handle)
        storage.context.endActivity()
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
                    etag: info.pointee.etag.map { String(cString: $0) }, lockedUntil: ObjectSinkBox.lockedUntil(info)))
                return 0
            },
            next_page: { ctx, token in
                guard let ctx else { return 1 }
                Unmanaged<ObjectSinkBox>.fromOpaque(ctx).takeUnretainedValue().nextToken = token.map { String(cString: $0) }
                return 0
            })
        return try withUnsafePointer(to: &sink) { try body($0) }
    }

    /// `locked_until_ms` (ABI 1.2) when the plugin's struct has it and it is set.
    static func lockedUntil(_ info: UnsafePointer<cairn_object_info>) -> Date? {
        guard Int(info.pointee.struct_size) >= FrozenABI.sizeThrough(\cairn_object_info.locked_until_ms) else { return nil }
        let ms = info.pointee.locked_until_ms
        if ms <= 0 { return nil }
        return ms == Int64.max ? .distantFuture : Date(timeIntervalSince1970: Double(ms) / 1000)
    }
}
