import CairnCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a config file's bytes as text, refusing what is not a config file before it can hang
/// or mislead: only a regular file (a FIFO would block, /dev/zero never ends), at most
/// `maxBytes`, UTF-8 without NUL bytes. Every error names the file, and the line where there is one.
enum ConfigFileReader {
    /// A cairn.yaml is a few kilobytes; a megabyte leaves room and bounds what a wrong path costs.
    static let maxBytes = 1 << 20

    static func text(of url: URL) throws -> String {
        let path = url.path
        // Non-blocking, so a FIFO opens at once; fstat on the open file then says what it really is.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw CairnError.usage("cannot read config file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CairnError.usage("cannot read config file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CairnError.usage("config file \(path) is not a regular file (it is \(kind(info.st_mode))); give the path of a YAML file with --config or CAIRN_CONFIG")
        }
        let bytes = try read(fd, path: path)
        if let offset = bytes.firstIndex(of: 0) {
            throw CairnError.usage("\(position(offset, in: bytes, path: path)): config file contains a NUL byte (byte offset \(offset)); it looks like a binary file, not YAML")
        }
        if let offset = firstInvalidUTF8(bytes) {
            throw CairnError.usage("\(position(offset, in: bytes, path: path)): config file is not valid UTF-8 (byte offset \(offset)); save it as UTF-8 text")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func read(_ fd: Int32, path: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CairnError.usage("cannot read config file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            if bytes.count > maxBytes {
                throw CairnError.usage("config file \(path) is larger than \(maxBytes / 1024) KiB; a cairn.yaml is a few kilobytes: is this the right file?")
            }
        }
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }

    /// The byte offset of the first byte that does not decode as UTF-8, if any.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// "path:line:column" of a byte offset; the column counts bytes, as the offset does.
    static func position(_ offset: Int, in bytes: [UInt8], path: String) -> String {
        let before = bytes[..<offset]
        let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return "\(path):\(line):\(offset - lineStart + 1)"
    }
}
