import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation

/// Receives `err->set` from a plugin call.
final class ErrorBox {
    let lock = NSLock()
    var status: cairn_status = CAIRN_OK
    var message: String?
    /// An error the host raised inside one of its callbacks (archive full, storage failed...).
    /// It wins over whatever the plugin reports afterwards: it is the real cause.
    var hostError: (any Error)?

    func withCStruct<R>(_ body: (UnsafePointer<cairn_error>) throws -> R) rethrows -> R {
        var error = cairn_error(
            struct_size: UInt32(MemoryLayout<cairn_error>.size), abi_major: HostABI.major, abi_minor: HostABI.minor,
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            set: { ctx, status, message in
                guard let ctx else { return }
                let box = Unmanaged<ErrorBox>.fromOpaque(ctx).takeUnretainedValue()
                let text = message.map { String(cString: $0) }
                // A plugin's worker thread may report the failure (cairn_plugin.h, THREADING).
                box.lock.withLock {
                    box.status = status
                    box.message = text
                }
            })
        return try withUnsafePointer(to: &error) { try body($0) }
    }
}

/// Names for cairn_status values in messages.
func statusName(_ status: cairn_status) -> String {
    switch status {
    case CAIRN_OK: return "ok"
    case CAIRN_INVALID: return "invalid"
    case CAIRN_NOT_FOUND: return "not found"
    case CAIRN_IO: return "I/O error"
    case CAIRN_CORRUPT: return "corrupt"
    case CAIRN_CHANGED: return "source changed"
    case CAIRN_UNSUPPORTED: return "unsupported"
    case CAIRN_CANCELLED: return "cancelled"
    case CAIRN_DENIED: return "denied"
    default: return "error \(status.rawValue)"
    }
}

/// A failed plugin operation, with the plugin's own words.
public struct PluginCallError: Error, CustomStringConvertible, Sendable {
    public var label: String
    public var operation: String
    public var status: Int32
    public var message: String

    /// The message of a failure the plugin did not describe (no err->set before returning).
    public static let noReason = "the plugin gave no reason"
    public static let cancelled = Int32(CAIRN_CANCELLED.rawValue)

    public var isNotFound: Bool { status == Int32(CAIRN_NOT_FOUND.rawValue) }
    public var isInvalid: Bool { status == Int32(CAIRN_INVALID.rawValue) }
    public var description: String {
        "\(label): \(operation) failed (\(statusName(cairn_status(rawValue: UInt32(status))))): \(message)"
    }

    /// The same failure, said by a storage plugin: the store failed.
    var storeError: StoreError {
        let code = cairn_status(rawValue: UInt32(status))
        let kind: StoreError.Kind = switch code {
        case CAIRN_NOT_FOUND: .notFound
        case CAIRN_DENIED: .denied
        case CAIRN_INVALID: .invalid
        case CAIRN_CANCELLED: .cancelled
        default: .failed
        }
        return StoreError(store: label, operation: operation, reason: statusName(code), message: message, kind: kind)
    }
}

/// Collects `report->check` results.
final class ReportBox {
    let source: String
    let lock = NSLock()
    var results: [CheckResult] = []
    init(source: String) { self.source = source }

    /// A check's message is one line wherever it is shown (tables, logs, hook events): line breaks
    /// a plugin puts in become "; " (cairn_plugin.h, cairn_report). Evidence goes in detail_json.
    static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }

    func withCStruct<R>(_ body: (UnsafePointer<cairn_report>) throws -> R) rethrows -> R {
        var report = cairn_report(
            struct_size: UInt32(MemoryLayout<cairn_report>.size), abi_major: HostABI.major, abi_minor: HostABI.minor,
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            check: { ctx, name, status, message, detail in
                guard let ctx else { return 1 }
                let box = Unmanaged<ReportBox>.fromOpaque(ctx).takeUnretainedValue()
                let mapped: CheckResult.Status = status == CAIRN_CHECK_PASS ? .pass : status == CAIRN_CHECK_WARN ? .warn : .fail
                let detailValue = detail.flatMap { try? JSONValue.parse(String(cString: $0)) }
                let result = CheckResult(source: box.source, name: name.map { String(cString: $0) } ?? "check",
                                         status: mapped, message: ReportBox.oneLine(message.map { String(cString: $0) } ?? ""),
                                         detail: detailValue)
                box.lock.withLock { box.results.append(result) }
                return 0
            })
        return try withUnsafePointer(to: &report) { try body($0) }
    }
}
