import CCairnPlugin

/// The host's entry sink (backup): entries go into the archive as they are written.
public struct EntrySink {
    public let pointer: UnsafePointer<cairn_entry_sink>

    public init(_ pointer: UnsafePointer<cairn_entry_sink>) { self.pointer = pointer }

    private func check(_ code: Int32) throws(PluginError) {
        if code != 0 { throw PluginError(stoppedBy: code) }
    }

    public func begin(_ path: String, directory: Bool = false, mode: UInt32 = 0o600, mtime: Int64, size: Int64) throws(PluginError) {
        guard let begin = pointer.pointee.begin else { throw PluginError(CAIRN_INVALID, "the host's sink has no begin") }
        let code = path.withCString { p in
            var entry = cairn_entry(struct_size: UInt32(MemoryLayout<cairn_entry>.size), path: p,
                                    type: directory ? CAIRN_ENTRY_DIRECTORY : CAIRN_ENTRY_FILE,
                                    mode: mode, mtime: mtime, size: directory ? 0 : size)
            return begin(pointer.pointee.ctx, &entry)
        }
        try check(code)
    }

    public func write(_ data: UnsafeRawBufferPointer) throws(PluginError) {
        guard data.count > 0, let base = data.baseAddress else { return }
        guard let write = pointer.pointee.write else { throw PluginError(CAIRN_INVALID, "the host's sink has no write") }
        try check(write(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), data.count))
    }

    public func end() throws(PluginError) {
        guard let end = pointer.pointee.end else { throw PluginError(CAIRN_INVALID, "the host's sink has no end") }
        try check(end(pointer.pointee.ctx))
    }

    /// A whole small file (manifest, descriptor, metadata) as one entry.
    public func file(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, mtime: Int64) throws(PluginError) {
        try begin(path, mode: mode, mtime: mtime, size: Int64(bytes.count))
        try withBytes(bytes) { raw throws(PluginError) in try write(raw) }
        try end()
    }

    /// Records a fact about the backup; `json` is one JSON value as text.
    public func fact(_ key: String, json: String) throws(PluginError) {
        guard let fact = pointer.pointee.fact else { return }
        try check(fact(pointer.pointee.ctx, key, json))
    }
}
