import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A failed operation: the status for the host and a sentence for the operator (never a secret).
typealias RedisError = PluginError

extension PluginError {
    /// A failed system call, with the status that fits its errno value.
    init(errno code: Int32, _ what: String) {
        self.init(PluginError.status(forErrno: code), "\(what): \(PluginError.describe(errno: code))")
    }
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
