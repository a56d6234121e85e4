import CairnCore
import CZlib
import Foundation

/// Gzip compression on several threads with bounded memory, producing ONE gzip member the
/// way pigz does: the input is cut into fixed-size chunks, each deflated independently but
/// primed with the previous chunk's last 32 KiB as preset dictionary and ended with
/// Z_SYNC_FLUSH, so the outputs concatenate into a single deflate stream; the CRC-32 is
/// combined from per-chunk CRCs. Chosen over one gzip member per chunk because every gzip
/// reader handles a single member (some stop after the first), `gzip -l` reports the real
/// size, and the ratio matches single-threaded gzip.
///
/// The producer (the caller's thread) fills chunks and also writes finished chunks to the
/// sink in order, so the sink is only ever called from the caller's thread. At most
/// `threads + 2` chunks exist (one per worker, one being filled, one spare so a worker finding
/// its next chunk does not wait for the oldest to be written); when all are busy the producer
/// waits for the oldest. More chunks in flight measured no faster.
///
/// Incompressible data (random, encrypted, already compressed) is not deflated in vain: once a
/// chunk compressed at the configured level saves less than 1 %, the following chunks are
/// stored (level 0, still valid deflate) and every 8th is a probe: a 64 KiB sample of it is
/// deflated at level 1 (cheap), and only if that shrinks is the chunk deflated at the
/// configured level, which resumes compression (at most 7 chunks late). Stored chunks cost a
/// copy and the CRC.
///
/// A *deferred segment* (beginDeferred/endDeferred) is compressed into a spool file instead of
/// the sink, so that bytes known only at its end (a tar header carrying the entry's size) can
/// be emitted in front of it: compression then overlaps the arrival of data of unknown size.
final class ParallelGzipEncoder {
    private let sink: ByteSink
    private let pool: GzipWorkerPool
    private let chunkSize: Int
    private let maxChunks: Int
    private let level: Int32
    /// Set while recent data did not compress: chunks are stored, with periodic probes.
    private var storing = false
    /// Chunks stored without an attempt to compress them (for tests and statistics).
    private(set) var chunksStored = 0
    private var chunksSinceProbe = 0
    static let probeInterval = 8
    private var chunksCreated = 0
    private var freeChunks: [GzipChunk] = []
    private var current: GzipChunk?
    private var nextSequence = 0
    private var nextToWrite = 0
    private var headerWritten = false
    private var crc: UInt = 0
    private var finished = false
    /// The last bytes of the previous chunk: the next chunk's dictionary.
    private let tail: UnsafeMutableRawPointer
    private var tailLength = 0
    private var deferred: DeferredSegment?

    /// Bytes accepted for compression.
    private(set) var inputBytes: Int64 = 0
    /// Bytes handed to the sink.
    private(set) var outputBytes: Int64 = 0

    /// Compression threads still running; 0 after finish() or abandon().
    var liveWorkerCount: Int { pool.liveWorkerCount }

    init(sink: ByteSink, level: Int32, threads: Int, chunkSize: Int) {
        self.sink = sink
        self.chunkSize = chunkSize
        self.maxChunks = threads + 2
        self.level = level
        pool = GzipWorkerPool(level: level)
        tail = .allocate(byteCount: GzipChunk.dictionaryCapacity, alignment: 16)
        pool.start(threads: threads)
    }

    deinit {
        pool.stop()
        tail.deallocate()
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
            if chunk.free == 0 { try submitCurrent(isLast: false) }
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
        if chunk.free == 0 { try submitCurrent(isLast: false) }
        return n
    }

    func writeZeros(_ count: Int) throws {
        var left = count
        while left > 0 {
            left -= try fill { buffer in
                let n = min(left, buffer.count)
                buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: n)
                return n
            }
        }
    }

    /// Compresses what is written from now on into `spool` rather than the sink, until
    /// endDeferred. The segment's first chunk gets no dictionary (what precedes the segment in
    /// the final stream is not known yet), so its chunks are valid wherever they are placed.
    func beginDeferred(spool: SpoolFile) throws {
        precondition(deferred == nil, "one deferred segment at a time")
        try flushAndDrain()
        deferred = DeferredSegment(spool: spool)
        tailLength = 0
    }

    /// Compresses `prefix` and emits it, then the deferred segment after it: the stream reads as
    /// if `prefix` had been written before the segment. The CRC and length are combined in
    /// that order.
    func endDeferred(prefix: UnsafeRawBufferPointer) throws {
        try flushAndDrain()
        guard let segment = deferred else { preconditionFailure("endDeferred without beginDeferred") }
        deferred = nil
        // The segment's end primes the chunk that follows it; the prefix itself starts fresh.
        let segmentTail = UnsafeMutableRawPointer.allocate(byteCount: GzipChunk.dictionaryCapacity, alignment: 16)
        defer { segmentTail.deallocate() }
        let segmentTailLength = tailLength
        segmentTail.copyMemory(from: tail, byteCount: tailLength)
        tailLength = 0
        try write(prefix)
        try flushAndDrain()
        try segment.spool.copy { try sink.write($0); outputBytes += Int64($0.count) }
        crc = crc32_combine(crc, segment.crc, off_t(segment.length))
        tail.copyMemory(from: segmentTail, byteCount: segmentTailLength)
        tailLength = segmentTailLength
    }

    /// Ends the deflate stream, waits for every chunk and writes the gzip trailer.
    func finish() throws {
        precondition(!finished)
        _ = try currentChunk()
        try submitCurrent(isLast: true)
        while nextToWrite < nextSequence {
            try writeOut(try pool.takeCompleted(sequence: nextToWrite, wait: true)!)
        }
        let size = UInt32(truncatingIfNeeded: inputBytes)
        let trailer: [UInt8] = [
            UInt8(truncatingIfNeeded: crc), UInt8(truncatingIfNeeded: crc >> 8),
            UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 24),
            UInt8(truncatingIfNeeded: size), UInt8(truncatingIfNeeded: size >> 8),
            UInt8(truncatingIfNeeded: size >> 16), UInt8(truncatingIfNeeded: size >> 24),
        ]
        try emit(trailer)
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
        chunk.setDictionary(UnsafeRawBufferPointer(start: tail, count: tailLength))
        current = chunk
        return chunk
    }

    private func submitCurrent(isLast: Bool) throws {
        guard let chunk = current else { return }
        current = nil
        // Keep this chunk's end as the next chunk's dictionary; the chunk itself may be
        // recycled before the next one is filled. Only the last chunk is short, and no chunk
        // follows it, so a full 32 KiB tail is always available when needed.
        let keep = min(chunk.length, GzipChunk.dictionaryCapacity)
        tail.copyMemory(from: chunk.data + (chunk.length - keep), byteCount: keep)
        tailLength = keep
        chunk.isLast = isLast
        chunk.sequence = nextSequence
        chunk.level = level
        if storing {
            chunksSinceProbe += 1
            if chunksSinceProbe % Self.probeInterval != 0 {
                chunk.level = 0
                chunksStored += 1
            } else {
                chunk.isProbe = true
            }
        }
        nextSequence += 1
        pool.submit(chunk)
        // Hand finished chunks to the sink as soon as they are ready, without waiting.
        while nextToWrite < nextSequence, let done = try pool.takeCompleted(sequence: nextToWrite, wait: false) {
            try writeOut(done)
        }
    }

    /// Compresses the partly filled chunk now (sync flush) and waits until every chunk has been
    /// written out, so nothing is in flight.
    private func flushAndDrain() throws {
        if let chunk = current {
            if chunk.length > 0 {
                try submitCurrent(isLast: false)
            } else {
                // Its dictionary was set from the tail when it was taken; take it afresh later.
                current = nil
                freeChunks.append(chunk)
            }
        }
        while nextToWrite < nextSequence {
            try writeOut(try pool.takeCompleted(sequence: nextToWrite, wait: true)!)
        }
    }

    private func writeOut(_ chunk: GzipChunk) throws {
        if !headerWritten {
            // Magic, deflate, no flags, no mtime (reproducible), no extra flags, OS = Unix.
            try emit([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
            headerWritten = true
        }
        if chunk.level != 0 && chunk.length == chunkSize {
            // A full chunk that was deflated (normally, or a probe whose sample shrank) decides
            // whether the next ones are worth deflating. Where the probes fall depends on thread timing, so two
            // runs over the same data may differ in bytes, never in content.
            storing = chunk.outputLength * 100 >= chunk.length * 99
        }
        let input = UnsafeRawBufferPointer(start: chunk.output, count: chunk.outputLength)
        if var segment = deferred {
            try segment.spool.write(input)
            segment.crc = crc32_combine(segment.crc, chunk.crc, off_t(chunk.length))
            segment.length += Int64(chunk.length)
            deferred = segment
        } else {
            try sink.write(input)
            outputBytes += Int64(chunk.outputLength)
            crc = crc32_combine(crc, chunk.crc, off_t(chunk.length))
        }
        nextToWrite += 1
        freeChunks.append(chunk)
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink.write($0) }
        outputBytes += Int64(bytes.count)
    }
}

/// Compressed output held back in a spool file, with the CRC-32 and length of its input.
private struct DeferredSegment {
    let spool: SpoolFile
    var crc: UInt = 0
    var length: Int64 = 0
}
