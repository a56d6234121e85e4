import CCairnPlugin
import CairnPluginHTTP
import Glibc

/// Streams one object of unknown size. Small objects become one PUT on commit; once the data
/// passes `multipart_threshold`, a multipart upload starts and parts go up as they fill, up to
/// `parts_in_flight` at once on their own connections (PartUploadPool). Nothing is visible under
/// the key until commit; any failure or abort aborts the multipart upload so no billed parts
/// are left behind.
final class S3ObjectWriter {
    private let store: S3Store
    let key: String
    /// Everything written while the object may still fit one PUT.
    private var small: [UInt8] = []
    private var uploadID: String?
    private var pool: PartUploadPool?
    private var part: PartBuffer?
    private var partsSubmitted = 0
    private var written: UInt64 = 0
    private var finished = false

    init(store: S3Store, key: String) {
        self.store = store
        self.key = key
    }

    deinit { discard() }

    /// Part n's size: the part size grows by itself every 1000 parts, so 10,000 parts of an 8 MiB
    /// base hold about 430 GiB while small backups keep small buffers. Parts may differ in size.
    private func partSize(for number: Int) -> Int { store.partSize * (1 + (number - 1) / 1000) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        guard !finished else { throw S3Error(CAIRN_INVALID, "write to s3://\(store.client.bucket)/\(key) after it was finished") }
        written += UInt64(bytes.count)
        do throws(S3Error) {
            if uploadID == nil {
                small.append(contentsOf: bytes)
                if small.count <= store.multipartThreshold { return }
                try start()
                let pending = small
                small = []
                try withBytes(pending) { (all) throws(S3Error) in try fillParts(all) }
            } else {
                try fillParts(bytes)
            }
        } catch {
            discard()
            throw error
        }
    }

    func commit() throws(S3Error) {
        guard !finished else { throw S3Error(CAIRN_INVALID, "commit of s3://\(store.client.bucket)/\(key) after it was finished") }
        do throws(S3Error) {
            if uploadID == nil {
                _ = try withBytes(small) { (body) throws(S3Error) in try store.put(key, body, locked: true) }
            } else {
                if let part, part.count > 0 || partsSubmitted == 0 { try submit(part) }
                part = nil
                guard let pool else { return }
                let parts = try pool.finish()
                try complete(parts)
            }
            finished = true
            small = []
        } catch {
            discard()
            throw error
        }
    }

    /// Stops the part uploads, aborts the multipart upload (best effort, logged) and drops the
    /// buffers; safe to repeat.
    func discard() {
        finished = true
        small = []
        pool?.stop()
        pool = nil
        part = nil
        guard let uploadID else { return }
        self.uploadID = nil
        store.abortUpload(key: key, uploadID: uploadID)
    }

    private func start() throws(S3Error) {
        let id = try store.startUpload(key: key, headers: store.writeHeaders + store.checksumAlgorithmHeader + store.lockHeaders,
                                       what: "start multipart upload of")
        uploadID = id
        pool = try PartUploadPool(clients: try store.uploadClients(), key: key, uploadID: id, maxBuffers: store.partsInFlight,
                               checksums: store.checksums)
    }

    /// Copies bytes into part buffers, handing each full one to the pool.
    private func fillParts(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        var rest = bytes
        while !rest.isEmpty {
            let buffer = try currentPart()
            let n = buffer.append(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if buffer.free == 0 {
                try submit(buffer)
                part = nil
            }
        }
    }

    private func currentPart() throws(S3Error) -> PartBuffer {
        if let part { return part }
        guard let pool else { throw S3Error(CAIRN_INVALID, "no multipart upload of s3://\(store.client.bucket)/\(key) is open") }
        let number = partsSubmitted + 1
        guard number <= S3Store.maximumParts else {
            throw S3Error(CAIRN_INVALID, "s3://\(store.client.bucket)/\(key) needs more than 10,000 parts "
                          + "after \(written) bytes: raise setting part_size")
        }
        let buffer = try pool.takeBuffer(number: number, size: partSize(for: number))
        part = buffer
        return buffer
    }

    private func submit(_ buffer: PartBuffer) throws(S3Error) {
        if store.client.cancelled { throw S3Error(CAIRN_CANCELLED, "upload of s3://\(store.client.bucket)/\(key) cancelled") }
        try pool?.submit(buffer)
        partsSubmitted += 1
    }

    private func complete(_ parts: [UploadedPart]) throws(S3Error) {
        guard let uploadID else { return }
        try store.completeUpload(key: key, uploadID: uploadID, parts: parts)
        self.uploadID = nil
    }
}
