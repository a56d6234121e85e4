import CCairnPlugin
import Glibc

/// A failed store operation: the status for the host and a message for the operator.
/// Every message names the key, the full path and the system's error text where there is one.
struct StoreError: Error {
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

    /// A failed system call on `path`, with the status that fits `code`.
    init(errno code: Int32, _ what: String, path: String) {
        self.init(Posix.status(for: code), "\(what) ('\(path)'): \(Posix.describe(code))")
    }
}

extension StoreError {
    /// Hands the error to the host's reporter and returns its status.
    func report(to err: UnsafePointer<cairn_error>?) -> cairn_status {
        if !hostKnows, let err, let set = err.pointee.set {
            message.withCString { set(err.pointee.ctx, status, $0) }
        }
        return status
    }
}
