import CCairnPlugin
import CairnPluginSupport
import Glibc

extension RedisComponent {
    /// Streams `path` through one open descriptor (a later rename cannot swap it mid-read), exactly
    /// the size fstat gave at open, each chunk also to `feed`. Leaves the entry open so the caller
    /// can check before `end`.
    func copyFile(_ path: String, as name: String, sink: EntrySink, feed: (UnsafeRawBufferPointer) -> Void = { _ in }) throws(RedisError) {
        var fd: Int32 = -1
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw RedisError(errno: errno, "cannot open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RedisError(errno: errno, "cannot stat \(path)") }
        let size = Int64(st.st_size)
        try sink.begin(name, mode: 0o600, mtime: Int64(st.st_mtim.tv_sec), size: size)
        let capacity = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return }
        var done: Int64 = 0
        while done < size {
            try host.checkCancelled()
            let n = read(fd, base, Int(min(Int64(capacity), size - done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw RedisError(errno: errno, "reading \(path)")
            }
            if n == 0 { throw RedisError(CAIRN_CHANGED, "\(path) shrank while being read (\(done) of \(size) bytes)") }
            let data = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            feed(data)
            try sink.write(data)
            done += Int64(n)
            host.progress(UInt64(done), UInt64(size), name)
        }
    }
}
