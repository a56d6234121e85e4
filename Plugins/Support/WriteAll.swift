import Glibc

/// Writes all of `buffer` to `fd`, retrying on EINTR and short writes. Returns 0 or the errno value.
public func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32 {
    guard var next = buffer.baseAddress else { return 0 }
    var left = buffer.count
    while left > 0 {
        let n = Glibc.write(fd, next, left)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        next += n
        left -= n
    }
    return 0
}
