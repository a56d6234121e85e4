import CairnCore
import CDeflate
import CZlib

/// Gzip decompression of one or more concatenated members (gzip allows them and tools produce
/// them), with bounded memory. Anything after the last member that is not another gzip member
/// is an error, as is a stream that ends inside a member.
///
/// Members Cairn wrote declare their sizes (GzipMember); one within `maxWholeMember` is read
/// whole and decompressed in one libdeflate call, about twice as fast as zlib, and must have
/// exactly the sizes it declares. Any other member (GNU tar's, pigz's, one larger than the
/// bound, a hostile one) is inflated by zlib as a stream, so memory stays bounded whatever the
/// input claims.
final class GzipDecoder: ArchiveDecompressor {
    /// The largest member taken whole: ParallelGzipEncoder's chunks are 512 KiB by default.
    static let maxWholeMember = 4 << 20
    private static let inputCapacity = maxWholeMember + GzipMember.overhead + (64 << 10)
    private static let readSize = 256 << 10

    private let source: ByteSource
    private let input: UnsafeMutableRawPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false

    /// Output of the member decompressed whole, handed out from `outputStart`.
    private var output: UnsafeMutableRawPointer?
    private var outputStart = 0
    private var outputEnd = 0

    private let decompressor: OpaquePointer?
    private var stream: UnsafeMutablePointer<z_stream>?
    /// Inside a member being inflated by zlib.
    private var streaming = false
    private var membersSeen = 0
    private var finished = false

    /// Bytes read from the source so far.
    private(set) var compressedBytesRead: Int64 = 0

    init(source: ByteSource) {
        self.source = source
        input = .allocate(byteCount: Self.inputCapacity, alignment: 64)
        decompressor = libdeflate_alloc_decompressor()
    }

    deinit {
        if let stream { inflateEnd(stream); stream.deallocate() }
        output?.deallocate()
        input.deallocate()
        if let decompressor { libdeflate_free_decompressor(decompressor) }
    }

    /// Compressed offset of the next undecoded byte.
    private var consumed: Int64 { compressedBytesRead - Int64(inputEnd - inputStart) }
    private var buffered: Int { inputEnd - inputStart }

    /// Fills `buffer` with up to `buffer.count` decompressed bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            if outputStart < outputEnd, let output {
                let n = min(buffer.count, outputEnd - outputStart)
                base.copyMemory(from: output + outputStart, byteCount: n)
                outputStart += n
                return n
            }
            if finished { return 0 }
            if streaming {
                let n = try inflateSome(into: base, count: buffer.count)
                if n > 0 { return n }
                continue
            }
            try startMember()
        }
    }

    /// At a member boundary: the end of the input, a member of ours taken whole, or any other
    /// member handed to zlib.
    private func startMember() throws {
        try fill(atLeast: GzipMember.headerSize)
        if buffered == 0 {
            if membersSeen == 0 { throw ArchiveError.truncated("the input is empty") }
            finished = true
            return
        }
        guard input.load(fromByteOffset: inputStart, as: UInt8.self) == 0x1f else {
            if membersSeen == 0 { throw ArchiveError.corruptGzip("not gzip data (no gzip magic at the start)") }
            throw ArchiveError.corruptGzip("non-gzip data follows the gzip stream at compressed offset \(consumed)")
        }
        membersSeen += 1
        let header = UnsafeRawBufferPointer(start: input + inputStart, count: min(buffered, GzipMember.headerSize))
        if let sizes = GzipMember.declaredSizes(header), sizes.uncompressed <= Self.maxWholeMember,
           sizes.member >= GzipMember.overhead, sizes.member <= Self.inputCapacity, decompressor != nil {
            try decompressWhole(memberSize: sizes.member, uncompressedSize: sizes.uncompressed)
        } else {
            try beginStreaming()
        }
    }

    private func decompressWhole(memberSize: Int, uncompressedSize: Int) throws {
        let at = consumed
        try fill(atLeast: memberSize)
        guard buffered >= memberSize else {
            throw ArchiveError.truncated("the gzip stream ends inside the member at compressed offset \(at)")
        }
        if output == nil { output = .allocate(byteCount: Self.maxWholeMember, alignment: 64) }
        var usedIn = 0
        var produced = 0
        let result = libdeflate_gzip_decompress_ex(decompressor, input + inputStart, memberSize, output!, uncompressedSize,
                                                   &usedIn, &produced)
        guard result == LIBDEFLATE_SUCCESS, usedIn == memberSize, produced == uncompressedSize else {
            let why = result == LIBDEFLATE_SUCCESS ? "its sizes differ from the ones its header declares"
                : result == LIBDEFLATE_INSUFFICIENT_SPACE ? "it holds more data than its header declares"
                : "invalid deflate data or CRC"
            throw ArchiveError.corruptGzip("member at compressed offset \(at): \(why)")
        }
        inputStart += memberSize
        outputStart = 0
        outputEnd = produced
    }

    private func beginStreaming() throws {
        if let stream {
            guard inflateReset(stream) == Z_OK else { throw ArchiveError.corruptGzip("inflateReset failed") }
        } else {
            let made = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            made.initialize(to: z_stream())
            // 15 + 16: gzip wrapper only, maximum window.
            let result = inflateInit2_(made, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard result == Z_OK else { made.deallocate(); throw ArchiveError.corruptGzip("inflateInit2 returned \(result)") }
            stream = made
        }
        streaming = true
    }

    /// Inflates from the buffered input into `base`; 0 when the member ended without output.
    private func inflateSome(into base: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let stream else { return 0 }
        while true {
            if buffered == 0 { try fill(atLeast: 1) }
            stream.pointee.next_in = (input + inputStart).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(buffered)
            stream.pointee.next_out = base.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(count)
            let result = inflate(stream, Z_NO_FLUSH)
            inputStart = inputEnd - Int(stream.pointee.avail_in)
            let produced = count - Int(stream.pointee.avail_out)
            switch result {
            case Z_STREAM_END:
                streaming = false
                return produced
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if buffered == 0 && sourceEnded {
                    throw ArchiveError.truncated("the gzip stream ends inside compressed data after \(compressedBytesRead) bytes")
                }
            case Z_NEED_DICT:
                throw ArchiveError.corruptGzip("member at compressed offset \(consumed) needs a preset dictionary")
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate returned \(result)"
                throw ArchiveError.corruptGzip("\(message) near compressed offset \(consumed)")
            }
        }
    }

    /// Reads from the source until `count` bytes are buffered or the source ends; buffered
    /// bytes move to the front first.
    private func fill(atLeast count: Int) throws {
        if buffered >= count || sourceEnded { return }
        if inputStart > 0 {
            if buffered > 0 { input.copyMemory(from: input + inputStart, byteCount: buffered) }
            inputEnd = buffered
            inputStart = 0
        }
        while inputEnd < count {
            let room = min(Self.inputCapacity - inputEnd, max(Self.readSize, count - inputEnd))
            let n = try source.read(into: UnsafeMutableRawBufferPointer(start: input + inputEnd, count: room))
            if n == 0 { sourceEnded = true; return }
            compressedBytesRead += Int64(n)
            inputEnd += n
        }
    }
}
