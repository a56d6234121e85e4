import CCairnPlugin

/// The host's check sink (check, verify, restore and check_access report through it).
public struct CheckReport {
    public let pointer: UnsafePointer<cairn_report>?

    public init(_ pointer: UnsafePointer<cairn_report>?) { self.pointer = pointer }

    /// Reports one check; without a sink the result goes nowhere. `detail` is JSON text.
    public func add(_ name: String, _ status: cairn_check_status, _ message: String, detail: String? = nil) throws(PluginError) {
        guard let pointer, let check = pointer.pointee.check else { return }
        let code = name.withCString { n in
            message.withCString { m in
                guard let detail else { return check(pointer.pointee.ctx, n, status, m, nil) }
                return detail.withCString { check(pointer.pointee.ctx, n, status, m, $0) }
            }
        }
        if code != 0 { throw PluginError(stoppedBy: code) }
    }
}
