import CCairnPlugin

/// The Swift object behind an instance handle: retained by `open`, released by `close`, looked up
/// (not retained) by every call in between.
public enum InstanceHandle {
    /// The descriptor's `open`: puts the object `make` builds from the host services into `slot`.
    public static func open<T: AnyObject>(_ host: UnsafePointer<cairn_host_api>?,
                                          _ slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                          _ err: UnsafePointer<cairn_error>?,
                                          _ make: (PluginHost) throws(PluginError) -> T) -> cairn_status {
        PluginError.run(err) { () throws(PluginError) in
            guard let slot else { throw PluginError(CAIRN_INVALID, "open: no instance slot given") }
            slot.pointee = nil
            guard let host else { throw PluginError(CAIRN_INVALID, "open: no host services given") }
            let object = try make(PluginHost(api: host))
            slot.pointee = Unmanaged.passRetained(object).toOpaque()
        }
    }

    /// The descriptor's `close`.
    public static func close<T: AnyObject>(_ instance: UnsafeMutableRawPointer?, as type: T.Type) {
        guard let instance else { return }
        Unmanaged<T>.fromOpaque(instance).release()
    }

    /// The object behind `instance`; `what` names it when the host passed none ("no Redis instance given").
    public static func object<T: AnyObject>(_ instance: UnsafeMutableRawPointer?, as type: T.Type, what: String) throws(PluginError) -> T {
        guard let instance else { throw PluginError(CAIRN_INVALID, "no \(what) instance given") }
        return Unmanaged<T>.fromOpaque(instance).takeUnretainedValue()
    }
}
