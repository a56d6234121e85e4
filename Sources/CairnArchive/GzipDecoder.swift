import CairnCore
import CDeflate
import CZlib

/// Gzip decompression of one or more concatenated members (gzip allows them and tools produce
/// them), with bounded memory. Anything after the last member that is not another gzip member
/// is an error, as is a stream that ends inside a member.
///
/// Members Cairn wrote declare their sizes (GzipMember); one within `maxWholeMember` is read
/// whole and decompressed in one libdeflate call, about twice as fast as zlib, and must have
/// exactly the sizes it declares. Such members are independent, so the decoder reads ahead and
/// decompresses up to `maxReadAheadBytes` of them on worker threads while the caller hashes
/// what came before; they are handed out, and their errors thrown, in stream order. Any other
/// member (GNU tar's, pigz's, one larger than the bound, a hostile one) is inflated by zlib as
/// a stream, so memory stays bounded whatever the input claims.
final class GzipDecoder: ArchiveDecompressor {
    /// The largest member taken whole: ParallelGzipEncoder's chunks are 512 KiB by default.
    static let maxWholeMember = 4 << 20
    /// Compressed plus decompressed bytes of the members read ahead (at least one is).
    static let maxReadAheadBytes = 3 << 20
    private static let inputCapacity = maxWholeMember + GzipMember.overhead + (64 << 10)
    private static let readSize = 256 << 10

    private let source: ByteSource
    private let input: UnsafeMutableRawPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false

    /// Decompression threads, started at the first member taken whole; none on one core.
    private let threads: Int
    private var pool: InflatePool?
    /// Members taken whole, in stream order: submitted to the pool, or waiting to run here.
    private var inFlight: [InflateJob] = []
    private var inFlightBytes = 0
    private var nextSequence = 0
    private var spareJobs: [InflateJob] = []
    private var decompressor: MemberDecompressor?
    /// The member whose output is handed out, from `outputStart`.
    private var current: InflateJob?
    private var outputStart = 0

    private var stream: UnsafeMutablePointer<z_stream>?
    /// Inside a member being inflated by zlib.
    private var streaming = false
    private var membersSeen = 0
    private var finished = false

    /// Bytes read from the source so far.
    private(set) var compressedBytesRead: Int64 = 0

    init(source: ByteSource, threads: Int = ArchiveOptions.defaultThreads) {
        self.source = source
        self.threads = threads > 1 ? threads : 0
        input = .allocate(byteCount: Self.inputCapacity, alignment: 64)
    }

    deinit {
        pool?.stop()
        if let stream { inflateEnd(stream); stream.deallocate() }
        input.deallocate()
    }

    /// Compressed offset of the next undecoded byte.
    private var consumed: Int64 { compressedBytesRead - Int64(inputEnd - inputStart) }
    private var buffered: Int { inputEnd - inputStart }

    /// Fills `buffer` with up to `buffer.count` decompressed bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            if let current, let output = current.output, outputStart < current.uncompressedSize {
                let n = min(buffer.count, current.uncompressedSize - outputStart)
                base.copyMemory(from: output + outputStart, byteCount: n)
                outputStart += n
                return n
            }
            if let done = current { spareJobs.append(done); current = nil }
            if finished { return 0 }
            if streaming {
                let n = try inflateSome(into: base, count: buffer.count)
                if n > 0 { return n }
                continue
            }
            if !inFlight.isEmpty {
                try takeOldest()
                continue
            }
            try startMember()
        }
    }

    /// At a member boundary with nothing read ahead: the end of the input, members of ours
    /// taken whole, or any other member handed to zlib.
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
        guard let sizes = wholeMemberSizes() else {
            membersSeen += 1
            try beginStreaming()
            return
        }
        let at = consumed
        try fill(atLeast: sizes.member)
        guard buffered >= sizes.member else {
            throw ArchiveError.truncated("the gzip stream ends inside the member at compressed offset \(at)")
        }
        takeWhole(sizes)
        try readAhead()
    }

    /// The sizes of the buffered member at `inputStart` when it is one of ours to take whole.
    private func wholeMemberSizes() -> (member: Int, uncompressed: Int)? {
        let header = UnsafeRawBufferPointer(start: input + inputStart, count: min(buffered, GzipMember.headerSize))
        guard let sizes = GzipMember.declaredSizes(header), sizes.uncompressed <= Self.maxWholeMember,
              sizes.member >= GzipMember.overhead, sizes.member <= Self.inputCapacity else { return nil }
        return sizes
    }

    /// Queues the buffered member at `inputStart` (whole in the buffer) for decompression. On one
    /// core it is decompressed next, before the buffer moves, so it is not copied.
    private func takeWhole(_ sizes: (member: Int, uncompressed: Int)) {
        membersSeen += 1
        let job = spareJobs.popLast() ?? InflateJob()
        job.prepare(sequence: nextSequence, offset: consumed, member: input + inputStart,
                    memberSize: sizes.member, uncompressedSize: sizes.uncompressed, borrow: threads == 0)
        nextSequence += 1
        inputStart += sizes.member
        inFlight.append(job)
        inFlightBytes += job.footprint
        if threads > 0 {
            if pool == nil { pool = InflatePool(threads: threads) }
            pool!.submit(job)
        }
    }

    /// Queues the members of ours that follow, complete, while the read-ahead has room. Anything
    /// else (the end, another kind of member, damage) stops it, to be met in stream order.
    private func readAhead() throws {
        guard threads > 0 else { return }
        while inFlightBytes < Self.maxReadAheadBytes {
            try fill(atLeast: GzipMember.headerSize)
            guard buffered >= GzipMember.headerSize, let sizes = wholeMemberSizes(),
                  inFlightBytes + sizes.member + sizes.uncompressed <= Self.maxReadAheadBytes else { return }
            try fill(atLeast: sizes.member)
            guard buffered >= sizes.member else { return }
            takeWhole(sizes)
        }
    }

    /// Makes the oldest member read ahead the current one, once decompressed; tops up the
    /// read-ahead first so the threads stay busy.
    private func takeOldest() throws {
        let job = inFlight.removeFirst()
        inFlightBytes -= job.footprint
        if let pool {
            try readAhead()
            _ = try pool.takeCompleted(sequence: job.sequence, wait: true)
        } else {
            if decompressor == nil { decompressor = MemberDecompressor() }
            job.run(decompressor!)
        }
        if let problem = job.problem {
            throw ArchiveError.corruptGzip("member at compressed offset \(job.offset): \(problem)")
        }
        current = job
        outputStart = 0
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
