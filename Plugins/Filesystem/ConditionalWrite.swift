import CCairnPlugin
import CairnPluginSupport
import Glibc

/// `put_if` (ABI 1.1): the conditional write locks in the store are built on. Conditional writers
/// take an exclusive flock(2) on the key's folder around check-then-rename, so the condition and
/// the write are one step for every process of this machine (and on NFS, for every host, where the
/// server supports locks). The folder, not a sidecar file: nothing is left behind to clean up.
extension FilesystemStore {
    /// A file's version: inode, change time and size. A replaced file is renamed into place and so
    /// always gets a new inode: the tag changes with every write.
    static func etag(_ st: stat) -> String {
        "\(st.st_ino)-\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)-\(st.st_size)"
    }

    /// The new file's facts, or nil when the condition did not hold.
    func putIf(_ key: ObjectKey, _ data: UnsafeRawBufferPointer, ifVersion: String?) throws(FilesystemError) -> FileFacts? {
        try createParents(of: key)
        let folder = path(of: key.directoryComponents)
        let fd: Int32
        switch Posix.open(folder, O_RDONLY | O_DIRECTORY) {
        case .success(let opened): fd = opened
        case .failure(let error): throw readError(error.code, key: key, path: folder)
        }
        defer { close(fd) }  // also releases the flock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FilesystemError(errno: errno, "cannot lock the folder '\(folder)'", path: folder) }
        }
        switch Posix.status(of: path(key)) {
        case .success(let st):
            guard let ifVersion, Self.etag(st) == ifVersion else { return nil }
        case .failure(let error):
            guard error.code == ENOENT, ifVersion == nil else {
                if error.code == ENOENT { return nil }
                throw readError(error.code, key: key, path: path(key))
            }
        }
        let writer = try openWriter(key)
        try writer.write(data)
        try writer.commit()
        return try info(key)
    }
}
