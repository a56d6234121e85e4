import CCairnPlugin
import CairnPluginSupport
import Glibc

/// An object being written: bytes go to a hidden temporary file that `commit` renames over the
/// key. Until then nothing is visible under the key; `abort` (or dropping the writer) removes the
/// temporary file and leaves no trace.
final class FileObjectWriter {
    private let store: FilesystemStore
    private let key: ObjectKey
    private let temporaryPath: String
    private var fd: Int32
    private var temporaryExists = true

    init(store: FilesystemStore, key: ObjectKey, fd: Int32, temporaryPath: String) {
        self.store = store
        self.key = key
        self.fd = fd
        self.temporaryPath = temporaryPath
    }

    deinit { discard() }

    func write(_ bytes: UnsafeRawBufferPointer) throws(FilesystemError) {
        guard fd >= 0 else { throw FilesystemError(CAIRN_INVALID, "write to key '\(key.text)' after it was finished") }
        let code = writeAll(fd, bytes)
        if code != 0 {
            throw store.notWritable(code, "writing '\(temporaryPath)' for key '\(key.text)'")
        }
    }

    /// fsync, close, rename over the key, fsync the directory. On failure the temporary file is
    /// removed and the previous object (if any) stays in place.
    func commit() throws(FilesystemError) {
        guard fd >= 0 else { throw FilesystemError(CAIRN_INVALID, "commit of key '\(key.text)' after it was finished") }
        let destination = store.path(key)
        if store.syncWrites && fsync(fd) != 0 {
            throw store.notWritable(errno, "flushing '\(temporaryPath)' for key '\(key.text)'")
        }
        let closed = close(fd)
        let closeCode = errno
        fd = -1
        if closed != 0 {
            throw store.notWritable(closeCode, "closing '\(temporaryPath)' for key '\(key.text)'")
        }
        if rename(temporaryPath, destination) != 0 {
            throw store.notWritable(errno, "renaming '\(temporaryPath)' to '\(destination)' for key '\(key.text)'")
        }
        temporaryExists = false
        if store.syncWrites {
            let directory = store.path(of: key.directoryComponents)
            let code = Posix.syncDirectory(directory)
            if code != 0 {
                throw FilesystemError(CAIRN_IO, "object '\(key.text)' was renamed into place but '\(directory)' "
                                 + "could not be flushed: \(PluginError.describe(errno: code))")
            }
        }
    }

    /// Closes and deletes the temporary file; safe to call more than once.
    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if temporaryExists {
            unlink(temporaryPath)
            temporaryExists = false
        }
    }
}
