import CCairnPlugin
import Glibc

/// An open object; the descriptor is closed when the host releases the reader.
final class FileObjectReader {
    private let key: ObjectKey
    private let path: String
    private let fd: Int32

    init(key: ObjectKey, path: String, fd: Int32) {
        self.key = key
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Up to `count` bytes into `buffer`; 0 at the end of the object.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(FilesystemError) -> Int {
        var code: Int32 = 0
        let n = Posix.readSome(fd, buffer, count, code: &code)
        if n < 0 { throw FilesystemError(errno: code, "cannot read object '\(key.text)'", path: path) }
        return n
    }
}
