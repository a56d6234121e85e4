// The standard library's withUnsafeBytes rethrows untyped; these keep a body's PluginError typed.

/// `bytes.withUnsafeBytes` for a body that throws PluginError.
public func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(PluginError) -> R) throws(PluginError) -> R {
    try bytes.withUnsafeBytes { raw in Result { () throws(PluginError) in try body(raw) } }.get()
}

/// `bytes.withUnsafeMutableBytes` for a body that throws PluginError.
public func withMutableBytes<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(PluginError) -> R) throws(PluginError) -> R {
    try bytes.withUnsafeMutableBytes { raw in Result { () throws(PluginError) in try body(raw) } }.get()
}
