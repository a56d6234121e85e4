import CairnCore
import Foundation

/// A temporary file holding an entry of unknown size (compressed) until its size is known. It is unlinked
/// right after creation, so nothing is left behind if the process dies.
final class SpoolFile {
    private static let bufferSize = 256 << 10
    private var fd: Int32
    private let directory: String
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private(set) var size: Int64 = 0

    init(directory: URL) throws {
        self.directory = directory.path
        var template = Array("\(directory.path)/cairn-spool-XXXXXX".utf8CString)
        fd = mkstemp(&template)
        if fd < 0 {
            throw ArchiveError.io("cannot create a spool file in \(directory.path): \(String(cString: strerror(errno))); "
                                  + "set the spool directory to a writable local directory")
        }
        unlink(template)
        // Child processes (dump tools run by plugins) must not inherit it.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if buffered + bytes.count > Self.bufferSize { try flush() }
        if bytes.count >= Self.bufferSize {
            try writeAll(base, bytes.count)
        } else {
            (buffer + buffered).copyMemory(from: base, byteCount: bytes.count)
            buffered += bytes.count
        }
        size += Int64(bytes.count)
    }

    /// Flushes pending bytes and positions the file at its start for reading back.
    func rewind() throws {
        try flush()
        if lseek(fd, 0, SEEK_SET) != 0 { throw failure("seek") }
    }

    func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, target.baseAddress, target.count)
            if n >= 0 { return n }
            if errno != EINTR { throw failure("read") }
        }
    }

    /// Hands the whole content to `body`, block by block, from the start.
    func copy(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try rewind()
        var left = size
        while left > 0 {
            let n = try read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Self.bufferSize))
            if n == 0 { throw ArchiveError.io("spool file in \(directory) ended \(left) bytes early") }
            try body(UnsafeRawBufferPointer(start: buffer, count: n))
            left -= Int64(n)
        }
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    private func flush() throws {
        if buffered > 0 { try writeAll(buffer, buffered) }
        buffered = 0
    }

    private func writeAll(_ base: UnsafeRawPointer, _ count: Int) throws {
        var pointer = base
        var left = count
        while left > 0 {
            let n = Glibc.write(fd, pointer, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            pointer += n; left -= n
        }
    }

    private func failure(_ operation: String) -> ArchiveError {
        .io("spool file in \(directory): \(operation) failed: \(String(cString: strerror(errno))); "
            + "check free space there or choose another spool directory")
    }
}
