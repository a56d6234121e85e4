import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The backup folder the filesystem backend writes, as Cairn sees it: listed, checked, streamed
/// into the archive, and written back for a restore.
enum LocalFolder {
    struct Item { var path: String; var directory: Bool; var size: Int64; var mode: UInt32; var mtime: Int64 }

    /// Every file and directory under `root`, relative and sorted (parents before children).
    /// Anything but regular files and directories is refused: a backup holds nothing else.
    static func list(_ root: String) throws(WeaviateError) -> [Item] {
        var items: [Item] = []
        try walk(root, "", into: &items)
        return items.sorted { $0.path < $1.path }
    }

    private static func walk(_ root: String, _ relative: String, into items: inout [Item]) throws(WeaviateError) {
        let dirPath = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(dirPath) else { throw WeaviateError(errno: errno, "cannot read \(dirPath)") }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            let path = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0 else { throw WeaviateError(errno: errno, "cannot stat \(root)/\(path)") }
            let mode = UInt32(st.st_mode) & 0o7777
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                items.append(Item(path: path, directory: true, size: 0, mode: mode, mtime: Int64(st.st_mtim.tv_sec)))
                try walk(root, path, into: &items)
            case S_IFREG:
                items.append(Item(path: path, directory: false, size: Int64(st.st_size), mode: mode, mtime: Int64(st.st_mtim.tv_sec)))
            default:
                throw WeaviateError(CAIRN_INVALID, "\(root)/\(path) is neither a file nor a directory: a Weaviate backup folder holds only those")
            }
        }
    }

    static func readSmall(_ path: String, limit: Int = 64 << 20) throws(WeaviateError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw WeaviateError(errno: errno, "cannot open \(path)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw WeaviateError(errno: errno, "cannot read \(path)") }
            if n == 0 { return out }
            out += buffer[..<n]
            if out.count > limit { throw WeaviateError(CAIRN_INVALID, "\(path) is larger than \(limit) bytes") }
        }
    }

    /// The descriptors and file list of the folder, for BackupLayout's checks.
    static func layout(_ folder: String, items: [Item]) throws(WeaviateError) -> BackupLayout {
        var layout = BackupLayout()
        for item in items where !item.directory {
            layout.files.insert(item.path)
            if BackupLayout.isDescriptor(item.path) {
                guard layout.add(descriptor: item.path, try readSmall(folder + "/" + item.path)) else {
                    throw WeaviateError(CAIRN_CORRUPT, "\(folder)/\(item.path) is not valid JSON")
                }
            }
        }
        return layout
    }

    /// Streams every item into the archive; each file through one descriptor, exactly the size
    /// listed (the host fails a file that grew or shrank).
    static func stream(_ folder: String, items: [Item], sink: EntrySink, host: PluginHost) throws(WeaviateError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        let total = UInt64(items.reduce(Int64(0)) { $0 + $1.size })
        var done: UInt64 = 0
        for item in items {
            if item.directory {
                try sink.begin(item.path, directory: true, mode: item.mode, mtime: item.mtime, size: 0)
                try sink.end()
                continue
            }
            let path = folder + "/" + item.path
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw WeaviateError(errno: errno, "cannot open \(path)") }
            defer { close(fd) }
            try sink.begin(item.path, mode: item.mode, mtime: item.mtime, size: item.size)
            var left = item.size
            while left > 0 {
                if host.isCancelled { throw WeaviateError(CAIRN_CANCELLED, "cancelled while archiving \(path)") }
                let n = read(fd, buffer.baseAddress, min(buffer.count, Int(left)))
                if n < 0 { if errno == EINTR { continue }; throw WeaviateError(errno: errno, "cannot read \(path)") }
                if n == 0 { throw WeaviateError(CAIRN_CHANGED, "\(path) shrank while it was archived (\(item.size - left) of \(item.size) bytes)") }
                try sink.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                left -= Int64(n)
                done += UInt64(n)
                host.progress(done, total, item.path)
            }
            try sink.end()
        }
    }

    static func makeDirectory(_ path: String) throws(WeaviateError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw WeaviateError(errno: errno, "cannot create \(path)") }
    }

    /// rm -rf without following symlinks.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { unlink(path); return }
        if let dir = opendir(path) {
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(dir)
            for name in names { removeTree(path + "/" + name) }
        }
        rmdir(path)
    }

    /// A relative archive path with no '.', '..' or empty parts, or an error.
    static func safe(_ path: String) throws(WeaviateError) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw WeaviateError(CAIRN_CORRUPT, "the backup holds an unsafe path '\(path)'")
        }
        return path
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }
}
