import CCairnPlugin
import CCurl
import CairnPluginHTTP
import Glibc

/// Reads an object through one streaming GET on a thread of its own, handing bytes over through
/// a bounded buffer (memory stays at `bufferSize` whatever the object's size). One request
/// instead of many ranged ones: servers like moto copy the whole object for every request, and
/// on S3 each request adds a first-byte latency. A dropped or failed transfer resumes from the
/// byte it reached (`Range`, pinned to the ETag by `If-Match`, so a replaced object fails with
/// CAIRN_CHANGED instead of mixing two objects), up to max_attempts tries without progress.
final class S3ObjectReader {
    static let bufferSize = 8 << 20
    private let download: ObjectDownload
    private var thread: pthread_t?

    init(store: S3Store, key: String) throws(S3Error) {
        download = ObjectDownload(client: store.client, info: try store.head(key), capacity: Self.bufferSize)
    }

    deinit { close() }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(S3Error) -> Int {
        if thread == nil && download.info.size > 0 {
            let context = Unmanaged.passRetained(download).toOpaque()
            var started = pthread_t()
            let code = pthread_create(&started, nil, { raw in
                Unmanaged<ObjectDownload>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context)
            guard code == 0 else {
                Unmanaged<ObjectDownload>.fromOpaque(context).release()
                throw S3Error(CAIRN_ERROR, "cannot start a download thread: \(String(cString: strerror(code)))")
            }
            thread = started
        }
        return try download.take(into: buffer, count: count)
    }

    /// Stops the transfer if it is still running and waits for its thread.
    func close() {
        download.cancel()
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }
}

/// The transfer's state shared by the reading thread and the download thread.
///
/// `@unchecked Sendable`: the ring and flags are only touched with `mutex` held; the curl
/// handle and response fields belong to the download thread alone.
private final class ObjectDownload: @unchecked Sendable {
    let client: S3Client
    let info: S3Store.ObjectInfo
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let ring: UnsafeMutableRawPointer
    private let capacity: Int
    private var start = 0
    private var filled = 0
    private var ended = false
    private var cancelled = false
    private var failure: S3Error?
    /// Bytes handed to the ring so far (download thread only).
    private var position: UInt64 = 0
    private var status = 0
    private var errorBody: [UInt8] = []

    init(client: S3Client, info: S3Store.ObjectInfo, capacity: Int) {
        self.client = client
        self.info = info
        self.capacity = capacity
        ring = .allocate(byteCount: capacity, alignment: 16)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        ring.deallocate()
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    // MARK: Reading side

    func take(into buffer: UnsafeMutableRawPointer, count: Int) throws(S3Error) -> Int {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while filled == 0 {
            if let failure { throw failure }
            if ended || info.size == 0 { return 0 }
            pthread_cond_wait(changed, mutex)
        }
        let n = min(count, filled, capacity - start)
        buffer.copyMemory(from: ring + start, byteCount: n)
        start = (start + n) % capacity
        filled -= n
        pthread_cond_broadcast(changed)
        return n
    }

    func cancel() {
        pthread_mutex_lock(mutex)
        cancelled = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    // MARK: Download thread

    func run() {
        let outcome = Result { () throws(S3Error) in try transfer() }
        pthread_mutex_lock(mutex)
        if case .failure(let error) = outcome { failure = error } else { ended = true }
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    private func transfer() throws(S3Error) {
        let what = "download"
        let subject = client.subject(info.key)
        guard let handle = curl_easy_init() else { throw S3Error(CAIRN_ERROR, "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        var lastProblem = ""
        var attempt = 0
        while position < info.size {
            attempt += 1
            if attempt > max(1, client.maxAttempts) {
                throw S3Error(CAIRN_IO, "\(what) \(subject) failed after \(client.maxAttempts) attempts "
                              + "(setting max_attempts) at byte \(position) of \(info.size); last error: \(lastProblem)")
            }
            if attempt > 1 { client.backoff(attempt: attempt) }
            if isCancelled { return }
            var headers = [("range", "bytes=\(position)-")]
            if let etag = info.etag { headers.append(("if-match", etag)) }
            let request = try client.signedRequest("GET", key: info.key, headers: headers)
            let before = position
            status = 0
            errorBody = []
            let code = perform(handle, url: request.url, headers: request.headers)
            if isCancelled { return }
            if position > before { attempt = 0 }  // progress was made: a fresh budget for the rest
            if code == CURLE_WRITE_ERROR {
                throw S3Error(CAIRN_IO, "\(what) \(subject): the server sent more than the object's \(info.size) bytes")
            }
            if code != CURLE_OK {
                let text = curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
                lastProblem = "\(text) (\(client.scheme)://\(client.requestHost))"
                guard TransportError(code: code, message: text).retryable else {
                    throw S3Error(CAIRN_IO, "\(what) \(subject) failed: \(lastProblem)")
                }
                client.log(CAIRN_LOG_WARNING, "\(what) \(subject): \(lastProblem) at byte \(position) of \(info.size); resuming")
                continue
            }
            if (200..<300).contains(status) {
                if position < info.size { lastProblem = "the answer ended at byte \(position) of \(info.size)" }
                continue
            }
            if status == 412 {
                throw S3Error(CAIRN_CHANGED, "\(subject) changed while it was being read (its ETag is no longer \(info.etag ?? "?"))")
            }
            let failure = S3Failure(status: status, headers: [:], body: errorBody)
            guard failure.retryable else { throw failure.error(what: what, subject: subject, client: client) }
            lastProblem = failure.summary
            client.log(CAIRN_LOG_WARNING, "\(what) \(subject): \(lastProblem); attempt \(attempt) of \(client.maxAttempts)")
        }
    }

    private var isCancelled: Bool {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return cancelled
    }

    private func perform(_ handle: UnsafeMutableRawPointer, url: String, headers: [(String, String)]) -> CURLcode {
        curl_easy_reset(handle)
        let list = CurlRequest.headerList(headers)
        defer { curl_slist_free_all(list) }
        let context = Unmanaged.passUnretained(self).toOpaque()
        // A transfer stalled for a minute (the server's or our reader's fault) is resumed anew.
        CurlRequest.setCommonOptions(handle, url: url, headers: list, connectTimeoutSeconds: 30)
        _ = cairn_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        _ = cairn_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = cairn_curl_setopt_function(handle, CURLOPT_HEADERFUNCTION, { data, size, count, ctx in
            guard let ctx, let data else { return 0 }
            let download = Unmanaged<ObjectDownload>.fromOpaque(ctx).takeUnretainedValue()
            if case .status(let status) = HTTPHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count)) {
                download.status = status
            }
            return size * count
        })
        _ = cairn_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = cairn_curl_setopt_function(handle, CURLOPT_WRITEFUNCTION, { data, size, count, ctx in
            guard let ctx, let data else { return 0 }
            let download = Unmanaged<ObjectDownload>.fromOpaque(ctx).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
            return download.received(bytes) ? size * count : 0
        })
        return curl_easy_perform(handle)
    }

    /// Body bytes from curl: into the ring (waiting for room) for a 2xx, else kept as the error.
    /// false stops the transfer: the reader went away, or the server sent more than asked.
    private func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard (200..<300).contains(status) else {
            if errorBody.count < 64 << 10 { errorBody.append(contentsOf: bytes) }
            return true
        }
        guard position + UInt64(bytes.count) <= info.size, let base = bytes.baseAddress else { return false }
        var offset = 0
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while offset < bytes.count {
            while filled == capacity && !cancelled { pthread_cond_wait(changed, mutex) }
            if cancelled { return false }
            let end = (start + filled) % capacity
            let n = min(bytes.count - offset, capacity - filled, capacity - end)
            (ring + end).copyMemory(from: base + offset, byteCount: n)
            filled += n
            offset += n
            position += UInt64(n)
            pthread_cond_broadcast(changed)
        }
        return true
    }
}
