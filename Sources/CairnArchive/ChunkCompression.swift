import CairnCore
import CDeflate
import Foundation

/// The compression threads of ParallelGzipEncoder: each compresses one chunk into one gzip
/// member with its own libdeflate compressors.
typealias GzipWorkerPool = OrderedWorkerPool<GzipChunk, DeflateCompressors>

extension OrderedWorkerPool where Job == GzipChunk, Tools == DeflateCompressors {
    convenience init(threads: Int) {
        self.init(name: "gzip", threads: threads, makeTools: DeflateCompressors.init, work: ChunkCompression.compress)
    }
}

/// How one chunk becomes one member: probed when recent data did not compress, deflated (or
/// stored), framed with its sizes and CRC.
enum ChunkCompression {
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
    static func compress(_ chunk: GzipChunk, with compressors: DeflateCompressors) -> String? {
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
final class DeflateCompressors {
    private var byLevel: [Int32: OpaquePointer] = [:]
    let sampleBuffer = UnsafeMutableRawPointer.allocate(
        byteCount: ChunkCompression.probeSlices * ChunkCompression.probeSliceSize, alignment: 64)

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
