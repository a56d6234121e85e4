import CCairnPlugin
import CairnPluginHTTP
import Glibc

/// Streams one object of unknown size. Small objects become one PUT on commit; once the data
/// passes `multipart_threshold`, a multipart upload starts and parts go out as they fill, one at
/// a time (no parallel parts yet). Nothing is visible under the key until commit; any failure or
/// abort aborts the multipart upload so no billed parts are left behind.
final class S3ObjectWriter {
    private let store: S3Store
    let key: String
    private var buffer: [UInt8] = []
    private var uploadID: String?
    private var parts: [(number: Int, etag: String)] = []
    private var written: UInt64 = 0
    private var finished = false

    init(store: S3Store, key: String) {
        self.store = store
        self.key = key
        buffer.reserveCapacity(min(store.partSize, store.multipartThreshold) + (1 << 20))
    }

    deinit { discard() }

    /// Part n's size: the part size grows by itself every 1000 parts, so 10,000 parts of a 16 MiB
    /// base hold about 859 GiB while small backups keep small buffers. Parts may differ in size.
    private func partSize(for number: Int) -> Int { store.partSize * (1 + (number - 1) / 1000) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        guard !finished else { throw S3Error(CAIRN_INVALID, "write to s3://\(store.client.bucket)/\(key) after it was finished") }
        buffer.append(contentsOf: bytes)
        written += UInt64(bytes.count)
        do throws(S3Error) {
            if uploadID == nil {
                if buffer.count <= store.multipartThreshold { return }
                try start()
            }
            try flushFullParts()
        } catch {
            discard()
            throw error
        }
    }

    func commit() throws(S3Error) {
        guard !finished else { throw S3Error(CAIRN_INVALID, "commit of s3://\(store.client.bucket)/\(key) after it was finished") }
        do throws(S3Error) {
            if uploadID == nil {
                try withBytes(buffer) { (body) throws(S3Error) in try store.put(key, body) }
            } else {
                try flushFullParts()
                if !buffer.isEmpty || parts.isEmpty { try uploadPart(count: buffer.count) }
                try complete()
            }
            finished = true
            buffer = []
        } catch {
            discard()
            throw error
        }
    }

    /// Aborts the multipart upload (best effort, logged) and drops the buffer; safe to repeat.
    func discard() {
        finished = true
        buffer = []
        guard let uploadID else { return }
        self.uploadID = nil
        do throws(S3Error) {
            _ = try store.client.send("DELETE", key: key, query: [("uploadId", uploadID)], what: "abort multipart upload of",
                                      accept: [404])
        } catch {
            store.client.log(CAIRN_LOG_WARNING, "\(error.message); the incomplete upload \(uploadID) stays billed until "
                             + "a lifecycle rule (AbortIncompleteMultipartUpload) removes it")
        }
    }

    private func start() throws(S3Error) {
        let response = try store.client.send("POST", key: key, query: [("uploads", "")], headers: store.writeHeaders,
                                             what: "start multipart upload of")
        guard let id = XML.first("UploadId", in: response.text), !id.isEmpty else {
            throw S3Error(CAIRN_IO, "start multipart upload of s3://\(store.client.bucket)/\(key): no UploadId in the answer")
        }
        uploadID = id
    }

    private func flushFullParts() throws(S3Error) {
        var consumed = 0
        while buffer.count - consumed >= partSize(for: parts.count + 1) {
            let size = partSize(for: parts.count + 1)
            try uploadPart(from: consumed, count: size)
            consumed += size
        }
        if consumed > 0 { buffer.removeFirst(consumed) }
    }

    private func uploadPart(from offset: Int = 0, count: Int) throws(S3Error) {
        guard let uploadID else { return }
        let number = parts.count + 1
        guard number <= S3Store.maximumParts else {
            throw S3Error(CAIRN_INVALID, "s3://\(store.client.bucket)/\(key) needs more than 10,000 parts "
                          + "after \(written) bytes: raise setting part_size")
        }
        if store.client.cancelled { throw S3Error(CAIRN_CANCELLED, "upload of s3://\(store.client.bucket)/\(key) cancelled") }
        let response = try withBytes(buffer) { (all) throws(S3Error) -> HTTPResponse in
            let part = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])
            return try store.client.send("PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                         body: part, what: "upload part \(number) of")
        }
        guard let etag = response.headers["etag"], !etag.isEmpty else {
            throw S3Error(CAIRN_IO, "upload part \(number) of s3://\(store.client.bucket)/\(key): no ETag in the answer")
        }
        parts.append((number, etag))
    }

    private func complete() throws(S3Error) {
        guard let uploadID else { return }
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XML.escape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        // A 200 can still carry an <Error>: the object is then not published.
        _ = try withBytes(body) { (bytes) throws(S3Error) -> HTTPResponse in
            try store.client.send("POST", key: key, query: [("uploadId", uploadID)],
                                  headers: [("content-type", "application/xml")], body: bytes,
                                  what: "complete multipart upload of", errorIn200: true)
        }
        self.uploadID = nil
    }
}

/// Reads an object in ranged GETs of 32 MiB: bounded memory, and a failed chunk is simply asked
/// for again. The ETag of every chunk must match the first, or the object changed under us.
final class S3ObjectReader {
    private let store: S3Store
    private let info: S3Store.ObjectInfo
    private var chunk: [UInt8] = []
    private var chunkOffset = 0
    private var position: UInt64 = 0

    init(store: S3Store, key: String) throws(S3Error) {
        self.store = store
        info = try store.head(key)
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(S3Error) -> Int {
        if chunkOffset == chunk.count {
            guard position < info.size else { return 0 }
            if store.client.cancelled { throw S3Error(CAIRN_CANCELLED, "download of s3://\(store.client.bucket)/\(info.key) cancelled") }
            let last = min(info.size, position + UInt64(S3Store.readChunk)) - 1
            let response = try store.client.send("GET", key: info.key, headers: [("range", "bytes=\(position)-\(last)")],
                                                 what: "download", expectedBytes: Int(last - position + 1))
            if let etag = info.etag, let now = response.headers["etag"], now != etag {
                throw S3Error(CAIRN_CHANGED, "s3://\(store.client.bucket)/\(info.key) changed while it was being read "
                              + "(ETag \(etag) became \(now))")
            }
            guard response.body.count == Int(last - position + 1) else {
                throw S3Error(CAIRN_IO, "download s3://\(store.client.bucket)/\(info.key): asked for bytes \(position)-\(last), "
                              + "got \(response.body.count) bytes (HTTP \(response.status))")
            }
            chunk = response.body
            chunkOffset = 0
            position = last + 1
        }
        let n = min(count, chunk.count - chunkOffset)
        chunk.withUnsafeBytes { source in
            if let base = source.baseAddress { memcpy(buffer, base + chunkOffset, n) }
        }
        chunkOffset += n
        return n
    }
}
