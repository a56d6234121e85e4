import CairnCore
import CDeflate
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
    private var queue: [GzipChunk] = []
    private var completed: [Int: GzipChunk] = [:]
    private var stopping = false
    private var failure: String?
    private var liveWorkers = 0

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
        let compressors = DeflateCompressors()
        defer {
            monitor.withLock {
                liveWorkers -= 1
                monitor.broadcast(Self.chunkDone)
            }
        }
        while true {
            monitor.lock()
            while queue.isEmpty && !stopping { monitor.wait(Self.workAvailable) }
            if stopping { monitor.unlock(); return }
            let chunk = queue.removeFirst()
            monitor.unlock()

            let problem = Self.compress(chunk, with: compressors)

            monitor.lock()
            if let problem { failure = problem }
            if !stopping { completed[chunk.sequence] = chunk }
            monitor.broadcast(Self.chunkDone)
            monitor.unlock()
        }
    }

    /// Slices the probe samples, spread evenly over the chunk: a compressible stretch longer than
    /// the gap between two slices cannot be missed, so a stored chunk holds at most one gap
    /// (chunk / 16) of data that would have shrunk.
    static let probeSlices = 16
    static let probeSliceSize = 4 << 10

    /// Whether slices from across the chunk, deflated together at level 1 (cheap), shrink by at
    /// least 1 %: a look at data that has not compressed lately. Level 1 codes float32 vectors'
    /// predictable exponent bytes as well as level 6 does, so they are never taken for noise.
    private static func sampleShrinks(_ chunk: GzipChunk, with compressors: DeflateCompressors) -> Bool {
        guard let compressor = compressors.compressor(level: 1) else { return true }
        let sample = compressors.sampleBuffer
        var sampled = 0
        if chunk.length <= probeSlices * probeSliceSize {
            sample.copyMemory(from: chunk.data, byteCount: chunk.length)
            sampled = chunk.length
        } else {
            let stride = chunk.length / probeSlices
            for slice in 0..<probeSlices {
                (sample + sampled).copyMemory(from: chunk.data + slice * stride, byteCount: probeSliceSize)
                sampled += probeSliceSize
            }
        }
        // The chunk's output buffer is the scratch space; it is filled for real afterwards.
        let produced = libdeflate_deflate_compress(compressor, sample, sampled, chunk.output, chunk.outputCapacity)
        return produced > 0 && produced * 100 < sampled * 99
    }

    /// Compresses one chunk into one complete gzip member (GzipMember).
    private static func compress(_ chunk: GzipChunk, with compressors: DeflateCompressors) -> String? {
        if chunk.isProbe && !sampleShrinks(chunk, with: compressors) { chunk.level = 0 }
        let space = chunk.outputCapacity - GzipMember.overhead
        let body = chunk.output + GzipMember.headerSize
        var produced = 0
        if let compressor = compressors.compressor(level: chunk.level) {
            produced = libdeflate_deflate_compress(compressor, chunk.data, chunk.length, body, space)
        }
        if produced == 0 {
            // Cannot happen with the bound-sized buffer; stored blocks are the safe answer anyway.
            guard let store = compressors.compressor(level: 0) else { return "libdeflate could not allocate a compressor" }
            chunk.level = 0
            produced = libdeflate_deflate_compress(store, chunk.data, chunk.length, body, space)
            if produced == 0 { return "libdeflate could not store \(chunk.length) bytes in \(space)" }
        }
        let crc = libdeflate_crc32(0, chunk.data, chunk.length)
        chunk.outputLength = produced + GzipMember.overhead
        GzipMember.writeHeader(chunk.output, memberSize: chunk.outputLength, uncompressedSize: chunk.length)
        GzipMember.writeTrailer(body + produced, crc: crc, uncompressedSize: chunk.length)
        return nil
    }
}

/// One worker's libdeflate compressors, by level (allocated when first needed), and its
/// scratch space for probes.
private final class DeflateCompressors {
    private var byLevel: [Int32: OpaquePointer] = [:]
    let sampleBuffer = UnsafeMutableRawPointer.allocate(
        byteCount: GzipWorkerPool.probeSlices * GzipWorkerPool.probeSliceSize, alignment: 64)

    func compressor(level: Int32) -> OpaquePointer? {
        if let existing = byLevel[level] { return existing }
        guard let made = libdeflate_alloc_compressor(level) else { return nil }
        byLevel[level] = made
        return made
    }

    deinit {
        byLevel.values.forEach { libdeflate_free_compressor($0) }
        sampleBuffer.deallocate()
    }
}
