import CairnCore
import CZlib

/// Streaming gzip decompression of one or more concatenated members (gzip allows them and
/// tools produce them), with bounded memory. Anything after the last member that is not
/// another gzip member is an error, as is a stream that ends inside a member.
final class GzipDecoder {
    private static let inputSize = 128 << 10
    private let source: ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawPointer
    private var initialized = false
    private var sourceEnded = false
    private var finished = false

    /// Bytes read from the source so far.
    private(set) var compressedBytesRead: Int64 = 0

    init(source: ByteSource) {
        self.source = source
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: Self.inputSize, alignment: 16)
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deallocate()
        input.deallocate()
    }

    /// Compressed bytes consumed by zlib, i.e. the position of the next undecoded byte.
    private var consumed: Int64 { compressedBytesRead - Int64(stream.pointee.avail_in) }

    /// Fills `buffer` with up to `buffer.count` decompressed bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if !initialized {
            // 15 + 16: gzip wrapper only, maximum window.
            let result = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard result == Z_OK else { throw ArchiveError.corruptGzip("inflateInit2 returned \(result)") }
            initialized = true
        }
        while true {
            if stream.pointee.avail_in == 0 && !sourceEnded { try refill() }
            if compressedBytesRead == 0 { throw ArchiveError.truncated("the input is empty") }
            stream.pointee.next_out = base.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(buffer.count)
            let result = inflate(stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.pointee.avail_out)
            switch result {
            case Z_STREAM_END:
                try startNextMember()
                if produced > 0 || finished { return produced }
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if stream.pointee.avail_in == 0 && sourceEnded {
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

    /// After a member's end: either another member follows, or the input must end here.
    private func startNextMember() throws {
        if stream.pointee.avail_in == 0 && !sourceEnded { try refill() }
        if stream.pointee.avail_in == 0 {
            finished = true
        } else if stream.pointee.next_in[0] == 0x1f {
            inflateReset(stream)
        } else {
            throw ArchiveError.corruptGzip("non-gzip data follows the gzip stream at compressed offset \(consumed)")
        }
    }

    private func refill() throws {
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: input, count: Self.inputSize))
        if n == 0 { sourceEnded = true; return }
        compressedBytesRead += Int64(n)
        stream.pointee.next_in = input.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
    }
}
