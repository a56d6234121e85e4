import Foundation

/// Collects everything written into memory. For tests and small documents only.
public final class DataByteSink: ByteSink {
    public private(set) var data = Data()

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        data.append(contentsOf: bytes)
    }
}

/// Serves bytes from memory. `maxReadSize` limits each read so tests can exercise readers
/// that must cope with short reads.
public final class DataByteSource: ByteSource {
    private let data: Data
    private var offset = 0
    private let maxReadSize: Int

    public init(_ data: Data, maxReadSize: Int = .max) {
        self.data = data
        self.maxReadSize = max(1, maxReadSize)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - offset, maxReadSize)
        guard n > 0 else { return 0 }
        let start = data.startIndex + offset
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: start..<(start + n))
        offset += n
        return n
    }
}
