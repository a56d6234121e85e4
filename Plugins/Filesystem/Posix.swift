import CCairnPlugin
import CairnPluginSupport
import Glibc

/// Thin wrappers over the system calls the store uses: EINTR handling, errno as a value, and file
/// metadata in the units the ABI wants. Nothing here traps on what the file system returns.
enum Posix {
    static func isDirectory(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }
    static func isRegularFile(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }

    /// `stat` of `path` following symlinks, or the errno value.
    static func status(of path: String) -> Result<stat, CodeError> {
        var st = stat()
        return stat(path, &st) == 0 ? .success(st) : .failure(CodeError(errno))
    }

    static func size(_ st: stat) -> UInt64 { UInt64(clamping: st.st_size) }

    /// Modification time in milliseconds since the epoch, saturating instead of overflowing.
    static func modifiedMilliseconds(_ st: stat) -> Int64 {
        let seconds = Int64(st.st_mtim.tv_sec)
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return scaled.addingReportingOverflow(Int64(st.st_mtim.tv_nsec) / 1_000_000).partialValue
    }

    /// Opens `path`, retrying on EINTR. Returns the descriptor or the errno value.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Result<Int32, CodeError> {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return .success(fd) }
            if errno != EINTR { return .failure(CodeError(errno)) }
        }
    }

    /// One read(2), retrying on EINTR: the count, or -1 with the errno value in `code`.
    static func readSome(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int,
                         code: inout Int32) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, count)
            if n >= 0 { return n }
            if errno != EINTR {
                code = errno
                return -1
            }
        }
    }

    /// Makes a rename or unlink in `directory` durable. Returns 0 or the errno value.
    static func syncDirectory(_ directory: String) -> Int32 {
        switch open(directory, O_RDONLY | O_DIRECTORY) {
        case .failure(let error):
            return error.code
        case .success(let fd):
            let result = fsync(fd) == 0 ? 0 : errno
            close(fd)
            return result
        }
    }

    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)

    /// A directory entry's name, or nil when it is not UTF-8 (keys are UTF-8, so it cannot be one).
    /// Read in place as a C string: glibc packs entries, so the last one in its buffer can be
    /// shorter than `d_name`'s declared 256 bytes and copying the whole field would overrun it.
    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String? {
        guard let offset = nameOffset else { return nil }
        let name = (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self)
        return String(validatingCString: name)
    }

    /// A short random hex string for temporary names.
    static func randomSuffix() -> String {
        String(UInt64.random(in: 0 ... UInt64.max), radix: 16)
    }
}

/// An errno value carried through `Result`.
struct CodeError: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
