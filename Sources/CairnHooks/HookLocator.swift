import CairnCore
import Foundation

/// Finds a configured hook and refuses files that are missing or that someone other than root
/// or the operator could have changed: a hook runs with the host's privileges.
struct HookLocator {
    /// In order: the config file's folder, `hooks_dirs`, the bundled `hooks/` folder.
    var searchDirectories: [URL]

    func resolve(_ spec: HookSpec) throws -> URL {
        let whereConfigured = spec.origin == .builtIn ? "" : " (configured at \(spec.origin))"
        func refuse(_ message: String) -> CairnError { .usage(message + whereConfigured) }

        guard !spec.path.isEmpty else { throw refuse("hook path is empty") }
        guard spec.timeout.isFinite, spec.timeout > 0 else {
            throw refuse("hook \(spec.path): timeout must be a positive number of seconds, not \(spec.timeout)")
        }
        if let bad = spec.passEnv.first(where: { !HookEnvironment.isValidName($0) }) {
            throw refuse("hook \(spec.path): pass_env entry '\(bad)' is not an environment variable name")
        }

        let path = try locate(spec.path, refuse: refuse)
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "is a symbolic link to a missing file" : "cannot be checked: \(String(cString: strerror(errno)))"
            throw refuse("hook \(path) \(reason)")
        }
        let mode = info.st_mode & 0o7777
        let modeText = String(format: "mode %04o", UInt32(mode))
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw refuse("hook \(path) is not a regular file (it is \(Self.kindName(info.st_mode)))")
        }
        guard mode & 0o111 != 0, access(path, X_OK) == 0 else {
            throw refuse("hook \(path) is not executable (\(modeText)); chmod +x \(path)")
        }
        guard mode & 0o022 == 0 else {
            throw refuse("hook \(path) is writable by other users (\(modeText)); chmod go-w \(path)")
        }
        let euid = geteuid()
        guard info.st_uid == 0 || info.st_uid == euid else {
            throw refuse("hook \(path) is owned by uid \(info.st_uid), neither root nor the user running cairn (uid \(euid)); chown it to one of them")
        }
        return URL(fileURLWithPath: path)
    }

    /// Absolute paths stay; relative ones take the first search folder holding that name. The
    /// first match wins even if it is then refused, so a later folder never silently stands in.
    private func locate(_ configured: String, refuse: (String) -> CairnError) throws -> String {
        if configured.hasPrefix("/") {
            let path = URL(fileURLWithPath: configured).standardizedFileURL.path
            guard Self.exists(path) else { throw refuse("hook \(path) does not exist") }
            return path
        }
        guard !searchDirectories.isEmpty else {
            throw refuse("hook \(configured) is a relative path and no hook folders are configured")
        }
        for directory in searchDirectories {
            let candidate = resolvePath(configured, against: directory)
            if Self.exists(candidate) { return candidate }
        }
        let places = searchDirectories.map(\.path).joined(separator: ", ")
        throw refuse("hook \(configured) not found in \(places)")
    }

    /// lstat: a dangling symlink counts as present, so it is reported rather than skipped.
    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a named pipe"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "not a file"
        }
    }
}
