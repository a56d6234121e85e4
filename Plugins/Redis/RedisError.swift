import CCairnPlugin
import Glibc

/// A failed operation: the status for the host and a sentence for the operator (never a secret).
struct RedisError: Error {
    let status: cairn_status
    let message: String
    /// A host callback asked to stop: the host already knows why, so nothing is reported.
    let hostKnows: Bool

    init(_ status: cairn_status, _ message: String) {
        self.status = status
        self.message = message
        self.hostKnows = false
    }

    /// A host callback returned `code` (non-zero) to stop the operation.
    init(stoppedBy code: Int32) {
        status = code > 0 ? cairn_status(rawValue: UInt32(code)) : CAIRN_ERROR
        message = ""
        hostKnows = true
    }

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

    func report(to err: UnsafePointer<cairn_error>?) -> cairn_status {
        if !hostKnows, let err, let set = err.pointee.set {
            message.withCString { set(err.pointee.ctx, status, $0) }
        }
        return status
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
