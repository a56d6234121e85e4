import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A failed store operation. Every message names the key, the full path and the system's error
/// text where there is one.
typealias FilesystemError = PluginError

extension PluginError {
    /// A failed system call on `path`, with the status that fits `code`.
    init(errno code: Int32, _ what: String, path: String) {
        self.init(PluginError.status(forErrno: code), "\(what) ('\(path)'): \(PluginError.describe(errno: code))")
    }
}

