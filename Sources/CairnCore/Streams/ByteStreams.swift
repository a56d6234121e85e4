/// Where bytes go: a storage writer, a file, a pipe. Implementations must consume the whole buffer
/// or throw; callers never retry a partial write.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Where bytes come from. `read` fills at most `buffer.count` bytes and returns how many it
/// wrote; 0 means the end of the stream.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}
