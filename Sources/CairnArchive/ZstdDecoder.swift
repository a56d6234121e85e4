import CairnCore
import CZstd

/// Streaming zstd decompression of one or more frames (skippable frames allowed), in bounded
/// memory: a frame that needs a window above 2^windowLogMax is refused rather than allocated.
/// Anything after the last frame that is not another frame is an error, as is a stream that
/// ends inside a frame.
final class ZstdDecoder: ArchiveDecompressor {
    /// 16 MiB: Cairn's frames use at most 8 MiB (level 19); zstd's own default limit is 128 MiB.
    static let windowLogMax: Int32 = 24
    private static let inputSize = 256 << 10

    private let source: ByteSource
    private let context: OpaquePointer?
    private let input: UnsafeMutableRawPointer
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var sourceEnded = false
    /// True between frames: the input may end here.
    private var atFrameBoundary = true
    private var finished = false

    private(set) var compressedBytesRead: Int64 = 0

    init(source: ByteSource) {
        self.source = source
        context = ZSTD_createDCtx()
        if let context { _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.windowLogMax) }
        input = .allocate(byteCount: Self.inputSize, alignment: 64)
    }

    deinit {
        if let context { ZSTD_freeDCtx(context) }
        input.deallocate()
    }

    private var consumed: Int64 { compressedBytesRead - Int64(inBuffer.size - inBuffer.pos) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        guard let context else { throw ArchiveError.corruptZstd("cannot allocate a zstd decompression context") }
        while true {
            if inBuffer.pos == inBuffer.size && !sourceEnded { try refill() }
            if inBuffer.pos == inBuffer.size && sourceEnded {
                if compressedBytesRead == 0 { throw ArchiveError.truncated("the input is empty") }
                if atFrameBoundary { finished = true; return 0 }
            }
            var out = ZSTD_outBuffer(dst: base, size: buffer.count, pos: 0)
            let before = consumed
            let result = ZSTD_decompressStream(context, &out, &inBuffer)
            if ZSTD_isError(result) != 0 {
                let name = String(cString: ZSTD_getErrorName(result))
                if ZSTD_getErrorCode(result) == ZSTD_error_frameParameter_windowTooLarge {
                    throw ArchiveError.corruptZstd("a frame near compressed offset \(before) needs a window above \(1 << (Self.windowLogMax - 20)) MiB; Cairn archives never do")
                }
                throw ArchiveError.corruptZstd("\(name) near compressed offset \(before)")
            }
            // 0: a frame is complete and flushed; the input may end here or hold another frame.
            atFrameBoundary = result == 0
            if out.pos > 0 { return out.pos }
            if inBuffer.pos == inBuffer.size && sourceEnded && !atFrameBoundary {
                throw ArchiveError.truncated("the zstd stream ends inside a frame after \(compressedBytesRead) bytes")
            }
        }
    }

    private func refill() throws {
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: input, count: Self.inputSize))
        if n == 0 { sourceEnded = true; return }
        compressedBytesRead += Int64(n)
        inBuffer = ZSTD_inBuffer(src: input, size: n, pos: 0)
    }
}
