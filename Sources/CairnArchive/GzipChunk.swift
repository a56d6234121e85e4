import CairnCore
import CDeflate

/// One compression job: its input and its output, a complete gzip member (GzipMember).
/// Buffers are allocated once and reused for the writer's lifetime.
///
/// `@unchecked Sendable`: a chunk is owned by one thread at a time (producer fills it, one
/// worker compresses it, the producer writes it out); every hand-over happens under the pool's
/// lock, which orders the memory accesses.
final class GzipChunk: SequencedJob, @unchecked Sendable {
    let capacity: Int
    let data: UnsafeMutableRawPointer
    var length = 0
    var sequence = 0
    /// Deflate level for this chunk; 0 stores it (see ParallelGzipEncoder's incompressible data).
    var level: Int32 = 6
    /// Deflate a sample first and store the chunk (level 0) if the sample does not shrink.
    var isProbe = false

    let output: UnsafeMutableRawPointer
    /// Room for a member of `capacity` bytes at any level, stored blocks included.
    let outputCapacity: Int
    var outputLength = 0

    init(capacity: Int) {
        self.capacity = capacity
        data = .allocate(byteCount: capacity, alignment: 64)
        outputCapacity = libdeflate_deflate_compress_bound(nil, capacity) + GzipMember.overhead
        output = .allocate(byteCount: outputCapacity, alignment: 64)
    }

    deinit {
        data.deallocate()
        output.deallocate()
    }

    var free: Int { capacity - length }

    func reset() {
        length = 0; isProbe = false; outputLength = 0
    }
}
