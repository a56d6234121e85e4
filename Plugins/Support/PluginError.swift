import CCairnPlugin
import Glibc

/// A failed plugin operation: the status for the host and a sentence for the operator (never a
/// secret). Shared by the Swift plugins; compiled into each, never passed to the host.
public struct PluginError: Error {
    public let status: cairn_status
    public let message: String
    /// A host callback asked to stop: the host already knows why, so nothing is reported.
    public let hostKnows: Bool

    public init(_ status: cairn_status, _ message: String) {
        self.status = status
        self.message = message
        self.hostKnows = false
    }

    /// A host callback returned `code` (non-zero) to stop the operation.
    public init(stoppedBy code: Int32) {
        status = code > 0 ? cairn_status(rawValue: UInt32(code)) : CAIRN_ERROR
        message = ""
        hostKnows = true
    }

    /// Hands the error to the host's reporter and returns its status.
    public func report(to err: UnsafePointer<cairn_error>?) -> cairn_status {
        if !hostKnows, let err, let set = err.pointee.set {
            message.withCString { set(err.pointee.ctx, status, $0) }
        }
        return status
    }
}

extension PluginError {
    /// Runs one ABI operation: success is CAIRN_OK, a thrown error is reported through `err`.
    /// Nothing throws or traps across the boundary.
    public static func run(_ err: UnsafePointer<cairn_error>?, _ body: () throws(PluginError) -> Void) -> cairn_status {
        do throws(PluginError) {
            try body()
            return CAIRN_OK
        } catch {
            return error.report(to: err)
        }
    }

    /// The status that fits a failed system call's errno value.
    public static func status(forErrno code: Int32) -> cairn_status {
        switch code {
        case EACCES, EPERM: return CAIRN_DENIED
        case ENOENT, ENOTDIR: return CAIRN_NOT_FOUND
        default: return CAIRN_IO
        }
    }

    /// A failed system call, with the status that fits its errno value.
    public init(errno code: Int32, _ what: String) {
        self.init(PluginError.status(forErrno: code), "\(what): \(PluginError.describe(errno: code))")
    }

    /// `strerror` text for an errno value.
    public static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
