import Foundation

/// Writes bytes to a file descriptor, retrying short writes and EINTR.
public final class FileByteSink: ByteSink {
    public let path: String
    private var fd: Int32
    private let ownsDescriptor: Bool

    /// Creates (or truncates) the file at `path` with mode 0644.
    public convenience init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FileIOError("open", path: path) }
        self.init(fileDescriptor: fd, path: path, closeOnDeinit: true)
    }

    /// Wraps an open descriptor (a pipe, stdout). `path` only names it in error messages.
    public init(fileDescriptor: Int32, path: String, closeOnDeinit: Bool) {
        self.fd = fileDescriptor; self.path = path; self.ownsDescriptor = closeOnDeinit
    }

    deinit { if ownsDescriptor && fd >= 0 { _ = Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw FileIOError("write", path: path, code: EBADF) }
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError("write", path: path)
            }
            base += n; left -= n
        }
    }

    /// Flushes the file to stable storage, so a finished backup survives a crash.
    public func sync() throws {
        if fsync(fd) != 0 { throw FileIOError("fsync", path: path) }
    }

    /// Closes the descriptor; a failing close can mean lost data on network filesystems.
    public func close() throws {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw FileIOError("close", path: path) }
    }
}
