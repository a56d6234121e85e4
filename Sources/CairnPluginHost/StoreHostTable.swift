import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation

/// The optional "cairn.store" host table (cairn_plugin.h): the configured store, lent to component
/// plugins whose source writes straight into it (Weaviate's backup-s3 module). The functions are
/// C-convention closures that capture nothing; the instance arrives through `host_ctx`.
enum StoreHostTable {
    static let name = CAIRN_STORE_API_NAME
    static let version = UInt32(CAIRN_STORE_API_VERSION)

    /// Built once, never freed: plugins may keep the pointer for the process.
    nonisolated(unsafe) static let table: UnsafePointer<cairn_store_api> = {
        let table = UnsafeMutablePointer<cairn_store_api>.allocate(capacity: 1)
        table.initialize(to: cairn_store_api(
            struct_size: UInt32(MemoryLayout<cairn_store_api>.size),
            abi_major: HostABI.major,
            abi_minor: HostABI.minor,
            list: { ctx, prefix, sink, err in
                run(ctx, err, "list") { store in
                    guard let sink, let object = sink.pointee.object else { throw nullArgument }
                    let objects = try store.list(prefix: prefix.map { String(cString: $0) } ?? "")
                    for item in objects {
                        let code = item.key.withCString { key in
                            var info = cairn_object_info(struct_size: UInt32(MemoryLayout<cairn_object_info>.size), key: key,
                                                         size: item.size, modified_ms: Int64(item.modified.timeIntervalSince1970 * 1000),
                                                         etag: nil, locked_until_ms: 0)
                            return object(sink.pointee.ctx, &info)
                        }
                        if code != 0 { return cairn_status(rawValue: UInt32(clamping: code)) }
                    }
                    return CAIRN_OK
                }
            },
            read: { ctx, key, chunk, chunkContext, err in
                run(ctx, err, "read") { store in
                    guard let key, let chunk else { throw nullArgument }
                    let reader = try store.openReader(key: String(cString: key))
                    defer { reader.close() }
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
                    defer { buffer.deallocate() }
                    while true {
                        let n = try reader.read(into: buffer)
                        if n == 0 { return CAIRN_OK }
                        let code = chunk(chunkContext, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), n)
                        if code != 0 { return cairn_status(rawValue: UInt32(clamping: code)) }
                    }
                }
            },
            write: { ctx, key, data, length, err in
                run(ctx, err, "write") { store in
                    guard let key, data != nil || length == 0 else { throw nullArgument }
                    let writer = try store.openWriter(key: String(cString: key))
                    do {
                        try writer.write(UnsafeRawBufferPointer(start: data, count: length))
                        try writer.commit()
                    } catch {
                        writer.abort()
                        throw error
                    }
                    return CAIRN_OK
                }
            }
        ))
        return UnsafePointer(table)
    }()

    private static let nullArgument = CairnError.usage("a required argument is NULL")

    /// The table for `name`/`version`, if this instance may use it.
    static func lookup(_ context: PluginContext, name: String, version: UInt32) -> UnsafeRawPointer? {
        guard name == Self.name, version <= Self.version, context.storeProvider != nil else { return nil }
        return UnsafeRawPointer(table)
    }

    /// Runs one call against the instance's store, turning thrown errors into a status and message.
    private static func run(_ ctx: UnsafeMutableRawPointer?, _ err: UnsafePointer<cairn_error>?, _ operation: String,
                            _ body: (any ObjectStore) throws -> cairn_status) -> cairn_status {
        func fail(_ status: cairn_status, _ message: String) -> cairn_status {
            if let err, let set = err.pointee.set { message.withCString { set(err.pointee.ctx, status, $0) } }
            return status
        }
        guard let context = PluginContext.from(ctx) else { return fail(CAIRN_INVALID, "cairn.store \(operation): no host context") }
        context.noteService("cairn.store")
        // One call at a time per instance: plugin threads may call at once, a store takes one.
        context.storeLock.lock()
        defer { context.storeLock.unlock() }
        do {
            return try body(try context.store())
        } catch let error as StoreError {
            let status: cairn_status = switch error.kind {
            case .notFound: CAIRN_NOT_FOUND
            case .denied: CAIRN_DENIED
            case .invalid: CAIRN_INVALID
            case .cancelled: CAIRN_CANCELLED
            case .failed: CAIRN_IO
            }
            return fail(status, error.description)
        } catch {
            return fail(CAIRN_IO, "cairn.store \(operation): \(describe(error))")
        }
    }
}
