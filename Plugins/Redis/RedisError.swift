import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A failed operation: the status for the host and a sentence for the operator (never a secret).
typealias RedisError = PluginError

extension PluginError {
    /// A failed system call, with the status that fits its errno value.
    init(errno code: Int32, _ what: String) {
        let status: cairn_status
        switch code {
        case EACCES, EPERM: status = CAIRN_DENIED
        case ENOENT, ENOTDIR: status = CAIRN_NOT_FOUND
        default: status = CAIRN_IO
        }
        self.init(status, "\(what): \(describeErrno(code))")
    }
}

func describeErrno(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// Runs a body that throws untyped only because a standard-library wrapper (withUnsafeBytes)
/// rethrows untyped; everything inside throws RedisError.
func typed<R>(_ body: () throws -> R) throws(RedisError) -> R {
    do {
        return try body()
    } catch let error as RedisError {
        throw error
    } catch {
        throw RedisError(CAIRN_ERROR, "\(error)")
    }
}
