import CCairnPlugin
import CairnPluginSupport
import Glibc

extension FilesystemStore {
    /// Removes the partial files (`PartialName`) under the folder `prefix` that no live writer
    /// owns: those of a process of this host that is gone, whatever their age, and those of
    /// another host (or of an unknown one) last written more than `olderThan` seconds ago, as
    /// their process cannot be checked from here. Returns how many were removed.
    func removeStalePartials(prefix: String, olderThan seconds: Int64) throws(FilesystemError) -> Int64 {
        let folder = ObjectKey.split(prefix).filter { !$0.isEmpty }
        if folder.contains(where: { $0.utf8.first == ObjectKey.dot }) { return 0 }
        return try sweep(path(of: folder), cutoffMs: (now() - seconds) * 1000)
    }

    private func sweep(_ directory: String, cutoffMs: Int64) throws(FilesystemError) -> Int64 {
        guard let handle = opendir(directory) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return 0 }
            throw FilesystemError(errno: code, "cannot list storage root '\(root)'", path: directory)
        }
        var folders: [String] = []
        var stale: [String] = []
        while let entry = readdir(handle) {
            guard let name = Posix.entryName(entry), name != ".", name != ".." else { continue }
            var info = stat()
            guard fstatat(dirfd(handle), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if Posix.isDirectory(info) {
                if name.utf8.first != ObjectKey.dot { folders.append(name) }
            } else if Posix.isRegularFile(info), let writer = PartialName.writer(of: name),
                      Self.nobodyWrites(writer, modifiedMs: Posix.modifiedMilliseconds(info), cutoffMs: cutoffMs) {
                stale.append(name)
            }
        }
        closedir(handle)
        var removed: Int64 = 0
        for name in stale {
            let file = directory + "/" + name
            if unlink(file) == 0 {
                removed += 1
            } else if errno != ENOENT {
                throw FilesystemError(errno: errno, "cannot remove the leftover partial file", path: file)
            }
        }
        for folder in folders { removed += try sweep(directory + "/" + folder, cutoffMs: cutoffMs) }
        return removed
    }

    /// Signal 0 only checks that the process exists; EPERM means it does, under another user.
    private static func nobodyWrites(_ writer: (host: String?, pid: Int32), modifiedMs: Int64, cutoffMs: Int64) -> Bool {
        guard writer.host == PartialName.localHost else { return modifiedMs < cutoffMs }
        if writer.pid == getpid() { return false }
        return !(kill(writer.pid, 0) == 0 || errno == EPERM)
    }
}

/// Native action `remove_stale_partials(prefix, older_than_seconds) -> int64`: the number of
/// partial files of dead writers removed under the folder, or -1 on failure (the reason goes to
/// the log). The store's prune action: `cairn prune` and every backup run it.
@_cdecl("cairn_filesystem_remove_stale_partials")
public func cairnFilesystemRemoveStalePartials(_ host: UnsafePointer<cairn_host_api>?, _ prefix: UnsafePointer<CChar>?,
                                               _ olderThanSeconds: Int64) -> Int64 {
    guard let host else { return -1 }
    let plugin = PluginHost(api: host)
    guard olderThanSeconds >= 0 else {
        plugin.log(CAIRN_LOG_ERROR, "remove_stale_partials: older_than_seconds must be 0 or more, not \(olderThanSeconds)")
        return -1
    }
    let prefixText = prefix.flatMap { String(validatingCString: $0) } ?? ""
    do throws(FilesystemError) {
        let removed = try FilesystemStore(host: plugin).removeStalePartials(prefix: prefixText, olderThan: olderThanSeconds)
        if removed > 0 { plugin.log(CAIRN_LOG_INFO, "removed \(removed) partial file(s) of dead writers under '\(prefixText)'") }
        return removed
    } catch {
        plugin.log(CAIRN_LOG_ERROR, "remove_stale_partials: \(error.message)")
        return -1
    }
}
