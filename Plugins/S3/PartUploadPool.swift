import CCairnPlugin
import Glibc

/// One part's bytes in a buffer allocated once and reused for later parts.
final class PartBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var count = 0
    var number = 0

    init(capacity: Int) {
        base = .allocate(byteCount: capacity, alignment: 16)
        self.capacity = capacity
    }

    deinit { base.deallocate() }

    var free: Int { capacity - count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Empties the buffer for part `number` of `size` bytes (parts grow every 1000).
    func reset(number: Int, size: Int) {
        if capacity < size {
            base.deallocate()
            base = .allocate(byteCount: size, alignment: 16)
            capacity = size
        }
        count = 0
        self.number = number
    }

    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let n = min(free, bytes.count)
        if n > 0, let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: n) }
        count += n
        return n
    }
}

/// A part S3 has: what CompleteMultipartUpload must name. `crc32` is the checksum sent with the
/// part (nil for copied parts and with checksums off).
struct UploadedPart {
    var number: Int
    var etag: String
    var crc32: String?
}

/// Uploads the parts of one multipart upload on up to `clients.count` threads, each with its own
/// S3 client and curl handle (a curl handle serves one thread). At most `maxBuffers` parts exist
/// at once, the one being filled included, so memory stays at `maxBuffers × part size`; when all
/// are taken the producer waits. The first failure stops every worker from starting another part
/// and is thrown to the producer at its next call.
///
/// `@unchecked Sendable`: the mutable state is only touched with `mutex` held; a buffer belongs
/// to one thread at a time and changes hands under the mutex.
final class PartUploadPool: @unchecked Sendable {
    private let key: String
    private let uploadID: String
    private let maxBuffers: Int
    private let checksums: Bool
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [PartBuffer] = []
    private var spare: [PartBuffer] = []
    private var buffersCreated = 0
    private var uploading = 0
    private var uploaded: [Int: UploadedPart] = [:]
    private var failure: S3Error?
    private var stopping = false
    private var threads: [pthread_t] = []

    /// `checksums`: send each part's CRC32 (the upload was started with x-amz-checksum-algorithm).
    init(clients: [S3Client], key: String, uploadID: String, maxBuffers: Int, checksums: Bool) throws(S3Error) {
        self.key = key
        self.uploadID = uploadID
        self.maxBuffers = max(1, maxBuffers)
        self.checksums = checksums
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        for client in clients {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, client: client)).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.work(with: context.client)
                return nil
            }, context)
            guard started == 0 else {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
                stop()
                throw S3Error(CAIRN_ERROR, "cannot start an upload thread: \(String(cString: strerror(started)))")
            }
            threads.append(thread)
        }
    }

    deinit {
        stop()
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// An empty buffer for part `number`: a spare one, a new one while fewer than maxBuffers
    /// exist, or else the next one an upload frees.
    func takeBuffer(number: Int, size: Int) throws(S3Error) -> PartBuffer {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while true {
            if let failure { throw failure }
            if let buffer = spare.popLast() {
                buffer.reset(number: number, size: size)
                return buffer
            }
            if buffersCreated < maxBuffers {
                buffersCreated += 1
                let buffer = PartBuffer(capacity: size)
                buffer.reset(number: number, size: size)
                return buffer
            }
            pthread_cond_wait(changed, mutex)
        }
    }

    func submit(_ buffer: PartBuffer) throws(S3Error) {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        if let failure { throw failure }
        queue.append(buffer)
        pthread_cond_broadcast(changed)
    }

    /// Waits for every submitted part, stops the workers and returns the parts in order.
    func finish() throws(S3Error) -> [UploadedPart] {
        pthread_mutex_lock(mutex)
        while failure == nil && (!queue.isEmpty || uploading > 0) { pthread_cond_wait(changed, mutex) }
        let outcome = failure
        pthread_mutex_unlock(mutex)
        stop()
        if let outcome { throw outcome }
        return uploaded.values.sorted { $0.number < $1.number }
    }

    /// Lets the parts being uploaded finish (so none arrives after an abort), drops the queued
    /// ones and joins the workers. Idempotent.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        queue.removeAll()
        pthread_cond_broadcast(changed)
        let joining = threads
        threads = []
        pthread_mutex_unlock(mutex)
        for thread in joining { pthread_join(thread, nil) }
    }

    private func work(with client: S3Client) {
        while true {
            pthread_mutex_lock(mutex)
            while queue.isEmpty && !stopping { pthread_cond_wait(changed, mutex) }
            if stopping {
                pthread_mutex_unlock(mutex)
                return
            }
            let buffer = queue.removeFirst()
            uploading += 1
            pthread_mutex_unlock(mutex)

            let result = Result { () throws(S3Error) -> UploadedPart in try upload(buffer, with: client) }

            pthread_mutex_lock(mutex)
            uploading -= 1
            switch result {
            case .success(let part): uploaded[part.number] = part
            case .failure(let error):
                if failure == nil { failure = error }
                stopping = true
                queue.removeAll()
            }
            spare.append(buffer)
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Runs on a worker thread, so the part's CRC32, like its SigV4 payload hash, costs no time
    /// on the thread producing the archive.
    private func upload(_ buffer: PartBuffer, with client: S3Client) throws(S3Error) -> UploadedPart {
        if client.cancelled { throw S3Error(CAIRN_CANCELLED, "upload of s3://\(client.bucket)/\(key) cancelled") }
        let crc32 = checksums ? S3Checksum.crc32(buffer.bytes) : nil
        let response = try client.send("PUT", key: key, query: [("partNumber", String(buffer.number)), ("uploadId", uploadID)],
                                       headers: crc32.map { [("x-amz-checksum-crc32", $0)] } ?? [],
                                       body: buffer.bytes, what: "upload part \(buffer.number) of")
        guard let etag = response.headers["etag"], !etag.isEmpty else {
            throw S3Error(CAIRN_IO, "upload part \(buffer.number) of s3://\(client.bucket)/\(key): no ETag in the answer")
        }
        return UploadedPart(number: buffer.number, etag: etag, crc32: crc32)
    }
}

private final class WorkerContext {
    let pool: PartUploadPool
    let client: S3Client
    init(pool: PartUploadPool, client: S3Client) { self.pool = pool; self.client = client }
}
