import CairnCore
import Foundation

/// Gzip compression on several threads with bounded memory: the input is cut into fixed-size
/// chunks and each is compressed by libdeflate into its own gzip member; the members follow one
/// another in order. Concatenated members are one standard gzip file (RFC 1952 2.2): GNU tar,
/// gzip and zlib read them as one stream. Independent members need no shared state between
/// chunks (libdeflate compresses whole buffers, ~2x zlib's speed at a better ratio), and their
/// headers record their sizes, so Cairn's reader decompresses each in one call (GzipMember).
/// Chunks start without the previous chunk's window: measured on mixed data, 512 KiB members
/// cost 0.02 % in size against 2 MiB ones.
///
/// The producer (the caller's thread) fills chunks and also writes finished chunks to the
/// sink in order, so the sink is only ever called from the caller's thread. At most
/// `threads + 4` chunks exist (one per worker, one being filled, three spare so the workers still
/// have chunks queued while the producer waits a moment on its input or its sink, a plugin's
/// worker process say); when all are busy the producer waits for the oldest.
///
/// Incompressible data (random, encrypted, already compressed) is not deflated in vain: once a
/// chunk compressed at the configured level saves less than 1 %, every following chunk is first
/// probed (slices from across it deflated at level 1, ChunkCompression.sampleShrinks) and stored
/// (level 0, still valid deflate) unless the sample shrinks by 1 %; a chunk that shrinks is
/// compressed at the configured level, and decides again. No chunk is stored untested.
///
/// A *deferred segment* (beginDeferred/endDeferred) is compressed into a spool file instead of
/// the sink, so that bytes known only at its end (a tar header carrying the entry's size) can
/// be emitted in front of it: compression then overlaps the arrival of data of unknown size.
final class ParallelGzipEncoder: ArchiveCompressor {
    private let sink: ByteSink
    private let pool: GzipWorkerPool
    private let chunkSize: Int
    private let maxChunks: Int
    private let level: Int32
    /// Set while recent data did not compress: chunks are probed before they are compressed.
    private var storing = false
    /// Chunks stored rather than deflated (for tests and statistics).
    private(set) var chunksStored = 0
    private var chunksCreated = 0
    private var freeChunks: [GzipChunk] = []
    private var current: GzipChunk?
    private var nextSequence = 0
    private var nextToWrite = 0
    private var finished = false
    private var deferred: SpoolFile?

    /// Bytes accepted for compression.
    private(set) var inputBytes: Int64 = 0
    /// Bytes handed to the sink.
    private(set) var outputBytes: Int64 = 0

    /// Compression threads still running; 0 after finish() or abandon().
    var liveWorkerCount: Int { pool.liveWorkerCount }

    init(sink: ByteSink, level: Int32, threads: Int, chunkSize: Int) {
        self.sink = sink
        self.chunkSize = chunkSize
        self.maxChunks = threads + 4
        self.level = level
        pool = GzipWorkerPool(threads: threads)
    }

    deinit {
        pool.stop()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let chunk = try currentChunk()
            let n = min(bytes.count - offset, chunk.free)
            (chunk.data + chunk.length).copyMemory(from: base + offset, byteCount: n)
            chunk.length += n
            offset += n
            inputBytes += Int64(n)
            if chunk.free == 0 { try submitCurrent() }
        }
    }

    /// Lets `body` write straight into the current chunk's free space (no intermediate copy);
    /// `body` returns how many bytes it wrote.
    @discardableResult
    func fill(_ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        let chunk = try currentChunk()
        let n = try body(UnsafeMutableRawBufferPointer(start: chunk.data + chunk.length, count: chunk.free))
        precondition(n >= 0 && n <= chunk.free)
        chunk.length += n
        inputBytes += Int64(n)
        if chunk.free == 0 { try submitCurrent() }
        return n
    }

    /// Compresses what is written from now on into `spool` rather than the sink, until
    /// endDeferred. Members are self-contained, so they are valid wherever they are placed.
    func beginDeferred(spool: SpoolFile) throws {
        precondition(deferred == nil, "one deferred segment at a time")
        try flushAndDrain()
        deferred = spool
    }

    /// Compresses `prefix` and emits it, then the deferred segment after it: the stream reads as
    /// if `prefix` had been written before the segment.
    func endDeferred(prefix: UnsafeRawBufferPointer) throws {
        try flushAndDrain()
        guard let spool = deferred else { preconditionFailure("endDeferred without beginDeferred") }
        deferred = nil
        try write(prefix)
        try flushAndDrain()
        try spool.copy { try sink.write($0); outputBytes += Int64($0.count) }
    }

    /// Compresses what is left and waits until every member reached the sink.
    func finish() throws {
        precondition(!finished)
        try flushAndDrain()
        finished = true
        pool.stop()
        freeChunks.removeAll()
    }

    /// Stops the workers and drops all pending data.
    func abandon() {
        pool.stop()
        current = nil
        freeChunks.removeAll()
    }

    private func currentChunk() throws -> GzipChunk {
        if let current { return current }
        let chunk: GzipChunk
        if let free = freeChunks.popLast() {
            chunk = free
        } else if chunksCreated < maxChunks {
            chunk = GzipChunk(capacity: chunkSize)
            chunksCreated += 1
        } else {
            // Every chunk is in flight: write out the oldest (waiting for it) and reuse it.
            let oldest = try pool.takeCompleted(sequence: nextToWrite, wait: true)!
            try writeOut(oldest)
            chunk = freeChunks.removeLast()
        }
        chunk.reset()
        current = chunk
        return chunk
    }

    private func submitCurrent() throws {
        guard let chunk = current else { return }
        current = nil
        chunk.sequence = nextSequence
        chunk.level = level
        chunk.isProbe = storing && level > 0
        nextSequence += 1
        pool.submit(chunk)
        // Hand finished chunks to the sink as soon as they are ready, without waiting.
        while nextToWrite < nextSequence, let done = try pool.takeCompleted(sequence: nextToWrite, wait: false) {
            try writeOut(done)
        }
    }

    /// Compresses the partly filled chunk now and waits until every chunk has been written
    /// out, so nothing is in flight.
    private func flushAndDrain() throws {
        if let chunk = current {
            if chunk.length > 0 {
                try submitCurrent()
            } else {
                current = nil
                freeChunks.append(chunk)
            }
        }
        while nextToWrite < nextSequence {
            try writeOut(try pool.takeCompleted(sequence: nextToWrite, wait: true)!)
        }
    }

    private func writeOut(_ chunk: GzipChunk) throws {
        if chunk.level == 0 && level > 0 {
            chunksStored += 1
        } else if chunk.length == chunkSize {
            // A full chunk that was deflated decides whether the next ones are probed first.
            // Where the probes fall depends on thread timing, so two runs over the same data
            // may differ in bytes, never in content.
            storing = (chunk.outputLength - GzipMember.overhead) * 100 >= chunk.length * 99
        }
        let member = UnsafeRawBufferPointer(start: chunk.output, count: chunk.outputLength)
        if let spool = deferred {
            try spool.write(member)
        } else {
            try sink.write(member)
            outputBytes += Int64(chunk.outputLength)
        }
        nextToWrite += 1
        freeChunks.append(chunk)
    }
}
