import CairnCore
import CZlib
import Foundation

/// Compression threads and the queue between them and the producer. Workers take chunks in
/// submission order and finish them in any order; the producer collects them by sequence number.
///
/// Plain threads rather than Swift tasks: each job is ~10-30 ms of blocking CPU work, and
/// the producer must block when too many chunks are in flight, which tasks must not do.
///
/// `@unchecked Sendable`: all mutable state below is only touched with `monitor` held.
final class GzipWorkerPool: @unchecked Sendable {
    private static let workAvailable = 0
    private static let chunkDone = 1

    private let monitor = ThreadMonitor(conditionCount: 2)
    private let level: Int32
    private var queue: [GzipChunk] = []
    private var completed: [Int: GzipChunk] = [:]
    private var stopping = false
    private var failure: String?
    private var liveWorkers = 0

    init(level: Int32) {
        self.level = level
    }

    func start(threads: Int) {
        monitor.withLock { liveWorkers += threads }
        for index in 0..<threads {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "cairn-gzip-\(index)"
            thread.start()
        }
    }

    /// Worker threads that have not exited yet.
    var liveWorkerCount: Int { monitor.withLock { liveWorkers } }

    func submit(_ chunk: GzipChunk) {
        monitor.withLock {
            queue.append(chunk)
            monitor.signal(Self.workAvailable)
        }
    }

    /// The chunk with `sequence` once compressed; nil if `wait` is false and it is not done yet.
    func takeCompleted(sequence: Int, wait: Bool) throws -> GzipChunk? {
        monitor.lock(); defer { monitor.unlock() }
        while true {
            if let failure { throw ArchiveError.compressionFailed(failure) }
            if stopping { throw ArchiveError.invalidState("the archive writer was abandoned") }
            if let chunk = completed.removeValue(forKey: sequence) { return chunk }
            if !wait { return nil }
            monitor.wait(Self.chunkDone)
        }
    }

    /// Asks workers to exit after their current chunk and waits until they have; pending
    /// chunks are dropped. Idempotent.
    func stop() {
        monitor.lock(); defer { monitor.unlock() }
        stopping = true
        queue.removeAll()
        completed.removeAll()
        monitor.broadcast(Self.workAvailable)
        while liveWorkers > 0 { monitor.wait(Self.chunkDone) }
    }

    private func workerLoop() {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Raw deflate (negative window bits): the gzip header and trailer are written once by
        // the producer around the concatenated chunk outputs.
        let initResult = deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                       ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer {
            if initResult == Z_OK { deflateEnd(stream) }
            stream.deallocate()
            monitor.withLock {
                liveWorkers -= 1
                monitor.broadcast(Self.chunkDone)
            }
        }
        if initResult != Z_OK {
            monitor.withLock { failure = "deflateInit2 returned \(initResult)"; monitor.broadcast(Self.chunkDone) }
            return
        }
        while true {
            monitor.lock()
            while queue.isEmpty && !stopping { monitor.wait(Self.workAvailable) }
            if stopping { monitor.unlock(); return }
            let chunk = queue.removeFirst()
            monitor.unlock()

            let problem = Self.compress(chunk, stream: stream)

            monitor.lock()
            if let problem { failure = problem }
            if !stopping { completed[chunk.sequence] = chunk }
            monitor.broadcast(Self.chunkDone)
            monitor.unlock()
        }
    }

    /// Whether the chunk's first 64 KiB shrink by at least 1 % at level 1: a cheap look at data
    /// that has not compressed lately. The chunk's output buffer is the scratch space.
    private static func sampleShrinks(_ chunk: GzipChunk, stream: UnsafeMutablePointer<z_stream>) -> Bool {
        guard deflateReset(stream) == Z_OK, deflateParams(stream, 1, Z_DEFAULT_STRATEGY) == Z_OK else { return true }
        let sample = min(chunk.length, 64 << 10)
        stream.pointee.next_in = chunk.data.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(sample)
        stream.pointee.next_out = chunk.output.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(chunk.outputCapacity)
        guard deflate(stream, Z_FINISH) == Z_STREAM_END else { return true }
        let produced = chunk.outputCapacity - Int(stream.pointee.avail_out)
        return produced * 100 < sample * 99
    }

    /// Deflates one chunk, primed with the previous chunk's tail, ending on a byte boundary
    /// (Z_SYNC_FLUSH) so outputs concatenate into one deflate stream; the last one ends it.
    private static func compress(_ chunk: GzipChunk, stream: UnsafeMutablePointer<z_stream>) -> String? {
        if chunk.isProbe && !sampleShrinks(chunk, stream: stream) { chunk.level = 0 }
        guard deflateReset(stream) == Z_OK else { return "deflateReset failed" }
        guard deflateParams(stream, chunk.level, Z_DEFAULT_STRATEGY) == Z_OK else { return "deflateParams failed" }
        if chunk.dictionaryLength > 0 {
            let dictionary = (chunk.data - chunk.dictionaryLength).assumingMemoryBound(to: Bytef.self)
            guard deflateSetDictionary(stream, dictionary, uInt(chunk.dictionaryLength)) == Z_OK else {
                return "deflateSetDictionary failed"
            }
        }
        let input = chunk.data.assumingMemoryBound(to: Bytef.self)
        stream.pointee.next_in = input
        stream.pointee.avail_in = uInt(chunk.length)
        chunk.outputLength = 0
        let flush = chunk.isLast ? Z_FINISH : Z_SYNC_FLUSH
        while true {
            if chunk.outputCapacity - chunk.outputLength < 64 { chunk.growOutput() }
            let space = chunk.outputCapacity - chunk.outputLength
            stream.pointee.next_out = (chunk.output + chunk.outputLength).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(space)
            let result = deflate(stream, flush)
            chunk.outputLength += space - Int(stream.pointee.avail_out)
            if result == Z_STREAM_ERROR { return "deflate returned Z_STREAM_ERROR" }
            if chunk.isLast {
                if result == Z_STREAM_END { break }
            } else if stream.pointee.avail_out > 0 {
                // zlib's contract: the flush is complete once it leaves output space unused.
                break
            }
        }
        chunk.crc = crc32(0, input, uInt(chunk.length))
        return nil
    }
}
