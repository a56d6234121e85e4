import CCairnPlugin

/// The host's entry source (verify and restore): the archive's entries in order.
public struct EntrySource {
    public let pointer: UnsafePointer<cairn_entry_source>

    public init(_ pointer: UnsafePointer<cairn_entry_source>) { self.pointer = pointer }

    public struct Entry {
        public var path: String
        public var directory: Bool
        public var mode: UInt32
        public var mtime: Int64
        public var size: Int64
    }

    /// The next entry, or nil at the end of the archive.
    public func next() throws(PluginError) -> Entry? {
        guard let next = pointer.pointee.next else { throw PluginError(CAIRN_INVALID, "the host's source has no next") }
        var entry = cairn_entry()
        entry.struct_size = UInt32(MemoryLayout<cairn_entry>.size)
        let rc = next(pointer.pointee.ctx, &entry)
        if rc == 0 { return nil }
        if rc < 0 { throw PluginError(stoppedBy: -rc) }
        guard let path = entry.path.flatMap({ String(validatingCString: $0) }) else {
            throw PluginError(CAIRN_CORRUPT, "an archive entry has no valid UTF-8 path")
        }
        return Entry(path: path, directory: entry.type == CAIRN_ENTRY_DIRECTORY, mode: entry.mode, mtime: entry.mtime, size: entry.size)
    }

    /// Reads the current entry's next bytes into `buffer`; 0 at its end.
    public func read(_ buffer: UnsafeMutableRawBufferPointer) throws(PluginError) -> Int {
        guard let read = pointer.pointee.read else { throw PluginError(CAIRN_INVALID, "the host's source has no read") }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = read(pointer.pointee.ctx, base.assumingMemoryBound(to: UInt8.self), buffer.count)
        if n < 0 { throw PluginError(stoppedBy: Int32(clamping: -n)) }
        return Int(clamping: n)
    }

    /// The current entry whole, refusing more than `limit` bytes (only for small files such as
    /// manifests and descriptors).
    public func readAll(limit: Int, what: String) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = try read(buffer)
            if n == 0 { return out }
            out += buffer[..<n]
            if out.count > limit { throw PluginError(CAIRN_CORRUPT, "\(what) is larger than \(limit) bytes") }
        }
    }

    /// The backup's metadata as JSON text, when the host has it.
    public var metadata: String? {
        guard let get = pointer.pointee.metadata, let text = get(pointer.pointee.ctx) else { return nil }
        return String(validatingCString: text)
    }
}
