import CairnCore

/// What ArchiveWriter asks of its compression: gzip members on worker threads
/// (ParallelGzipEncoder) or a multi-threaded zstd stream (ZstdEncoder). Called from the
/// writer's thread only; the sink is only ever called from that thread.
protocol ArchiveCompressor: AnyObject {
    /// Bytes accepted for compression.
    var inputBytes: Int64 { get }
    /// Compressed bytes handed to the sink.
    var outputBytes: Int64 { get }
    /// Chunks stored rather than compressed because the data did not compress (gzip only).
    var chunksStored: Int { get }
    /// Compression threads still running; 0 after finish() or abandon().
    var liveWorkerCount: Int { get }

    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Compresses what is written from now on into `spool` rather than the sink, until endDeferred.
    func beginDeferred(spool: SpoolFile) throws
    /// Compresses `prefix` and emits it, then the deferred segment: the stream reads as if
    /// `prefix` had been written before the segment.
    func endDeferred(prefix: UnsafeRawBufferPointer) throws
    /// Ends the stream and waits until all of it reached the sink.
    func finish() throws
    /// Stops the workers and drops all pending data.
    func abandon()
}

extension ArchiveCompressor {
    func writeZeros(_ count: Int) throws {
        var left = count
        while left > 0 {
            let n = min(left, ArchiveZeros.block.count)
            try write(UnsafeRawBufferPointer(rebasing: ArchiveZeros.block.prefix(n)))
            left -= n
        }
    }
}

private enum ArchiveZeros {
    /// Never written to, never freed: shared by every writer.
    nonisolated(unsafe) static let block = UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 10, alignment: 16).initializeMemory(as: UInt8.self, repeating: 0))
}
