import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The s3 backend: Weaviate's backup-s3 module writes the backup into the bucket itself, so Cairn
/// (whose store must be that bucket) checks the objects through the host's "cairn.store" table,
/// archives only the small descriptors plus a listing, and writes backup_metadata.json beside
/// Weaviate's objects.
struct BucketObjects {
    let host: PluginHost
    let store: UnsafePointer<cairn_store_api>
    /// Weaviate's BACKUP_S3_PATH as a key prefix: "" or "path/".
    let root: String
    let bucket: String?

    /// `root`: the prefix a stored backup recorded; else BACKUP_S3_PATH as /v1/meta reports it.
    init(host: PluginHost, module: JSON?, root: String? = nil) throws(WeaviateError) {
        guard let store = host.table(CAIRN_STORE_API_NAME, version: UInt32(CAIRN_STORE_API_VERSION), as: cairn_store_api.self) else {
            throw WeaviateError(CAIRN_UNSUPPORTED, "backend s3 needs the host's cairn.store service to see Weaviate's objects, and this host does not offer it")
        }
        self.host = host
        self.store = store
        bucket = module?["bucketName"]?.string
        if let root {
            self.root = root
        } else {
            let name = module?["rootName"]?.string ?? module?["path"]?.string ?? ""
            let trimmed = String(name.drop(while: { $0 == "/" }).reversed().drop(while: { $0 == "/" }).reversed())
            self.root = trimmed.isEmpty ? "" : trimmed + "/"
        }
    }

    private final class Listing {
        var objects: [(key: String, size: Int64)] = []
    }

    private final class Bytes {
        var data: [UInt8] = []
        let limit: Int
        init(limit: Int) { self.limit = limit }
    }

    private func fail(_ status: cairn_status, _ box: StoreCallError) -> WeaviateError {
        WeaviateError(status, "Cairn's store: \(box.message ?? "failed without a message")")
    }

    /// Every object under `prefix`, keys in full.
    func list(_ prefix: String) throws(WeaviateError) -> [(key: String, size: Int64)] {
        let listing = Listing()
        let box = StoreCallError()
        let status = box.with { err in
            var sink = cairn_object_sink()
            sink.struct_size = UInt32(MemoryLayout<cairn_object_sink>.size)
            sink.abi_major = UInt32(CAIRN_ABI_MAJOR)
            sink.abi_minor = UInt32(CAIRN_ABI_MINOR)
            sink.ctx = Unmanaged.passUnretained(listing).toOpaque()
            sink.object = { ctx, info in
                guard let ctx, let info, let key = info.pointee.key.flatMap({ String(validatingCString: $0) }) else { return 0 }
                Unmanaged<Listing>.fromOpaque(ctx).takeUnretainedValue().objects.append((key, Int64(info.pointee.size)))
                return 0
            }
            return withUnsafePointer(to: &sink) { store.pointee.list(host.api.pointee.host_ctx, prefix, $0, err) }
        }
        guard status == CAIRN_OK else { throw fail(status, box) }
        return listing.objects
    }

    /// A small object whole, or nil when it does not exist.
    func read(_ key: String, limit: Int = 64 << 20) throws(WeaviateError) -> [UInt8]? {
        let bytes = Bytes(limit: limit)
        let box = StoreCallError()
        let status = box.with { err in
            store.pointee.read(host.api.pointee.host_ctx, key, { ctx, data, length in
                guard let ctx, let data else { return 0 }
                let bytes = Unmanaged<Bytes>.fromOpaque(ctx).takeUnretainedValue()
                bytes.data += UnsafeBufferPointer(start: data, count: length)
                return bytes.data.count > bytes.limit ? Int32(CAIRN_CORRUPT.rawValue) : 0
            }, Unmanaged.passUnretained(bytes).toOpaque(), err)
        }
        if status == CAIRN_NOT_FOUND { return nil }
        if status == CAIRN_CORRUPT && bytes.data.count > limit { throw WeaviateError(CAIRN_CORRUPT, "\(key) is larger than \(limit) bytes") }
        guard status == CAIRN_OK else { throw fail(status, box) }
        return bytes.data
    }

    func write(_ key: String, _ data: [UInt8]) throws(WeaviateError) {
        let box = StoreCallError()
        let status = box.with { err in
            data.withUnsafeBufferPointer { store.pointee.write(host.api.pointee.host_ctx, key, $0.baseAddress, $0.count, err) }
        }
        guard status == CAIRN_OK else { throw fail(status, box) }
    }

    var place: String { "s3://\(bucket ?? "<BACKUP_S3_BUCKET>")/\(root)" }

    /// After Weaviate reported SUCCESS: checks every object is in the bucket, archives the
    /// descriptors, records the listing, and writes backup_metadata.json beside the objects.
    func archive(id: String, sink: EntrySink, component: WeaviateComponent) throws(WeaviateError) {
        let base = root + id + "/"
        let objects = try list(base).map { (key: String($0.key.dropFirst(base.count)), size: $0.size) }
        guard !objects.isEmpty else {
            throw WeaviateError(CAIRN_NOT_FOUND, "Weaviate reports backup \(id) done in \(place)\(id)/, but Cairn's store holds nothing under \(base): Cairn's storage must be the bucket Weaviate writes to (BACKUP_S3_BUCKET), and BACKUP_S3_PATH must match")
        }
        var layout = BackupLayout()
        var descriptors: [(String, [UInt8])] = []
        for object in objects {
            layout.files.insert(object.key)
            guard BackupLayout.isDescriptor(object.key), let bytes = try read(base + object.key) else { continue }
            guard layout.add(descriptor: object.key, bytes) else {
                throw WeaviateError(CAIRN_CORRUPT, "\(base)\(object.key) in the bucket is not valid JSON")
            }
            descriptors.append((object.key, bytes))
        }
        let problems = layout.problems(id: id)
        guard problems.isEmpty else {
            throw WeaviateError(CAIRN_CORRUPT, "the objects of backup \(id) under \(place)\(id)/ are incomplete: \(problems.joined(separator: "; ")). Nothing was stored")
        }
        let listing = JSON.object([
            "bucket": bucket.map(JSON.string) ?? .null,
            "root": .string(root),
            "prefix": .string(base),
            "objects": .array(objects.map { .object(["key": .string($0.key), "size": .number(Double($0.size))]) }),
            "total_bytes": .number(Double(objects.reduce(Int64(0)) { $0 + $1.size })),
        ])
        try sink.fact("backup_classes", .array(layout.classes.map(JSON.string)))
        try sink.fact("backup_nodes", .array(layout.nodes.map(JSON.string)))
        try sink.fact("server_version", layout.config?["serverVersion"] ?? .null)
        try sink.fact("bucket_objects", listing)
        let now = now()
        for (path, bytes) in descriptors { try sink.file(path, bytes, mtime: now) }
        // Weaviate writes no backup_metadata.json; the runbook's layout expects one beside the data.
        let metadata = JSON.object([
            "backup_id": .string(id), "written_by": .string("cairn"), "written_at": .string(isoNow()),
            "classes": .array(layout.classes.map(JSON.string)), "nodes": .array(layout.nodes.map(JSON.string)),
            "server_version": layout.config?["serverVersion"] ?? .null, "objects": listing["objects"]!,
            "total_bytes": listing["total_bytes"]!,
        ])
        try write(base + "backup_metadata.json", Array(metadata.text.utf8))
        component.host.log(CAIRN_LOG_INFO, "backup \(id): \(objects.count) objects checked in \(place)\(id)/, backup_metadata.json written beside them")
    }

    /// Every object the stored backup lists is still in the bucket with its size. Returns false
    /// (after reporting) when not.
    @discardableResult
    func check(_ stored: WeaviateComponent.StoredBackup, report: CheckReport) throws(WeaviateError) -> Bool {
        let base = root + stored.id + "/"
        var present: [String: Int64] = [:]
        for object in try list(base) { present[String(object.key.dropFirst(base.count))] = object.size }
        let expected = stored.objects
        let missing = expected.filter { present[$0.key] == nil }.map(\.key)
        let resized = expected.filter { present[$0.key] != nil && present[$0.key] != $0.size }.map(\.key)
        if expected.isEmpty {
            try report.add("s3.objects", CAIRN_CHECK_FAIL, "backup_metadata.json lists no bucket objects for backup \(stored.id)")
            return false
        }
        if missing.isEmpty && resized.isEmpty {
            try report.add("s3.objects", CAIRN_CHECK_PASS, "all \(expected.count) objects of \(stored.id) are in the bucket under \(base) with their recorded sizes")
            return true
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")") }
        if !resized.isEmpty { parts.append("size changed: \(resized.prefix(5).joined(separator: ", "))") }
        try report.add("s3.objects", CAIRN_CHECK_FAIL, "the bucket under \(base) no longer matches backup \(stored.id): \(parts.joined(separator: "; "))")
        return false
    }
}

/// An error reporter handed to the host's store functions; keeps the message.
final class StoreCallError {
    var message: String?

    func with(_ body: (UnsafePointer<cairn_error>) -> cairn_status) -> cairn_status {
        var err = cairn_error()
        err.struct_size = UInt32(MemoryLayout<cairn_error>.size)
        err.abi_major = UInt32(CAIRN_ABI_MAJOR)
        err.abi_minor = UInt32(CAIRN_ABI_MINOR)
        err.ctx = Unmanaged.passUnretained(self).toOpaque()
        err.set = { ctx, _, message in
            guard let ctx, let message else { return }
            Unmanaged<StoreCallError>.fromOpaque(ctx).takeUnretainedValue().message = String(cString: message)
        }
        return withExtendedLifetime(self) { withUnsafePointer(to: &err) { body($0) } }
    }
}
