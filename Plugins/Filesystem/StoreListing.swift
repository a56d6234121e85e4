import CCairnPlugin
import Glibc

/// One page of a listing, and whether more keys follow it.
struct ListPage {
    var objects: [FileFacts] = []
    var more = false
}

extension FilesystemStore {
    /// Keys starting with `prefix` (a key prefix, not necessarily a directory), in byte order,
    /// strictly after `token`, at most `limit` of them.
    func list(prefix: String, after token: String?, limit: Int) throws(FilesystemError) -> ListPage {
        // Start in the deepest directory the prefix names: "redis/prod/red" reads only
        // "redis/prod". A directory part no valid key can have yields nothing.
        var directory = ObjectKey.split(prefix)
        if !directory.isEmpty { directory.removeLast() }
        if directory.contains(where: { $0.isEmpty || $0.utf8.first == ObjectKey.dot }) {
            return ListPage()
        }
        var walk = KeyWalk(store: self, prefix: Array(prefix.utf8), token: token.map { Array($0.utf8) },
                           limit: max(limit, 1))
        let keyPrefix = directory.isEmpty ? "" : directory.joined(separator: "/") + "/"
        _ = try walk.visit(path(of: directory), keyPrefix: keyPrefix)
        return walk.page
    }
}

/// A depth-first walk that yields keys in byte order without sorting the whole store: within a
/// directory, a subdirectory sorts as its name plus '/', which is exactly where its keys fall
/// among its siblings. Subtrees that cannot hold a wanted key are never read.
private struct KeyWalk {
    let store: FilesystemStore
    let prefix: [UInt8]
    let token: [UInt8]?
    let limit: Int
    var page = ListPage()

    private struct Child {
        let name: String
        let sortKey: [UInt8]
        let isDirectory: Bool
        let info: stat
    }

    init(store: FilesystemStore, prefix: [UInt8], token: [UInt8]?, limit: Int) {
        self.store = store
        self.prefix = prefix
        self.token = token
        self.limit = limit
    }

    /// Returns true once the page is full and one more key proved that more remain.
    mutating func visit(_ directory: String, keyPrefix: String) throws(FilesystemError) -> Bool {
        for child in try children(of: directory) {
            let key = keyPrefix + child.name
            if child.isDirectory {
                let sub = Array((key + "/").utf8)
                if !wanted(directory: sub) { continue }
                if try visit(directory + "/" + child.name, keyPrefix: key + "/") { return true }
            } else if wanted(key: Array(key.utf8)) {
                if page.objects.count == limit {
                    page.more = true
                    return true
                }
                page.objects.append(FileFacts(key: key, size: Posix.size(child.info),
                                                 modifiedMs: Posix.modifiedMilliseconds(child.info)))
            }
        }
        return false
    }

    private func wanted(key: [UInt8]) -> Bool {
        guard key.starts(with: prefix) else { return false }
        guard let token else { return true }
        return token.lexicographicallyPrecedes(key)
    }

    /// Whether any key under the directory `sub` (ending in '/') can be wanted.
    private func wanted(directory sub: [UInt8]) -> Bool {
        guard sub.starts(with: prefix) || prefix.starts(with: sub) else { return false }
        // Every key under `sub` sorts before the token when `sub` does and is not its prefix.
        if let token, sub.lexicographicallyPrecedes(token), !token.starts(with: sub) { return false }
        return true
    }

    /// The visible entries of `directory`, sorted as keys sort. The directory is closed before the
    /// walk descends, so deep trees do not pile up open descriptors.
    private func children(of directory: String) throws(FilesystemError) -> [Child] {
        guard let handle = opendir(directory) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return [] }
            throw FilesystemError(errno: code, "cannot list storage root '\(store.root)'", path: directory)
        }
        defer { closedir(handle) }
        var result: [Child] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 {
                    throw FilesystemError(errno: errno, "cannot list storage root '\(store.root)'", path: directory)
                }
                break
            }
            guard let name = Posix.entryName(entry), name.utf8.first != ObjectKey.dot else { continue }
            var info = stat()
            guard fstatat(dirfd(handle), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let isDirectory = Posix.isDirectory(info)
            guard isDirectory || Posix.isRegularFile(info) else { continue }
            let sortKey = Array((isDirectory ? name + "/" : name).utf8)
            result.append(Child(name: name, sortKey: sortKey, isDirectory: isDirectory, info: info))
        }
        result.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        return result
    }
}
