import Foundation

/// Reads bytes from a file descriptor, retrying EINTR.
public final class FileByteSource: ByteSource {
    public let path: String
    private var fd: Int32
    private let ownsDescriptor: Bool

    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileIOError("open", path: path) }
        self.init(fileDescriptor: fd, path: path, closeOnDeinit: true)
    }

    /// Wraps an open descriptor (a pipe, stdin). `path` only names it in error messages.
    public init(fileDescriptor: Int32, path: String, closeOnDeinit: Bool) {
        self.fd = fileDescriptor; self.path = path; self.ownsDescriptor = closeOnDeinit
    }

    deinit { close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard fd >= 0 else { throw FileIOError("read", path: path, code: EBADF) }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw FileIOError("read", path: path) }
        }
    }

    public func close() {
        if ownsDescriptor && fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}
