import CCairnPlugin
import CairnPluginSupport
import Glibc

/// One configured store: a local directory laid out exactly like an S3 bucket, where an object
/// key is a relative path under `root`. Objects appear atomically: writers fill a hidden temporary
/// file next to the destination and rename it into place.
final class FilesystemStore {
    /// Absolute, without a trailing '/' (except for "/" itself).
    let root: String
    /// fsync files and directories before reporting success (the `fsync` setting).
    let syncWrites: Bool

    /// Reads the settings; `host` is only used here.
    init(host: PluginHost) throws(FilesystemError) {
        root = try Self.absoluteRoot(host.setting("root"))
        syncWrites = try Self.parseBool(host.setting("fsync"), name: "fsync", default: true)
    }

    // MARK: Settings

    private static func absoluteRoot(_ value: String?) throws(FilesystemError) -> String {
        guard var path = value, !path.isEmpty else {
            throw FilesystemError(CAIRN_INVALID, "setting 'root' is required: the directory that holds "
                             + "the backups (config storage.root or CAIRN_STORAGE_ROOT)")
        }
        if path.utf8.first != ObjectKey.slash {
            // Pin a relative root to the current directory now, so a later chdir cannot move it.
            guard let cwd = getcwd(nil, 0) else {
                throw FilesystemError(errno: errno, "cannot resolve relative storage root '\(path)'",
                                 path: path)
            }
            path = String(cString: cwd) + "/" + path
            free(cwd)
        }
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == ObjectKey.slash { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func parseBool(_ value: String?, name: String, default fallback: Bool)
        throws(FilesystemError) -> Bool
    {
        guard let value else { return fallback }
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default:
            throw FilesystemError(CAIRN_INVALID, "setting '\(name)' must be true or false, not '\(value)'")
        }
    }

    // MARK: Paths

    func path(_ key: ObjectKey) -> String { path(of: key.components[...]) }

    /// The full path of the directory (or file) named by the first key parts.
    func path<C: Collection<String>>(of components: C) -> String {
        if components.isEmpty { return root }
        return (root == "/" ? "" : root) + "/" + components.joined(separator: "/")
    }

    // MARK: Directories

    /// Creates the root itself if needed (mkdir -p).
    func createRoot() throws(FilesystemError) {
        var current = ""
        for part in ObjectKey.split(root) where !part.isEmpty {
            current += "/" + part
            try makeDirectory(current) { code in
                code == EEXIST
                    ? FilesystemError(CAIRN_INVALID, "storage root '\(root)' cannot be used: '\(current)' exists "
                                 + "and is not a directory")
                    : FilesystemError(PluginError.status(forErrno: code),
                                 "storage root '\(root)' cannot be created ('\(current)'): \(PluginError.describe(errno: code))")
            }
        }
    }

    /// Creates the root and the directories that will hold `key`.
    func createParents(of key: ObjectKey) throws(FilesystemError) {
        try createRoot()
        let parents = key.directoryComponents
        for depth in parents.indices {
            let directory = path(of: parents[...depth])
            try makeDirectory(directory) { code in
                code == EEXIST
                    ? FilesystemError(CAIRN_IO, "cannot store key '\(key.text)': '\(directory)' exists "
                                 + "and is not a directory")
                    : notWritable(code, "creating '\(directory)' for key '\(key.text)'")
            }
        }
    }

    /// mkdir that accepts an existing directory. `failure` turns an errno value into the error
    /// (EEXIST means the path exists but is not a directory).
    private func makeDirectory(_ path: String, failure: (Int32) -> FilesystemError) throws(FilesystemError) {
        if mkdir(path, 0o755) == 0 { return }
        let code = errno
        if code == EEXIST, case .success(let st) = Posix.status(of: path), Posix.isDirectory(st) {
            return
        }
        throw failure(code)
    }

    /// The error for a failed write. A refusal by the file system gets the words operators search
    /// for; anything else (a full disk, a vanished directory) says what was being done.
    func notWritable(_ code: Int32, _ doing: String) -> FilesystemError {
        if code == EACCES || code == EPERM || code == EROFS {
            return FilesystemError(CAIRN_DENIED, "storage root '\(root)' is not writable: \(PluginError.describe(errno: code)) (\(doing))")
        }
        return FilesystemError(CAIRN_IO, "storage root '\(root)': \(doing) failed: \(PluginError.describe(errno: code))")
    }

    /// A hidden temporary name next to `key`'s destination: never listed, and on the same file
    /// system, so rename(2) publishes it atomically.
    func temporaryPath(for key: ObjectKey) -> String {
        var stem = ""
        for scalar in key.baseName.unicodeScalars {
            // Leave room for the suffix (host, pid, random: up to 100 bytes) within NAME_MAX (255 bytes).
            if stem.utf8.count + String(scalar).utf8.count > 150 { break }
            stem.unicodeScalars.append(scalar)
        }
        return path(of: key.directoryComponents + [PartialName.make(stem: stem)])
    }

    // MARK: Objects

    func openWriter(_ key: ObjectKey) throws(FilesystemError) -> FileObjectWriter {
        var lastCode: Int32 = 0
        // Retry: another process may prune an empty directory between mkdir and open, and a
        // random name may (very rarely) collide.
        for _ in 0 ..< 4 {
            try createParents(of: key)
            let temporary = temporaryPath(for: key)
            switch Posix.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644) {
            case .success(let fd):
                return FileObjectWriter(store: self, key: key, fd: fd, temporaryPath: temporary)
            case .failure(let error):
                lastCode = error.code
                if error.code != ENOENT && error.code != EEXIST {
                    throw notWritable(error.code, "creating '\(temporary)' for key '\(key.text)'")
                }
            }
        }
        throw notWritable(lastCode, "creating a temporary file for key '\(key.text)'")
    }

    func openReader(_ key: ObjectKey) throws(FilesystemError) -> FileObjectReader {
        let file = path(key)
        switch Posix.open(file, O_RDONLY) {
        case .failure(let error):
            throw readError(error.code, key: key, path: file)
        case .success(let fd):
            var st = stat()
            if fstat(fd, &st) != 0 || !Posix.isRegularFile(st) {
                close(fd)
                throw FilesystemError(CAIRN_NOT_FOUND, "object '\(key.text)' not found: '\(file)' is not a regular file")
            }
            return FileObjectReader(key: key, path: file, fd: fd)
        }
    }

    func readError(_ code: Int32, key: ObjectKey, path file: String) -> FilesystemError {
        if code == ENOENT || code == ENOTDIR {
            return FilesystemError(CAIRN_NOT_FOUND, "object '\(key.text)' not found ('\(file)'): \(PluginError.describe(errno: code))")
        }
        return FilesystemError(errno: code, "cannot read object '\(key.text)'", path: file)
    }

    /// Size and time of an object; NOT_FOUND when it is missing or not a regular file.
    func info(_ key: ObjectKey) throws(FilesystemError) -> FileFacts {
        let file = path(key)
        switch Posix.status(of: file) {
        case .failure(let error):
            throw readError(error.code, key: key, path: file)
        case .success(let st):
            guard Posix.isRegularFile(st) else {
                throw FilesystemError(CAIRN_NOT_FOUND, "object '\(key.text)' not found: '\(file)' is not a regular file")
            }
            return FileFacts(key: key.text, size: Posix.size(st), modifiedMs: Posix.modifiedMilliseconds(st), etag: Self.etag(st))
        }
    }

    /// Deletes `key` (a missing key is fine), then the directories it leaves empty, up to but not
    /// including the root, so removed backups do not leave a trail of empty folders.
    func remove(_ key: ObjectKey) throws(FilesystemError) {
        let file = path(key)
        if unlink(file) != 0 {
            let code = errno
            if code == EISDIR {
                throw FilesystemError(CAIRN_INVALID, "cannot remove key '\(key.text)': '\(file)' is a directory, not an object")
            }
            if code != ENOENT && code != ENOTDIR {
                throw FilesystemError(errno: code, "cannot remove object '\(key.text)'", path: file)
            }
        } else if syncWrites {
            _ = Posix.syncDirectory(path(of: key.directoryComponents))
        }
        var parents = key.directoryComponents
        while !parents.isEmpty {
            // Stops at the first directory that is not empty (or already gone).
            if rmdir(path(of: parents)) != 0 { break }
            parents = parents.dropLast()
        }
    }
}

/// Facts about one stored object, as `list` and `stat` report them.
struct FileFacts {
    let key: String
    let size: UInt64
    let modifiedMs: Int64
    /// Set by `stat` (for conditional writes); listings leave it out.
    var etag: String? = nil
}
