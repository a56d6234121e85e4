import CCairnPlugin
import CairnPluginSupport
import Glibc

extension FilesystemStore {
    /// Copies `source` over `destination` atomically: a hard link (or, where the file system
    /// refuses links, a streamed and flushed copy) under a temporary name, then rename(2).
    /// Readers of `destination` see the old object or the new one, never a part.
    func copy(from source: ObjectKey, to destination: ObjectKey) throws(FilesystemError) {
        let sourcePath = path(source)
        _ = try info(source)
        if source.text == destination.text { return }
        try createParents(of: destination)
        let temporary = temporaryPath(for: destination)
        if link(sourcePath, temporary) != 0 {
            let code = errno
            guard [EXDEV, EPERM, EMLINK, EOPNOTSUPP, ENOSYS].contains(code) else {
                throw notWritable(code, "linking '\(sourcePath)' to '\(temporary)' to copy '\(source.text)' "
                                  + "to '\(destination.text)'")
            }
            try streamCopy(sourcePath, to: temporary, source: source, destination: destination)
        }
        let destinationPath = path(destination)
        if rename(temporary, destinationPath) != 0 {
            let code = errno
            unlink(temporary)
            throw notWritable(code, "renaming '\(temporary)' to '\(destinationPath)' to copy '\(source.text)'")
        }
        // If destination already was a link to the same file, rename(2) did nothing and the
        // temporary name still exists.
        unlink(temporary)
        if syncWrites {
            let directory = path(of: destination.directoryComponents)
            let code = Posix.syncDirectory(directory)
            if code != 0 {
                throw FilesystemError(CAIRN_IO, "copied '\(source.text)' to '\(destination.text)' but '\(directory)' "
                                 + "could not be flushed: \(PluginError.describe(errno: code))")
            }
        }
    }

    private func streamCopy(_ sourcePath: String, to temporary: String, source: ObjectKey,
                            destination: ObjectKey) throws(FilesystemError) {
        let input: Int32
        switch Posix.open(sourcePath, O_RDONLY) {
        case .failure(let error): throw readError(error.code, key: source, path: sourcePath)
        case .success(let fd): input = fd
        }
        defer { close(input) }
        let output: Int32
        switch Posix.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644) {
        case .failure(let error):
            throw notWritable(error.code, "creating '\(temporary)' to copy '\(source.text)' to '\(destination.text)'")
        case .success(let fd): output = fd
        }
        var outputOpen = true
        do throws(FilesystemError) {
            try pump(from: input, sourcePath: sourcePath, source: source, to: output, temporary: temporary)
            if syncWrites && fsync(output) != 0 {
                throw notWritable(errno, "flushing '\(temporary)' to copy '\(source.text)'")
            }
            outputOpen = false
            if close(output) != 0 {
                throw notWritable(errno, "closing '\(temporary)' to copy '\(source.text)'")
            }
        } catch {
            if outputOpen { close(output) }
            unlink(temporary)
            throw error
        }
    }

    private func pump(from input: Int32, sourcePath: String, source: ObjectKey, to output: Int32,
                      temporary: String) throws(FilesystemError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return }
        while true {
            var code: Int32 = 0
            let n = Posix.readSome(input, base, buffer.count, code: &code)
            if n < 0 { throw FilesystemError(errno: code, "cannot read object '\(source.text)'", path: sourcePath) }
            if n == 0 { return }
            let written = writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            if written != 0 { throw notWritable(written, "writing '\(temporary)' to copy '\(source.text)'") }
        }
    }
}
