import CairnCore
import CZlib

/// One compression job: its input (preceded by room for the previous 32 KiB as dictionary)
/// and its deflated output. Buffers are allocated once and reused for the writer's lifetime.
///
/// `@unchecked Sendable`: a chunk is owned by one thread at a time (producer fills it, one
/// worker compresses it, the producer writes it out); every hand-over happens under the pool's
/// lock, which orders the memory accesses.
final class GzipChunk: @unchecked Sendable {
    static let dictionaryCapacity = 32 << 10

    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// Where the chunk's own bytes start; the dictionary sits just before.
    let data: UnsafeMutableRawPointer
    var length = 0
    var dictionaryLength = 0
    var isLast = false
    var sequence = 0
    /// zlib level for this chunk (0 stores it: see ParallelGzipEncoder's incompressible data).
    var level: Int32 = 6
    /// Deflate a sample first and store the chunk (level 0) if the sample does not shrink.
    var isProbe = false

    private(set) var output: UnsafeMutableRawPointer
    private(set) var outputCapacity: Int
    var outputLength = 0
    var crc: UInt = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(byteCount: Self.dictionaryCapacity + capacity, alignment: 16)
        data = storage + Self.dictionaryCapacity
        // Deflate output is at most a little larger than its input (stored blocks); the
        // worker grows the buffer in the unlikely case this is not enough.
        outputCapacity = capacity + capacity / 8 + 1024
        output = .allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
        output.deallocate()
    }

    var free: Int { capacity - length }

    /// Places the last bytes of the previous chunk in front of this chunk's data.
    func setDictionary(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= Self.dictionaryCapacity)
        dictionaryLength = bytes.count
        if let base = bytes.baseAddress { (data - bytes.count).copyMemory(from: base, byteCount: bytes.count) }
    }

    func reset() {
        length = 0; dictionaryLength = 0; isLast = false; isProbe = false; outputLength = 0; crc = 0
    }

    func growOutput() {
        let bigger = outputCapacity * 2
        let newOutput = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
        newOutput.copyMemory(from: output, byteCount: outputLength)
        output.deallocate()
        output = newOutput
        outputCapacity = bigger
    }
}
